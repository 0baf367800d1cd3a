import { parse } from 'csv-parse';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { campaignCsvBuffer, campaignCsvColumns } from '../../test/fixtures/campaign-csv';
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

/** What the inspector reports about a body: its row count and columns, or the message it fails with. */
type Outcome = { rowCount: number; columns: string[] } | { error: string };

/** The inspector before the byte scanner: csv-parse counting every record, fed the same chunks. */
async function csvParseOutcome(chunks: Buffer[]): Promise<Outcome> {
  let records = 0;
  let columns: string[] = [];
  const parser = parse({
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    on_record: (record: string[]) => {
      if (records === 0) columns = record;
      records += 1;
      return null;
    },
  });
  const parsed = new Promise((resolve, reject) => parser.on('end', resolve).on('error', reject).resume());
  for (const chunk of chunks) parser.write(chunk);
  parser.end();
  try {
    await parsed;
    return { rowCount: Math.max(records - 1, 0), columns };
  } catch (error) {
    return { error: `The body is not readable as CSV: ${(error as Error).message}` };
  }
}

async function inspectorOutcome(chunks: Buffer[]): Promise<Outcome> {
  try {
    const { facts } = await inspect(chunks);
    return { rowCount: facts.rowCount, columns: facts.columns };
  } catch (error) {
    if (!(error instanceof CsvContentError)) throw error;
    return { error: error.message };
  }
}

function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return chunks;
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...points].map((from, index) => bytes.subarray(from, points[index] ?? bytes.length));
}

/** The outcomes of the inspector and of csv-parse for the same bytes, cut into chunks of each size. */
async function bothOutcomes(
  bytes: Buffer,
  chunkSizes: number[],
): Promise<{ inspector: Outcome[]; csvParse: Outcome[] }> {
  const inspector: Outcome[] = [];
  const csvParse: Outcome[] = [];
  for (const size of chunkSizes) {
    const chunks = chunksOf(bytes, size);
    inspector.push(await inspectorOutcome(chunks));
    csvParse.push(await csvParseOutcome(chunks));
  }
  return { inspector, csvParse };
}

describe(`${CsvInspector.name} record counting`, () => {
  const campaignVariants = [0, 1, 300].flatMap((rows) =>
    [false, true].flatMap((bom) =>
      (['\n', '\r\n'] as const).flatMap((lineEnding) =>
        [true, false].map((trailingNewline) => ({ rows, bom, lineEnding, trailingNewline })),
      ),
    ),
  );

  it.each(campaignVariants)('should count a campaign CSV as csv-parse does: %o', async (variant) => {
    const bytes = campaignCsvBuffer({ ...variant, seed: 11 });

    const { inspector, csvParse } = await bothOutcomes(bytes, [bytes.length + 1, 64 * 1024, 1021]);

    expect(inspector).toEqual(csvParse);
    await expect(inspectorOutcome([bytes])).resolves.toEqual({
      rowCount: variant.rows,
      columns: [...campaignCsvColumns],
    });
  });

  it('should count a small campaign CSV as csv-parse does in chunks of every small size', async () => {
    const bytes = campaignCsvBuffer({ rows: 12, seed: 5, bom: true, lineEnding: '\r\n' });

    const { inspector, csvParse } = await bothOutcomes(bytes, [1, 2, 3, 5, 8, 13]);

    expect(inspector).toEqual(csvParse);
  });

  it.each([
    ['quoted LF, CRLF and CR', 'a,b\n"x\ny",1\n"p\r\nq",2\n"r\rs",3\n'],
    ['escaped quotes everywhere', 'a,b\n"""",1\n"x""y""",2\n"""""",3\n'],
    ['quotes inside unquoted fields (relax_quotes)', 'a,b\nx"y,1\nx""",2\n z "q",3\n'],
    ['text after a closing quote', 'a,b\n"x"y,1\n"x" ,2\n"x""y"z"",3\n'],
    ['a closing quote followed by NUL', 'a,b\n"x"\0,1\n"y"\0\n'],
    ['empty and blank lines', '\n\na,b\n\n\n1,2\n \n,\n""\n\n'],
    ['CR record delimiters', 'a,b\r1,2\r\r"x\r\ny",3\r'],
    ['a CRLF file with stray LF and CR', 'a,b\r\n1\n2,3\r\n4\r5,6\r\r\n\r\n'],
    ['an LF file with CRs', 'a,b\r\r\n1,2\r\n\r\n'],
    ['a CR as the very last byte', 'a,b\r\n1,2\r'],
    ['a quote as the very last byte', 'a,b\n1,"2"'],
    ['a header in quotes with a newline', '"col\n1","col,2"\n1,2\n'],
    ['only quotes', '""""""\n"""\n""\n'],
    ['a partial BOM', '\xef\xbba,b\n1,2\n'],
    ['a BOM not at the start', 'a,b\n\ufeff1,2\n'],
    ['a BOM then a quoted header', '\ufeff"a",b\r\n1,2\r\n'],
    ['a UTF-16LE BOM', '\xff\xfea\0,\0b\0\n\x001\0,\x002\0\n\0'],
    ['two bytes of a UTF-16LE BOM only', '\xff\xfe'],
    ['an unterminated quote in the header', 'a,"b\n1,2\n'],
    ['an unterminated quote after CRLF rows', 'a,b\r\n1,2\r\n3,"4\r\n5\r\n'],
    ['an unterminated quote ending in a newline', 'a,b\n1,"x\n\n'],
    ['an unterminated quote after escaped quotes', 'a,b\n"x""\n'],
    ['an unterminated quote in a CR file', 'a\r1\r"2\r3'],
  ])('should count %s as csv-parse does, in any chunking', async (_label, text) => {
    const { inspector, csvParse } = await bothOutcomes(Buffer.from(text, 'latin1'), [text.length + 1, 1, 2, 3, 4]);

    expect(inspector).toEqual(csvParse);
  });

  it('should count a record that straddles the 64 KiB scanning window as csv-parse does', async () => {
    const filler = '"' + 'x,"" '.repeat(13_200) + '"';
    const bytes = Buffer.from(`a,b\r\n1,${filler}\r\n${'2,3\r\n'.repeat(2000)}4,"y\r\nz"\r\n`);

    const { inspector, csvParse } = await bothOutcomes(bytes, [bytes.length, 70_000, 65_536, 4_093]);

    expect(inspector).toEqual(csvParse);
  });

  it('should read the header after 70,000 blank lines, past the first scanning window', async () => {
    const bytes = Buffer.from(`${'\r\n'.repeat(70_000)}"x",y\r\n1,2\r\n`);

    const { inspector, csvParse } = await bothOutcomes(bytes, [bytes.length, 65_536]);

    expect(inspector).toEqual(csvParse);
    await expect(inspectorOutcome([bytes])).resolves.toEqual({ rowCount: 1, columns: ['x', 'y'] });
  });

  it('should count arbitrary bytes as csv-parse does, in arbitrary chunks', async () => {
    const alphabet = [0x22, 0x22, 0x2c, 0x0d, 0x0a, 0x61, 0x20, 0x00, 0xef, 0xbb, 0xbf, 0xff, 0xfe];
    const body = fc.tuple(
      fc.constantFrom('', '\ufeff', '\xff\xfe', '"'),
      fc.array(fc.constantFrom(...alphabet), { maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 6 }),
    );

    await fc.assert(
      fc.asyncProperty(body, async ([prefix, bytes, cuts]) => {
        const chunks = splitAt(Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.from(bytes)]), cuts);
        expect(await inspectorOutcome(chunks)).toEqual(await csvParseOutcome(chunks));
      }),
      { numRuns: 1500 },
    );
  });
});
