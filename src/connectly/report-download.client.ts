import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { LookupAddress, LookupOptions, lookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Agent, Dispatcher, request } from 'undici';
import { AppConfig } from '../config/app-config';
import { DependencyLog } from '../common/dependency-log';
import { IngestError } from '../common/ingest-errors';
import { isAllowedHost, isBlockedAddress } from './address-policy';

const MAX_REDIRECTS = 3;
const ERROR_BODY_LIMIT = 4096;

export interface DownloadResponse {
  body: Readable;
  /** Declared length of the bytes on the wire (before any content decoding), when the server sent one. */
  contentLength?: number;
  contentEncoding?: string;
  contentType?: string;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Opens signed report links: https only, allowed hosts only, no private addresses (checked on the address
 * actually connected to), redirects re-checked on every hop. Responses are classified into IngestErrors.
 */
@Injectable()
export class ReportDownloadClient implements OnApplicationShutdown {
  private readonly agent: Agent;

  constructor(
    private readonly config: AppConfig,
    private readonly dependencies: DependencyLog,
  ) {
    const { caFile, connectTimeoutMs, readTimeoutMs } = config.download;
    this.agent = new Agent({
      connect: {
        ca: caFile === undefined ? undefined : readFileSync(caFile),
        timeout: connectTimeoutMs,
        lookup: this.guardedLookup,
      },
      headersTimeout: readTimeoutMs,
      bodyTimeout: readTimeoutMs,
    });
  }

  async open(url: string, signal: AbortSignal): Promise<DownloadResponse> {
    let target = this.checkUrl(url);

    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      const started = performance.now();
      const response = await this.get(target, signal).catch((error: unknown) => {
        this.dependencies.failed('connectly-downloads', performance.now() - started, error);
        throw error;
      });
      this.noteStatus(response.statusCode, performance.now() - started);
      const location = header(response, 'location');
      if (response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        response.body.on('error', () => undefined);
        response.body.resume();
        target = this.checkUrl(location, target);
        continue;
      }

      return await this.accept(response);
    }

    throw IngestError.permanent('url-not-allowed', `The link redirected more than ${MAX_REDIRECTS} times`);
  }

  onApplicationShutdown(): Promise<void> {
    return this.agent.close();
  }

  private noteStatus(status: number, latencyMs: number): void {
    if (status < 500 && status !== 429) this.dependencies.succeeded('connectly-downloads', latencyMs);
    else this.dependencies.failed('connectly-downloads', latencyMs, { code: `HTTP ${status}` });
  }

  private checkUrl(raw: string, base?: URL): URL {
    const refuse = (why: string): never => {
      throw IngestError.permanent('url-not-allowed', `The link is not allowed: ${why}`);
    };
    const url = URL.canParse(raw, base?.href) ? new URL(raw, base) : refuse('it is not a URL this service can read');

    if (url.protocol !== 'https:') refuse(`scheme ${url.protocol} is not https`);
    if (url.username !== '' || url.password !== '') refuse('it carries credentials');
    if (!isAllowedHost(url.hostname, url.port || '443', this.config.download.allowedHosts)) {
      refuse(`host ${url.host} is not allowed`);
    }
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (!this.config.download.allowPrivateAddresses && /^[\d.]+$|:/.test(literal) && isBlockedAddress(literal)) {
      refuse(`address ${literal} is private`);
    }

    return url;
  }

  private async get(url: URL, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        signal,
        headers: { accept: 'text/csv, text/plain;q=0.5, */*;q=0.1', 'accept-encoding': 'gzip, deflate, identity' },
      });
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'EADDRNOTALLOWED') {
        throw IngestError.permanent('url-not-allowed', `The link is not allowed: ${error.message}`, error);
      }
      throw IngestError.transient(`The download could not start: ${describe(error)}`, error);
    }
  }

  private async accept(response: Dispatcher.ResponseData): Promise<DownloadResponse> {
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      const length = header(response, 'content-length');
      return {
        body: response.body,
        contentLength: length === undefined ? undefined : Number(length),
        contentEncoding: header(response, 'content-encoding')?.toLowerCase(),
        contentType: header(response, 'content-type')?.toLowerCase(),
      };
    }

    const detail = await readErrorBody(response);
    throw classifyRefusal(status, detail, header(response, 'retry-after'));
  }

  private readonly guardedLookup = (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, []);

      const refused = this.config.download.allowPrivateAddresses
        ? []
        : addresses.filter((a) => isBlockedAddress(a.address));
      if (refused.length > 0) {
        const denial: NodeJS.ErrnoException = new Error(`${hostname} resolves to a private address`);
        denial.code = 'EADDRNOTALLOWED';
        return callback(denial, []);
      }
      if (options.all === true) return callback(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function classifyRefusal(status: number, detail: string, retryAfter: string | undefined): IngestError {
  const expired = /expired/i.test(detail);
  if (status === 401 || status === 403 || status === 410 || (status === 400 && expired)) {
    const kind = expired ? 'expired' : 'refused (not an expiry message; likely a bad signature)';
    return IngestError.expired(`The download was ${kind}: HTTP ${status}${s3Code(detail)}`);
  }
  if (status === 408 || status === 429 || status >= 500) {
    return IngestError.transient(
      `The download failed with HTTP ${status}${s3Code(detail)}`,
      undefined,
      retryAfterMs(retryAfter),
    );
  }

  return IngestError.permanent('download-refused', `The download was refused with HTTP ${status}${s3Code(detail)}`);
}

function s3Code(detail: string): string {
  const code = /<Code>([^<]{1,64})<\/Code>/.exec(detail)?.[1];
  return code === undefined ? '' : ` (${code})`;
}

/** Retry-After in seconds or as an HTTP date, capped at five minutes. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : new Date(value).getTime() - now;

  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 300_000) : undefined;
}

async function readErrorBody(response: Dispatcher.ResponseData): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // The status already says what went wrong; the body only adds detail.
  }
  response.body.on('error', () => undefined);
  response.body.destroy();

  return Buffer.concat(chunks).subarray(0, ERROR_BODY_LIMIT).toString('utf8');
}

function header(response: Dispatcher.ResponseData, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = 'code' in error && typeof error.code === 'string' ? ` [${error.code}]` : '';
  return `${error.message}${code}`;
}
