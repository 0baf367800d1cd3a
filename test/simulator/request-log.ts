import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

import type { ResponseFault } from './download-fault';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly at: Date;
}

export interface DownloadWrite {
  /** Epoch milliseconds when the bytes were handed to the socket. */
  readonly at: number;
  readonly bytes: number;
}

/** One served download: what was written and when, so a test can watch pacing and backpressure. */
export interface DownloadRecord {
  readonly reportId: string;
  readonly runId: string;
  readonly startedAt: Date;
  readonly fault: ResponseFault['kind'] | undefined;
  bytesWritten: number;
  readonly writes: DownloadWrite[];
  /** How many times the server had to wait for the client to drain its buffer. */
  drainWaits: number;
  /** True while the server waits for the client to read. */
  awaitingDrain: boolean;
  /** True when the response completed as framed; false when cut, stalled or abandoned. */
  finished: boolean;
  closedAt: Date | undefined;
}

export class RequestLog {
  private readonly recorded: RecordedRequest[] = [];
  private readonly served: DownloadRecord[] = [];

  record(req: IncomingMessage, url: URL, at: Date): void {
    this.recorded.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      at,
    });
  }

  startDownload(reportId: string, runId: string, fault: ResponseFault | undefined, at: Date): DownloadRecord {
    const record: DownloadRecord = {
      reportId,
      runId,
      startedAt: at,
      fault: fault?.kind,
      bytesWritten: 0,
      writes: [],
      drainWaits: 0,
      awaitingDrain: false,
      finished: false,
      closedAt: undefined,
    };

    this.served.push(record);
    return record;
  }

  requests(): readonly RecordedRequest[] {
    return [...this.recorded];
  }

  downloads(reportId: string, runId: string): readonly DownloadRecord[] {
    return this.served.filter((record) => record.reportId === reportId && record.runId === runId);
  }

  clear(): void {
    this.recorded.length = 0;
    this.served.length = 0;
  }
}
