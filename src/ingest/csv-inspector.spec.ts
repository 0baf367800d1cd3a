import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { CsvContentError, CsvInspector, readCsvHeader } from './csv-inspector';

async function inspect(
  chunks: Array<string | Buffer>,
): Promise<{ facts: ReturnType<CsvInspector['facts']>; out: Buffer }> {
  const inspector = new CsvInspector();
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), inspector, sink);

  return { facts: inspector.facts(), out: Buffer.concat(received) };
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const BOM = '\ufeff';

describe(CsvInspector.name, () => {
  it('should pass the bytes through unchanged and hash them', async () => {
    const csv = `${BOM}"id",name,amount\r\n1,a,2\r\n2,b,3\r\n3,c,4\r\n`;
    const { facts, out } = await inspect([csv]);

    expect(out.equals(Buffer.from(csv))).toBe(true);
    expect(facts.sha256).toBe(sha256(csv));
    expect(facts.sizeBytes).toBe(Buffer.byteLength(csv));
  });

  it.each([
    ['with a trailing CRLF', `${BOM}"id",name,amount\r\n1,a,2\r\n2,b,3\r\n3,c,4\r\n`],
    ['without a trailing CRLF', `${BOM}"id",name,amount\r\n1,a,2\r\n2,b,3\r\n3,c,4`],
  ])('should read a BOM and CRLF file %s as 3 rows with the first column id', async (_label, csv) => {
    const { facts } = await inspect([csv]);

    expect(facts).toMatchObject({ rowCount: 3, columns: ['id', 'name', 'amount'], hasBom: true, lineEnding: 'CRLF' });
  });

  it('should count a quoted field with commas, quotes and a newline as one row', async () => {
    const csv = 'a,json\n1,"{""k"": ""v, w"",\n""n"": 1}"\n2,"[]"\n';

    expect((await inspect([csv])).facts).toMatchObject({ rowCount: 2, columns: ['a', 'json'], lineEnding: 'LF' });
  });

  it('should count rows across chunk boundaries, even inside a BOM or a quote', async () => {
    const csv = `${BOM}a,b\n"x,\ny",1\n2,3\n`;
    const bytes = Buffer.from(csv);
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));

    expect((await inspect(chunks)).facts).toMatchObject({ rowCount: 2, columns: ['a', 'b'], hasBom: true });
  });

  it.each([
    ['header only, with a newline', 'id,name,amount\r\n', ['id', 'name', 'amount']],
    ['header only, no newline', 'id,name,amount', ['id', 'name', 'amount']],
    ['zero bytes', '', []],
    ['a BOM alone', BOM, []],
  ])('should report 0 rows for %s', async (_label, csv, columns) => {
    const { facts } = await inspect(csv === '' ? [] : [csv]);

    expect(facts.rowCount).toBe(0);
    expect(facts.columns).toEqual(columns);
  });

  it('should fail the stream on a body that is not CSV at all', async () => {
    await expect(inspect(['a,b\n"unterminated'])).rejects.toBeInstanceOf(CsvContentError);
  });
});

describe('readCsvHeader', () => {
  it('should read the header from the start of a file', async () => {
    await expect(readCsvHeader(Buffer.from(`${BOM}x,y\r\n1,2\r\n`))).resolves.toEqual({
      columns: ['x', 'y'],
      hasBom: true,
      lineEnding: 'CRLF',
    });
  });
});
