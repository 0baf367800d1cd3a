import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import type {
  ChunkedTruncateFault,
  ContentFault,
  GzipFault,
  ResponseFault,
  StallFault,
  StatusFault,
  TruncateFault,
} from './download-fault';
import { abortableDelay, untilAborted, type DownloadWriter, type PipeOptions } from './download-writer';
import { send, sendJsonError } from './http-io';
import { gzippedSize, type BodySource } from './run-body';

/** One download in progress, with what a fault needs to shape the answer. */
export interface DownloadExchange {
  readonly res: ServerResponse;
  readonly body: BodySource;
  readonly writer: DownloadWriter;
  /** Fires when the response closes, for whatever reason. */
  readonly closed: AbortSignal;
  /** Ends the connection under the response: a clean close (TLS close_notify, then FIN) or a TCP reset. */
  cut(mode: 'fin' | 'reset'): Promise<void>;
}

export async function respondToDownload(exchange: DownloadExchange, fault: ResponseFault | undefined): Promise<void> {
  switch (fault?.kind) {
    case undefined:
      return serve(exchange);
    case 'status':
      return answerStatus(exchange.res, fault);
    case 'truncate':
      return truncate(exchange, fault);
    case 'chunked-truncate':
      return truncateChunked(exchange, fault);
    case 'throttle':
      return serve(exchange, { bytesPerSecond: fault.bytesPerSecond });
    case 'stall':
      return stall(exchange, fault);
    case 'gzip':
      return serveGzip(exchange, fault);
    case 'redirect':
      return send(exchange.res, fault.status ?? 302, Buffer.alloc(0), { location: fault.location });
    case 'content':
      return answerContent(exchange.res, fault);
    case 'delay':
      await abortableDelay(fault.ms, exchange.closed);
      return exchange.closed.aborted ? undefined : respondToDownload(exchange, fault.then);
    case 'split':
      return serve(exchange, { writeSize: fault.writeSize });
  }
}

function csvHeaders(contentLength: number | undefined): OutgoingHttpHeaders {
  return contentLength === undefined
    ? { 'content-type': 'text/csv' }
    : { 'content-type': 'text/csv', 'content-length': contentLength };
}

async function serve(exchange: DownloadExchange, options?: PipeOptions): Promise<void> {
  exchange.res.writeHead(200, csvHeaders(exchange.body.size));

  await exchange.writer.pipe(exchange.body.open(), options);
  exchange.res.end();
}

function answerStatus(res: ServerResponse, fault: StatusFault): void {
  const body = Buffer.from(fault.body ?? '');
  const contentType = body.subarray(0, 1).toString() === '<' ? 'application/xml' : 'text/plain';

  send(res, fault.status, body, { 'content-type': contentType, ...fault.headers });
}

function answerContent(res: ServerResponse, fault: ContentFault): void {
  send(res, fault.status ?? 200, Buffer.from(fault.body), { 'content-type': fault.contentType });
}

async function truncate(exchange: DownloadExchange, fault: TruncateFault): Promise<void> {
  const declared = fault.contentLength ?? exchange.body.size;
  if (declared === undefined) {
    return sendJsonError(
      exchange.res,
      500,
      'simulator',
      'a truncate fault needs a body of known size or a contentLength',
    );
  }
  exchange.res.writeHead(200, csvHeaders(declared));

  await exchange.writer.pipe(exchange.body.open(), { limit: fault.afterBytes });
  await exchange.cut(fault.mode);
}

async function truncateChunked(exchange: DownloadExchange, fault: ChunkedTruncateFault): Promise<void> {
  exchange.res.writeHead(200, csvHeaders(undefined));

  await exchange.writer.pipe(exchange.body.open(), { limit: fault.afterBytes });
  await exchange.cut(fault.mode ?? 'fin');
}

async function stall(exchange: DownloadExchange, fault: StallFault): Promise<void> {
  exchange.res.writeHead(200, csvHeaders(exchange.body.size));

  await exchange.writer.pipe(exchange.body.open(), { limit: fault.afterBytes });
  await untilAborted(exchange.closed, () => () => undefined);
}

async function serveGzip(exchange: DownloadExchange, fault: GzipFault): Promise<void> {
  const framing = await gzipFraming(exchange.body, fault);
  if (framing === undefined) {
    return sendJsonError(exchange.res, 500, 'simulator', 'a gzip fault with an uncompressed length needs a known size');
  }
  exchange.res.writeHead(200, { ...csvHeaders(framing.contentLength), 'content-encoding': 'gzip' });

  await exchange.writer.pipe(gzipped(exchange.body.open()), { limit: framing.limit });
  if (fault.contentLength === 'uncompressed') await exchange.cut('fin');
  else exchange.res.end();
}

interface GzipFraming {
  readonly contentLength: number | undefined;
  readonly limit: number;
}

async function gzipFraming(body: BodySource, fault: GzipFault): Promise<GzipFraming | undefined> {
  const truncateAt = fault.truncateCompressedAt ?? Infinity;

  switch (fault.contentLength) {
    case 'none':
      return { contentLength: undefined, limit: truncateAt };
    case 'compressed': {
      const length = Math.min(await gzippedSize(body), truncateAt);
      return { contentLength: length, limit: length };
    }
    case 'uncompressed':
      return body.size === undefined ? undefined : { contentLength: body.size, limit: Math.min(truncateAt, body.size) };
  }
}

function gzipped(source: Readable): Readable {
  const output = new PassThrough();

  // The writer stops reading early when it truncates; the pipeline then tears the source down with it.
  pipeline(source, createGzip(), output).catch(() => undefined);
  return output;
}
