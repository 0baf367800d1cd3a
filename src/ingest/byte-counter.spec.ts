import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { BLOCK_BYTES, DeclaredLengthCheck, SizeCap } from './byte-counter';

async function through(chunks: Buffer[], ...stages: (DeclaredLengthCheck | SizeCap)[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  await pipeline([Readable.from(chunks), ...stages, sink]);
  return out;
}

function split(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  return chunks;
}

describe('DeclaredLengthCheck', () => {
  const data = randomBytes(3 * BLOCK_BYTES + 12_345);

  it.each([1000, 16_384, BLOCK_BYTES, BLOCK_BYTES + 1, data.length])(
    'should pass every byte unchanged, in blocks of at least %s-byte input chunks gathered up to the block size',
    async (size) => {
      const out = await through(split(data, size), new DeclaredLengthCheck(data.length));

      expect(Buffer.concat(out).equals(data)).toBe(true);
      for (const block of out.slice(0, -1)) expect(block.length).toBeGreaterThanOrEqual(BLOCK_BYTES);
      expect(out.length).toBeLessThanOrEqual(Math.ceil(data.length / Math.min(size, BLOCK_BYTES)));
    },
  );

  it('should pass an empty body with a Content-Length of 0', async () => {
    expect(await through([], new DeclaredLengthCheck(0))).toEqual([]);
  });

  it('should refuse a body shorter than its Content-Length, naming both counts', async () => {
    await expect(through(split(data, 16_384), new DeclaredLengthCheck(data.length + 1))).rejects.toThrow(
      `The body ended after ${data.length} of ${data.length + 1} bytes`,
    );
  });

  it('should refuse a body longer than its Content-Length as soon as it passes it', async () => {
    await expect(through(split(data, 16_384), new DeclaredLengthCheck(100_000))).rejects.toThrow(
      'longer than its Content-Length of 100000 bytes',
    );
  });

  it('should pass any length when none is declared', async () => {
    expect(Buffer.concat(await through(split(data, 5000), new DeclaredLengthCheck(undefined))).equals(data)).toBe(true);
  });
});

describe('SizeCap', () => {
  it('should refuse a body past the cap, naming the limit', async () => {
    await expect(through([Buffer.alloc(600), Buffer.alloc(600)], new SizeCap(1000))).rejects.toThrow(
      'larger than the limit of 1000 bytes',
    );
  });

  it('should pass a body of exactly the cap', async () => {
    expect(Buffer.concat(await through([Buffer.alloc(500), Buffer.alloc(500)], new SizeCap(1000))).length).toBe(1000);
  });
});
