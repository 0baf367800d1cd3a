import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

import type { DownloadRecord } from './request-log';

export interface PipeOptions {
  /** Stop after this many bytes. */
  readonly limit?: number;
  /** Pace the writes to this rate. */
  readonly bytesPerSecond?: number;
  /** Write pieces of at most this size, each flushed to the socket before the next. */
  readonly writeSize?: number;
}

/** Resolves after `ms`, or at once when the signal fires: a closed response ends every wait. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();

  return untilAborted(signal, (done) => {
    const timer = setTimeout(done, ms);
    return () => clearTimeout(timer);
  });
}

/**
 * Resolves when `start` calls back or the signal fires, whichever comes first; `start` returns its own cleanup.
 */
export function untilAborted(signal: AbortSignal, start: (done: () => void) => () => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();

    const done = (): void => {
      cleanup();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const cleanup = start(done);
    signal.addEventListener('abort', done);
  });
}

/** Writes a download body with backpressure, recording every write on the download's record. */
export class DownloadWriter {
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly res: ServerResponse,
    private readonly record: DownloadRecord,
    private readonly closed: AbortSignal,
  ) {}

  async pipe(source: Readable, options: PipeOptions = {}): Promise<void> {
    const pacer = options.bytesPerSecond ? new Pacer(options.bytesPerSecond, this.closed) : undefined;
    const writeSize =
      options.writeSize ?? (options.bytesPerSecond ? Math.max(1, Math.floor(options.bytesPerSecond / 20)) : undefined);

    for await (const piece of pieces(source, options.limit ?? Infinity, writeSize)) {
      if (this.closed.aborted) break;

      await this.write(piece);
      if (options.writeSize) await this.flushed();
      await pacer?.wait(piece.length);
    }
  }

  /** Resolves when everything written so far has been handed to the socket (or the response closed). */
  async flushed(): Promise<void> {
    const lastWrite = this.lastWrite;

    await untilAborted(this.closed, (done) => {
      void lastWrite.then(done);
      return () => undefined;
    });
  }

  private async write(piece: Buffer): Promise<void> {
    let accepted = true;
    this.lastWrite = new Promise((resolve) => {
      accepted = this.res.write(piece, () => resolve());
    });
    this.record.bytesWritten += piece.length;
    this.record.writes.push({ at: Date.now(), bytes: piece.length });

    if (!accepted) await this.drained();
  }

  private async drained(): Promise<void> {
    this.record.drainWaits++;
    this.record.awaitingDrain = true;

    await untilAborted(this.closed, (done) => {
      this.res.once('drain', done);
      return () => this.res.off('drain', done);
    });

    this.record.awaitingDrain = false;
  }
}

class Pacer {
  private readonly startedAt = Date.now();
  private sent = 0;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly closed: AbortSignal,
  ) {}

  async wait(bytes: number): Promise<void> {
    this.sent += bytes;
    const due = this.startedAt + (this.sent / this.bytesPerSecond) * 1000;

    await abortableDelay(due - Date.now(), this.closed);
  }
}

async function* pieces(source: Readable, limit: number, writeSize: number | undefined): AsyncGenerator<Buffer> {
  let remaining = limit;

  for await (const chunk of source as AsyncIterable<Buffer>) {
    for (let offset = 0; offset < chunk.length && remaining > 0;) {
      const piece = chunk.subarray(offset, offset + Math.min(writeSize ?? chunk.length, remaining));
      offset += piece.length;
      remaining -= piece.length;
      yield piece;
    }
    if (remaining <= 0) return;
  }
}
