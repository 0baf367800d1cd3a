import { Transform, TransformCallback } from 'node:stream';
import { IngestError } from '../common/ingest-errors';

/** The size of the blocks the download moves in after the first stage. */
export const BLOCK_BYTES = 256 * 1024;

/**
 * Checks the wire bytes of a response against its Content-Length (a short or long body never passes) and passes
 * them on in blocks of BLOCK_BYTES. A TLS download arrives in 16 KiB records; every later stage (decoding, the
 * size cap, hashing and counting, the upload's part assembly) pays per chunk, so one copy into bigger blocks here
 * costs less than sixteen times the chunks everywhere after it.
 */
export class DeclaredLengthCheck extends Transform {
  private seen = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly declared: number | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.declared !== undefined && this.seen > this.declared) {
      return callback(IngestError.transient(`The body is longer than its Content-Length of ${this.declared} bytes`));
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= BLOCK_BYTES) this.release();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.declared !== undefined && this.seen !== this.declared) {
      return callback(IngestError.transient(`The body ended after ${this.seen} of ${this.declared} bytes`));
    }
    if (this.heldBytes > 0) this.release();
    callback();
  }

  private release(): void {
    this.push(this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldBytes));
    this.held = [];
    this.heldBytes = 0;
  }
}

/** Stops a download that grows past the configured cap. */
export class SizeCap extends Transform {
  private seen = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      return callback(
        IngestError.permanent('too-large', `The report is larger than the limit of ${this.maxBytes} bytes`),
      );
    }
    callback(null, chunk);
  }
}
