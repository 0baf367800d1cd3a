import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Params } from 'nestjs-pino';
import pino from 'pino';
import { AppConfig } from '../config/app-config';
import { withoutSecret } from './redact';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Paths pino blanks in every line: credentials in headers, signed URLs, keys and passwords. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-connectly-signature"]',
  'req.headers["x-signature"]',
  'res.headers["set-cookie"]',
  '*.url',
  '*.apiKey',
  '*.password',
  '*.secret',
  '*.token',
];

const FLUSH_EVERY_MS = 100;

/**
 * Standard output, written once 4 KiB have gathered and at least every 100 ms rather than a write call per line:
 * at hundreds of webhooks a second, one synchronous write per line cost more than validating the webhook. pino
 * writes what is left synchronously when the process exits; a process killed outright (SIGKILL, the kernel's
 * out-of-memory killer) loses at most its last 100 ms of lines.
 */
function bufferedStdout(): pino.DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const flush = (): void => {
    try {
      destination.flush();
    } catch {
      // Destroyed at exit: pino has already written what was left, synchronously.
    }
  };
  setInterval(flush, FLUSH_EVERY_MS).unref();
  return destination;
}

/** pino and pino-http options: JSON lines, a request id on every HTTP line, no secrets. */
export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: [
      {
        level: config.logLevel,
        redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
        genReqId: assignRequestId,
        customProps: (req) => ({ requestId: req.id }),
        // The webhook's one line: the completed request carries the event id it queued (see eventIdOnResponse).
        customSuccessObject: (_req, res, line: Record<string, unknown>) => {
          const eventId = (res as ResponseWithEventId)[EVENT_ID];
          return eventId === undefined ? line : { ...line, eventId };
        },
        serializers: { req: requestSerializer(config.http.webhookPath, config.webhookAuth.pathToken) },
        autoLogging: { ignore: (req) => req.url?.startsWith('/health') === true || req.url === '/metrics' },
        formatters: { level: (label) => ({ level: label }) },
      },
      bufferedStdout(),
    ],
    renameContext: 'logger',
  };
}

const EVENT_ID = Symbol('eventId');
type ResponseWithEventId = ServerResponse & { [EVENT_ID]?: string };

/** Puts the event id a request queued into that request's completion log line. */
export function eventIdOnResponse(res: ServerResponse, eventId: string): void {
  (res as ResponseWithEventId)[EVENT_ID] = eventId;
}

function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/**
 * Logs the path without its query string, and never the secret path token: not after the webhook path in any
 * letter case (Express routes ignore case) nor anywhere else in the path.
 */
function requestSerializer(webhookPath: string, pathToken: string | undefined) {
  const afterWebhookPath = new RegExp(`^(/*${webhookPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})/.*$`, 'i');
  return (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => {
    const path = withoutSecret(req.url.split('?')[0], pathToken).replace(afterWebhookPath, '$1/[redacted]');
    return { id: req.id, method: req.method, path, remoteAddress: req.remoteAddress };
  };
}

/** The request id pino-http assigned, as a string for logs and error bodies. */
export function requestIdOf(req: { id?: unknown }): string {
  return typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : 'unknown';
}
