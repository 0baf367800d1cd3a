import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Params } from 'nestjs-pino';
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

/** pino and pino-http options: JSON lines, a request id on every HTTP line, no secrets. */
export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      genReqId: assignRequestId,
      customProps: (req) => ({ requestId: req.id }),
      serializers: { req: requestSerializer(config.http.webhookPath, config.webhookAuth.pathToken) },
      autoLogging: { ignore: (req) => req.url?.startsWith('/health') === true || req.url === '/metrics' },
      formatters: { level: (label) => ({ level: label }) },
    },
    renameContext: 'logger',
  };
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
