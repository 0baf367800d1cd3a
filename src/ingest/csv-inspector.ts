import { Parser, parse } from 'csv-parse';
import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { ContentInfo } from '../events/report-event.types';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface CsvFacts extends ContentInfo {
  sha256: string;
  sizeBytes: number;
}

/**
 * Passes the bytes through untouched while hashing them and counting CSV records with csv-parse
 * (quote-aware, so JSON columns with commas and newlines count once). Records are counted, never kept.
 */
export class CsvInspector extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly parser: Parser;
  private readonly parsed: Promise<void>;
  private sizeBytes = 0;
  private head = Buffer.alloc(0);
  private records = 0;
  private columns: string[] = [];
  private lineEnding: ContentInfo['lineEnding'] = 'none';

  constructor() {
    super();
    this.parser = parse({
      bom: true,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (record: string[]) => this.countRecord(record),
    });
    this.parsed = new Promise((resolve, reject) => {
      this.parser.on('end', resolve).on('error', reject).resume();
    });
  }

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
    this.parser.write(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.parser.end();
    this.parsed.then(
      () => callback(),
      (error: Error) => callback(new CsvContentError(`The body is not readable as CSV: ${error.message}`, error)),
    );
  }

  private countRecord(record: string[]): null {
    if (this.records === 0) this.columns = record;
    this.records += 1;
    return null;
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
