import { CsvError, Options, Parser, parse } from 'csv-parse';
import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { ContentInfo } from '../events/report-event.types';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const UTF16LE_BOM = Buffer.from([0xff, 0xfe]);
const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/** The reading of a CSV that rowCount and columns describe; the scanner below follows exactly these options. */
const PARSE_OPTIONS: Options = { bom: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true };

export interface CsvFacts extends ContentInfo {
  sha256: string;
  sizeBytes: number;
}

/**
 * Passes the bytes through untouched while hashing them and counting CSV records (quote-aware, so JSON
 * columns with commas and newlines count once). Records are counted, never kept.
 */
export class CsvInspector extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly counter = new RecordCounter();
  private sizeBytes = 0;
  private head = Buffer.alloc(0);
  private records = 0;
  private columns: string[] = [];
  private lineEnding: ContentInfo['lineEnding'] = 'none';

  /** The facts about the bytes seen; complete once the stream has ended. */
  facts(): CsvFacts {
    return {
      sha256: this.hash.copy().digest('hex'),
      sizeBytes: this.sizeBytes,
      rowCount: Math.max(this.records - 1, 0),
      columns: this.columns,
      hasBom: this.head.subarray(0, 3).equals(BOM),
      lineEnding: this.lineEnding,
    };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.sizeBytes += chunk.length;
    this.noteLineEnding(chunk);
    this.counter.write(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.counter.end().then(
      (counted) => {
        this.records = counted.records;
        this.columns = counted.columns;
        callback();
      },
      (error: Error) => callback(new CsvContentError(`The body is not readable as CSV: ${error.message}`, error)),
    );
  }

  private noteLineEnding(chunk: Buffer): void {
    if (this.lineEnding !== 'none' || this.head.length >= 64 * 1024) return;

    this.head = Buffer.concat([this.head, chunk.subarray(0, 64 * 1024)]);
    const newline = this.head.indexOf(0x0a);
    if (newline >= 0) this.lineEnding = newline > 0 && this.head[newline - 1] === 0x0d ? 'CRLF' : 'LF';
  }
}

export class CsvContentError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'CsvContentError';
  }
}

/** Reads the header row of a CSV from its first bytes, the way CsvInspector does. */
export async function readCsvHeader(start: Buffer): Promise<Pick<ContentInfo, 'columns' | 'hasBom' | 'lineEnding'>> {
  const inspector = new CsvInspector();
  const firstLine = start.indexOf(0x0a);
  inspector.end(firstLine >= 0 ? start.subarray(0, firstLine + 1) : start);
  inspector.resume();
  await new Promise((resolve, reject) => inspector.on('end', resolve).on('error', reject));

  const { columns, hasBom, lineEnding } = inspector.facts();
  return { columns, hasBom, lineEnding };
}

interface Counted {
  records: number;
  columns: string[];
}

/**
 * Counts records with a scanner and reads only the header row with csv-parse. csv-parse builds a string for every
 * field of every record and copies each chunk onto the previous one's tail: it inspected campaign CSVs at 11-26
 * MB/s, below what the download and the upload sustain, so it set the archiving speed; the scanner only tracks
 * quote and record boundaries (about 300 MB/s with the SHA-256). csv-parse decides the BOM once it has three
 * bytes, so they are held until then; a UTF-16LE BOM switches csv-parse to two-byte characters, which the scanner
 * does not model, so such a body is counted by csv-parse whole.
 */
class RecordCounter {
  private header?: CsvParseReader;
  private full?: CsvParseReader;
  private scanner?: RecordScanner;
  private start: Buffer = Buffer.alloc(0);
  private headerDone = false;
  private columns: string[] = [];
  private parsedRecords = 0;

  write(chunk: Buffer): void {
    if (this.full !== undefined) return this.full.write(chunk);
    if (this.scanner !== undefined) return this.scan(chunk, 0);

    this.start = Buffer.concat([this.start, chunk]);
    if (this.start.length >= BOM.length) this.choose();
  }

  async end(): Promise<Counted> {
    if (this.full === undefined && this.scanner === undefined) this.choose();
    if (this.full !== undefined) return this.endFull(this.full);

    const scanner = this.scanner as RecordScanner;
    scanner.finish();
    this.endHeader();
    await this.header?.done();
    scanner.assertClosed();

    return { records: scanner.records, columns: this.columns };
  }

  private choose(): void {
    const start = this.start;
    this.start = Buffer.alloc(0);
    if (start.length >= BOM.length && start.subarray(0, 2).equals(UTF16LE_BOM)) {
      this.full = new CsvParseReader((record) => this.parsedRecord(record));
      return this.full.write(start);
    }

    this.scanner = new RecordScanner();
    this.header = new CsvParseReader((record) => this.parsedRecord(record));
    this.scan(start, start.subarray(0, BOM.length).equals(BOM) ? BOM.length : 0);
  }

  /** Feeds the scanner, and csv-parse too until the scanner has seen the header row end. */
  private scan(chunk: Buffer, skip: number): void {
    const headerEnd = (this.scanner as RecordScanner).scan(skip === 0 ? chunk : chunk.subarray(skip));
    if (this.headerDone) return;

    this.header?.write(headerEnd < 0 ? chunk : chunk.subarray(0, skip + headerEnd));
    if (headerEnd >= 0) this.endHeader();
  }

  private endHeader(): void {
    if (this.headerDone) return;
    this.headerDone = true;
    this.header?.end();
  }

  private parsedRecord(record: string[]): void {
    if (this.parsedRecords === 0) this.columns = record;
    this.parsedRecords += 1;
  }

  private async endFull(full: CsvParseReader): Promise<Counted> {
    full.end();
    await full.done();
    return { records: this.parsedRecords, columns: this.columns };
  }
}

/** A csv-parse stream with the inspector's options that hands each record to a callback and keeps none. */
class CsvParseReader {
  private readonly parser: Parser;
  private readonly finished: Promise<void>;

  constructor(onRecord: (record: string[]) => void) {
    this.parser = parse({
      ...PARSE_OPTIONS,
      on_record: (record: string[]) => {
        onRecord(record);
        return null;
      },
    });
    this.finished = new Promise<void>((resolve, reject) => {
      this.parser.on('end', resolve).on('error', reject).resume();
    });
    // Awaited only at the end; csv-parse with these options fails only once it has seen the last byte anyway.
    this.finished.catch(() => undefined);
  }

  write(chunk: Buffer): void {
    if (chunk.length > 0) this.parser.write(chunk);
  }

  end(): void {
    this.parser.end();
  }

  done(): Promise<void> {
    return this.finished;
  }
}

type RecordDelimiter = 'LF' | 'CRLF' | 'CR';

const QUOTED_FIELD = '"[^"]*(?:""[^"]*)*"';

/**
 * A whole record of plain fields ended by the delimiter: each field is quoted (its closing quote right before a
 * comma or the delimiter) or holds no quote and no byte that could start the delimiter.
 */
function wellFormedRecord(delimiter: string, delimiterStart: string): RegExp {
  const field = `(?:${QUOTED_FIELD}|[^",${delimiterStart}]*)`;
  return new RegExp(`${field}(?:,${field})*${delimiter}`, 'y');
}

const WELL_FORMED_RECORD: Record<RecordDelimiter, RegExp> = {
  LF: wellFormedRecord('\\n', '\\n'),
  CRLF: wellFormedRecord('\\r\\n', '\\r'),
  CR: wellFormedRecord('\\r', '\\r'),
};
const DELIMITER_LENGTH: Record<RecordDelimiter, number> = { LF: 1, CRLF: 2, CR: 1 };
const WINDOW_BYTES = 64 * 1024;

/**
 * Counts the records csv-parse emits with PARSE_OPTIONS, without building fields:
 * - the record delimiter is the first CRLF, LF or CR met outside quotes, and only it ends records afterwards;
 * - a quote opens a quoted field only at the start of a field; inside, `""` is a quote and any other quote
 *   closes the field (relax_quotes: what follows a closing quote is part of the same field);
 * - a delimiter that ends an empty line is skipped (skip_empty_lines); anything else ends a record.
 * Well-formed records are matched whole by a regular expression over a latin1 view (native code, several times
 * faster than a JavaScript byte loop); anything else, and a record cut by a chunk, goes through the byte loop.
 * The spec proves the counts equal to csv-parse's on generated and adversarial inputs, in any chunking.
 */
class RecordScanner {
  records = 0;
  private delimiter?: RecordDelimiter;
  private inQuotes = false;
  private fieldStart = true;
  private hasContent = false;
  private pending: 'quote' | 'cr' | undefined;
  private firstRecordEnd = -1;
  private readonly lines = new LineTally();
  private window: { buf?: Buffer; start: number; text: string } = { start: -1, text: '' };

  /** Scans a chunk; returns the offset in it just past the first record's delimiter when that is in it, else -1. */
  scan(buf: Buffer): number {
    this.firstRecordEnd = -1;
    this.lines.count(buf);
    let at = this.resolvePending(buf);
    while (at < buf.length) {
      if (this.delimiter !== undefined && this.atRecordStart()) at = this.matchRecords(buf, at, this.delimiter);
      if (at < buf.length) at = this.inQuotes ? this.skipQuoted(buf, at) : this.skipUnquoted(buf, at);
    }

    return this.firstRecordEnd;
  }

  /** Ends the scan: what waited for a next byte meets the end of the data instead. */
  finish(): void {
    if (this.pending === 'quote') this.closeQuote();
    if (this.pending === 'cr') this.crMeets(undefined, 0);
    this.pending = undefined;
    if (!this.inQuotes && this.hasContent) this.endRecord(0);
  }

  /** Throws csv-parse's own error, line number included, for a body that ends inside a quoted field. */
  assertClosed(): void {
    if (!this.inQuotes) return;

    throw new CsvError('CSV_QUOTE_NOT_CLOSED', [
      'Quote Not Closed:',
      `the parsing is finished with an opening quote at line ${this.lines.atEnd()}`,
    ]);
  }

  private atRecordStart(): boolean {
    return !this.hasContent && !this.inQuotes && this.pending === undefined;
  }

  /** Counts the well-formed records from `from` on, up to the end of the current window; returns where it stopped. */
  private matchRecords(buf: Buffer, from: number, delimiter: RecordDelimiter): number {
    const { text, start } = this.windowAt(buf, from);
    const pattern = WELL_FORMED_RECORD[delimiter];
    let at = from - start;
    for (pattern.lastIndex = at; pattern.test(text); pattern.lastIndex = at) {
      if (delimiter === 'CRLF') this.lines.lfInDelimiter();
      if (pattern.lastIndex - at > DELIMITER_LENGTH[delimiter]) this.countRecord(start + pattern.lastIndex);
      at = pattern.lastIndex;
    }

    return start + at;
  }

  /** A latin1 string of the fixed window of the chunk that holds `at`, made once per window. */
  private windowAt(buf: Buffer, at: number): { text: string; start: number } {
    const start = at - (at % WINDOW_BYTES);
    if (this.window.buf !== buf || this.window.start !== start) {
      this.window = { buf, start, text: buf.toString('latin1', start, Math.min(buf.length, start + WINDOW_BYTES)) };
    }
    return this.window;
  }

  private resolvePending(buf: Buffer): number {
    const pending = this.pending;
    if (pending === undefined || buf.length === 0) return 0;

    this.pending = undefined;
    if (pending === 'cr') return this.crMeets(buf[0], 0);
    if (buf[0] === QUOTE) return 1;

    this.closeQuote();
    return 0;
  }

  // Byte loops rather than indexOf: fields are short, and a native call per quote costs more than the bytes.
  private skipQuoted(buf: Buffer, from: number): number {
    let at = from;
    while (at < buf.length && buf[at] !== QUOTE) at++;
    if (at === buf.length) return at;
    if (at + 1 === buf.length) {
      this.pending = 'quote';
      return buf.length;
    }
    if (buf[at + 1] === QUOTE) return at + 2;

    this.closeQuote();
    return at + 1;
  }

  private skipUnquoted(buf: Buffer, from: number): number {
    let fieldStart = this.fieldStart;
    let at = from;
    for (; at < buf.length; at++) {
      const byte = buf[at];
      if (byte === COMMA) fieldStart = true;
      else if (byte === CR || byte === LF) break;
      else if (byte === QUOTE && fieldStart) {
        this.inQuotes = true;
        fieldStart = false;
        at += 1;
        break;
      } else fieldStart = false;
    }
    this.fieldStart = fieldStart;
    if (at > from) this.hasContent = true;

    return at < buf.length && !this.inQuotes ? this.lineBreak(buf, at) : at;
  }

  private lineBreak(buf: Buffer, at: number): number {
    if (buf[at] === LF) {
      this.delimiter ??= 'LF';
      return this.delimiter === 'LF' ? this.endRecord(at + 1) : this.content(at + 1);
    }
    if (this.delimiter === 'CR') return this.endRecord(at + 1);
    if (this.delimiter === 'LF') return this.content(at + 1);
    if (at + 1 === buf.length) {
      this.pending = 'cr';
      return buf.length;
    }

    return this.crMeets(buf[at + 1], at + 1);
  }

  /** A CR outside quotes while the delimiter may be CRLF: the byte after it (at `next`; undefined at the end) decides. */
  private crMeets(after: number | undefined, next: number): number {
    this.delimiter ??= after === LF ? 'CRLF' : 'CR';
    if (this.delimiter === 'CR') return this.endRecord(next);
    if (after !== LF) return this.content(next);

    this.lines.lfInDelimiter();
    return this.endRecord(next + 1);
  }

  private content(next: number): number {
    this.hasContent = true;
    this.fieldStart = false;
    return next;
  }

  private closeQuote(): void {
    this.inQuotes = false;
    this.fieldStart = false;
  }

  private endRecord(next: number): number {
    if (this.hasContent) this.countRecord(next);
    this.hasContent = false;
    this.fieldStart = true;
    return next;
  }

  private countRecord(end: number): void {
    this.records += 1;
    if (this.records === 1) this.firstRecordEnd = end;
  }
}

/**
 * csv-parse's line number for its error message: one more than the CR and LF bytes it stepped on, where the LF of
 * a CRLF delimiter is stepped over, and a line break as the very last byte is not counted yet when it fails.
 */
class LineTally {
  private breaks = 0;
  private skippedLfs = 0;
  private lastIsBreak = false;

  count(buf: Buffer): void {
    if (buf.length === 0) return;
    this.breaks += occurrences(buf, LF) + occurrences(buf, CR);
    const last = buf[buf.length - 1];
    this.lastIsBreak = last === LF || last === CR;
  }

  lfInDelimiter(): void {
    this.skippedLfs += 1;
  }

  atEnd(): number {
    return 1 + this.breaks - this.skippedLfs - (this.lastIsBreak ? 1 : 0);
  }
}

function occurrences(buf: Buffer, byte: number): number {
  let count = 0;
  for (let at = buf.indexOf(byte); at >= 0; at = buf.indexOf(byte, at + 1)) count += 1;
  return count;
}
