import { Transform, TransformCallback } from 'node:stream';
import { IngestError } from '../common/ingest-errors';

/** Checks the wire bytes of a response against its Content-Length: a short or long body never passes. */
export class DeclaredLengthCheck extends Transform {
  private seen = 0;

  constructor(private readonly declared: number | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.declared !== undefined && this.seen > this.declared) {
      return callback(IngestError.transient(`The body is longer than its Content-Length of ${this.declared} bytes`));
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.declared !== undefined && this.seen !== this.declared) {
      return callback(IngestError.transient(`The body ended after ${this.seen} of ${this.declared} bytes`));
    }
    callback();
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
