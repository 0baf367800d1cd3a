import type { OutgoingHttpHeaders } from 'node:http';

import { s3ErrorXml } from './http-io';

/** Answer with this status, headers and body instead of the file. */
export interface StatusFault {
  readonly kind: 'status';
  readonly status: number;
  readonly body?: string | Buffer;
  readonly headers?: OutgoingHttpHeaders;
}

/** Declare the full Content-Length (or `contentLength`), send `afterBytes`, then close cleanly or reset the socket. */
export interface TruncateFault {
  readonly kind: 'truncate';
  readonly afterBytes: number;
  readonly mode: 'fin' | 'reset';
  readonly contentLength?: number;
}

/** Chunked encoding, `afterBytes` of data, and no final zero-length chunk before the connection ends. */
export interface ChunkedTruncateFault {
  readonly kind: 'chunked-truncate';
  readonly afterBytes: number;
  readonly mode?: 'fin' | 'reset';
}

/** The whole file, paced to this rate. */
export interface ThrottleFault {
  readonly kind: 'throttle';
  readonly bytesPerSecond: number;
}

/** Send `afterBytes`, then nothing more, with the socket held open until the client gives up or the server stops. */
export interface StallFault {
  readonly kind: 'stall';
  readonly afterBytes: number;
}

/**
 * The file gzipped with `Content-Encoding: gzip`. Content-Length is the compressed size, the uncompressed size (the
 * socket then closes after the compressed bytes) or absent (chunked). `truncateCompressedAt` cuts the gzip stream
 * short while the HTTP framing stays consistent with what is sent.
 */
export interface GzipFault {
  readonly kind: 'gzip';
  readonly contentLength: 'compressed' | 'uncompressed' | 'none';
  readonly truncateCompressedAt?: number;
}

export interface RedirectFault {
  readonly kind: 'redirect';
  readonly location: string;
  readonly status?: 301 | 302 | 303 | 307 | 308;
}

/** Some other content in place of the CSV, such as an HTML error page served with 200. */
export interface ContentFault {
  readonly kind: 'content';
  readonly contentType: string;
  readonly body: string | Buffer;
  readonly status?: number;
}

/** Hold the response headers back for `ms`, then answer normally or with `then`. */
export interface DelayFault {
  readonly kind: 'delay';
  readonly ms: number;
  readonly then?: ResponseFault;
}

/** The whole file in writes of `writeSize` bytes, each flushed before the next, so reads split anywhere. */
export interface SplitFault {
  readonly kind: 'split';
  readonly writeSize: number;
}

/** Apply `fault` to the next download only. */
export interface OnceFault {
  readonly kind: 'once';
  readonly fault: DownloadFault;
}

/** Apply `fault` to the next `count` downloads. */
export interface TimesFault {
  readonly kind: 'times';
  readonly count: number;
  readonly fault: DownloadFault;
}

export type DownloadFault =
  | StatusFault
  | TruncateFault
  | ChunkedTruncateFault
  | ThrottleFault
  | StallFault
  | GzipFault
  | RedirectFault
  | ContentFault
  | DelayFault
  | SplitFault
  | OnceFault
  | TimesFault;

/** A fault that acts on one response: the counting wrappers are already unwrapped. */
export type ResponseFault = Exclude<DownloadFault, OnceFault | TimesFault>;

function s3Status(status: number, code: string, message: string, headers?: OutgoingHttpHeaders): StatusFault {
  return { kind: 'status', status, body: s3ErrorXml(code, message), headers };
}

/** The refusals real object stores give, ready to use. */
export const downloadFaults = {
  expired: (): StatusFault => s3Status(403, 'AccessDenied', 'Request has expired'),
  expiredRequest: (): StatusFault => s3Status(400, 'ExpiredRequest', 'Request has expired'),
  signatureMismatch: (): StatusFault => s3Status(403, 'AccessDenied', 'Signature does not match'),
  notFound: (): StatusFault => s3Status(404, 'NoSuchKey', 'The specified key does not exist.'),
  gone: (): StatusFault => s3Status(410, 'Gone', 'The report file is no longer available'),
  serverError: (): StatusFault => s3Status(500, 'InternalError', 'We encountered an internal error. Please try again.'),
  slowDown: (retryAfterSeconds: number): StatusFault =>
    s3Status(429, 'SlowDown', 'Please reduce your request rate.', { 'retry-after': String(retryAfterSeconds) }),
};
