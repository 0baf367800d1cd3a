import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import type { RunBody } from './report-catalog';

/** A run's file, opened afresh for every download. */
export interface BodySource {
  /** Undefined when the body is a stream of unknown length: it is then sent chunked. */
  readonly size: number | undefined;
  open(): Readable;
}

const sliceBytes = 64 * 1024;

export async function openRunBody(body: RunBody): Promise<BodySource> {
  if (Buffer.isBuffer(body))
    return { size: body.length, open: () => Readable.from(slices(body), { objectMode: false }) };
  if (typeof body === 'function') return { size: undefined, open: body };

  const { size } = await stat(body.file);
  return { size, open: () => createReadStream(body.file, { highWaterMark: sliceBytes }) };
}

/** The gzip of a body, measured by compressing it once without keeping the output (deflate is deterministic). */
export async function gzippedSize(body: BodySource): Promise<number> {
  let size = 0;
  const counter = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      callback();
    },
  });

  await pipeline(body.open(), createGzip(), counter);
  return size;
}

function* slices(buffer: Buffer): Generator<Buffer> {
  for (let offset = 0; offset < buffer.length; offset += sliceBytes) yield buffer.subarray(offset, offset + sliceBytes);
}
