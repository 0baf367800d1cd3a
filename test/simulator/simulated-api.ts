import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

import type { SignedLink } from './download-links';
import { BodyTooLargeError, readBody, send, sendJson, sendJsonError } from './http-io';
import type { ReportCatalog, SimulatedRun } from './report-catalog';
import { buildReportsListing } from './reports-listing';
import { isoSeconds } from './webhook-payload';

/** What the API answers instead of its normal reply, before it even checks the key. */
export interface ApiFault {
  readonly status: number;
  readonly headers?: OutgoingHttpHeaders;
  /** A string goes out as is, anything else as JSON. */
  readonly body?: unknown;
  /** Lift the fault after one request. */
  readonly once?: boolean;
}

export interface WebhookRegistration {
  readonly id: string;
  readonly topic: 'report';
  readonly address: string;
  readonly type: 'custom';
  readonly createdAt: string;
}

export interface SimulatedApiDeps {
  readonly businessId: string;
  readonly apiKey: string;
  readonly catalog: ReportCatalog;
  readonly sign: (run: SimulatedRun) => SignedLink;
  readonly now: () => Date;
}

const routePattern = /^\/v1\/businesses\/([^/]+)\/(reporting\/reports|create\/webhooks)$/;

const registrationLimitBytes = 64 * 1024;

/** Connectly's Reports API and webhook registration, behind the `X-API-Key` check. */
export class SimulatedApi {
  private fault: ApiFault | undefined;
  private readonly webhooks: WebhookRegistration[] = [];

  constructor(private readonly deps: SimulatedApiDeps) {}

  static isReportsCall(method: string, path: string): boolean {
    return method === 'GET' && routePattern.exec(path)?.[2] === 'reporting/reports';
  }

  setFault(fault: ApiFault | null): void {
    this.fault = fault ?? undefined;
  }

  registeredWebhooks(): readonly WebhookRegistration[] {
    return [...this.webhooks];
  }

  clear(): void {
    this.fault = undefined;
    this.webhooks.length = 0;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (this.answerFault(res)) return;
    if (!this.authorized(req)) return sendJsonError(res, 401, 'UNAUTHENTICATED', 'missing or invalid X-API-Key');

    const [, businessId, action] = routePattern.exec(url.pathname) ?? [];
    if (businessId === undefined) return sendJsonError(res, 404, 'NOT_FOUND', 'no such endpoint');
    if (businessId !== encodeURIComponent(this.deps.businessId)) {
      return sendJsonError(res, 404, 'NOT_FOUND', 'unknown business');
    }

    if (action === 'reporting/reports' && req.method === 'GET') return this.listReports(res, url);
    if (action === 'create/webhooks' && req.method === 'POST') return this.registerWebhook(req, res);
    sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed here`);
  }

  private answerFault(res: ServerResponse): boolean {
    const fault = this.fault;
    if (!fault) return false;

    if (fault.once) this.fault = undefined;
    const body = fault.body ?? { error: { code: 'SIMULATED', message: `simulated ${fault.status}` } };
    const isText = typeof body === 'string';
    send(res, fault.status, Buffer.from(isText ? body : JSON.stringify(body)), {
      'content-type': isText ? 'text/plain' : 'application/json',
      ...fault.headers,
    });
    return true;
  }

  private authorized(req: IncomingMessage): boolean {
    const given = Buffer.from(String(req.headers['x-api-key'] ?? ''));
    const expected = Buffer.from(this.deps.apiKey);

    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private listReports(res: ServerResponse, url: URL): void {
    const type = url.searchParams.get('type') ?? undefined;

    sendJson(res, 200, buildReportsListing(this.deps.catalog.latestRuns(type), this.deps.sign));
  }

  private async registerWebhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (body === tooLarge) return sendJsonError(res, 413, 'PAYLOAD_TOO_LARGE', 'the body is too large');

    const parsed = parseRegistration(body);
    if (typeof parsed === 'string') return sendJsonError(res, 400, 'INVALID_ARGUMENT', parsed);

    const registration: WebhookRegistration = { id: randomUUID(), ...parsed, createdAt: isoSeconds(this.deps.now()) };
    this.webhooks.push(registration);
    sendJson(res, 201, registration);
  }
}

const tooLarge = Symbol('too large');

async function readJson(req: IncomingMessage): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readBody(req, registrationLimitBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return tooLarge;
    throw error;
  }

  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function parseRegistration(body: unknown): Pick<WebhookRegistration, 'topic' | 'address' | 'type'> | string {
  if (typeof body !== 'object' || body === null) return 'the body must be a JSON object';

  const { topic, address, type } = body as Record<string, unknown>;
  if (topic !== 'report') return 'topic must be "report"';
  if (type !== 'custom') return 'type must be "custom"';
  if (typeof address !== 'string' || !isHttpsUrl(address)) return 'address must be an https URL';

  return { topic, address, type };
}

function isHttpsUrl(address: string): boolean {
  try {
    return new URL(address).protocol === 'https:';
  } catch {
    return false;
  }
}
