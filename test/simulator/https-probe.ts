import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { request } from 'node:https';

export interface ProbeOptions {
  readonly ca: Buffer;
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  /** Give up when no bytes arrive for this long. */
  readonly idleTimeoutMs?: number;
  /** Stop reading the body until this settles, so the server meets backpressure. */
  readonly holdReadingUntil?: Promise<unknown>;
}

export interface ProbeResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** True when the body ended as its framing promised. */
  readonly complete: boolean;
  /** Why the exchange failed, when it did: an error code such as ECONNRESET, or a message. */
  readonly error: string | undefined;
  /** How the connection ended: a TCP reset, or a close (FIN) seen as end of stream. */
  readonly connectionEnd: 'reset' | 'fin' | 'destroyed';
}

/**
 * One HTTPS exchange on its own connection that never throws: it reports what a client saw, short bodies, resets
 * and all, so tests can assert on failures without wrapping them in try/catch.
 */
export function probe(url: string, options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const seen = { status: 0, headers: {} as IncomingHttpHeaders, chunks: [] as Buffer[], complete: false };
    let error: string | undefined;
    let connectionEnd: ProbeResult['connectionEnd'] = 'destroyed';
    const noteError = (cause: Error): void => {
      error ??= (cause as NodeJS.ErrnoException).code ?? cause.message;
    };

    const req = request(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      ca: options.ca,
      agent: false,
    });
    req.on('socket', (socket) => {
      socket.on(
        'error',
        (cause: NodeJS.ErrnoException) => (connectionEnd = cause.code === 'ECONNRESET' ? 'reset' : connectionEnd),
      );
      socket.on('end', () => (connectionEnd = 'fin'));
      socket.on('close', () => {
        const body = Buffer.concat(seen.chunks);
        resolve({ status: seen.status, headers: seen.headers, body, complete: seen.complete, error, connectionEnd });
      });
    });
    req.on('error', noteError);
    if (options.idleTimeoutMs) req.setTimeout(options.idleTimeoutMs, () => req.destroy(new Error('idle timeout')));

    req.on('response', (res) => {
      seen.status = res.statusCode ?? 0;
      seen.headers = res.headers;
      res.on('data', (chunk: Buffer) => seen.chunks.push(chunk));
      res.on('end', () => (seen.complete = res.complete));
      res.on('error', noteError);
      if (options.holdReadingUntil) {
        res.pause();
        const resume = (): void => void res.resume();
        void options.holdReadingUntil.then(resume, resume);
      }
    });
    req.end(options.body);
  });
}
