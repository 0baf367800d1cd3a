import {
  BadRequestException,
  Injectable,
  NestMiddleware,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import secureJson from 'secure-json-parse';
import { AppConfig } from '../config/app-config';
import { WebhookAuthenticator } from './webhook-authenticator';

export interface RequestWithRawBody extends Request {
  rawBody?: Buffer;
}

const MAX_DEPTH = 16;

/**
 * The webhook's intake steps before validation: caller checks, then the body read by the route itself so that
 * the exact bytes are what the signature covers (CASES C17), then JSON parsing. Every failure maps to its own
 * status: 401/403 caller, 415 wrong type, 413 too large, 400 malformed or hostile JSON.
 */
@Injectable()
export class WebhookBodyMiddleware implements NestMiddleware {
  constructor(
    private readonly config: AppConfig,
    private readonly authenticator: WebhookAuthenticator,
  ) {}

  async use(req: RequestWithRawBody, _res: Response, next: NextFunction): Promise<void> {
    this.authenticator.checkCaller(req);
    if (!req.is('application/json')) {
      throw new UnsupportedMediaTypeException('Content-Type must be application/json');
    }

    req.rawBody = await this.read(req);
    this.authenticator.checkSignature(req, req.rawBody);
    req.body = parseJson(req.rawBody);
    next();
  }

  private async read(req: Request): Promise<Buffer> {
    const limit = this.config.http.bodyLimitBytes;
    try {
      return await getRawBody(req, { limit, length: req.headers['content-length'] });
    } catch (error) {
      if (isBodyError(error, 'entity.too.large')) {
        throw new PayloadTooLargeException(`The body is larger than the limit of ${limit} bytes`);
      }
      throw new BadRequestException('The body could not be read completely');
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new BadRequestException('Malformed webhook: the body is not valid UTF-8');
  }

  let parsed: unknown;
  try {
    parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const forbidden = error instanceof Error && /forbidden/i.test(error.message);
    throw new BadRequestException(
      `Malformed webhook: ${forbidden ? 'the body holds a forbidden key' : 'the body is not valid JSON'}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BadRequestException('Malformed webhook: the body must be a JSON object');
  }
  if (depthOf(parsed) > MAX_DEPTH)
    throw new BadRequestException(`Malformed webhook: nested deeper than ${MAX_DEPTH} levels`);

  return parsed;
}

function depthOf(value: unknown, depth = 0): number {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return depth;

  let deepest = depth;
  for (const child of Object.values(value as Record<string, unknown>))
    deepest = Math.max(deepest, depthOf(child, depth + 1));
  return deepest;
}

function isBodyError(error: unknown, type: string): boolean {
  return typeof error === 'object' && error !== null && 'type' in error && error.type === type;
}
