import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { isNativeError } from 'node:util/types';

import type { DownloadFault } from './download-fault';
import { DownloadLinks, type SignedLink } from './download-links';
import { respondToDownload, type DownloadExchange } from './download-responder';
import { abortableDelay, DownloadWriter } from './download-writer';
import { FaultBook } from './fault-book';
import { s3ErrorXml, sendJsonError, sendXml } from './http-io';
import { ReportCatalog, type AddRunInput, type SimulatedRun } from './report-catalog';
import { RequestLog, type DownloadRecord, type RecordedRequest } from './request-log';
import { openRunBody } from './run-body';
import { SimulatedApi, type ApiFault, type WebhookRegistration } from './simulated-api';
import { SocketRegistry } from './socket-registry';
import { ensureTestTls, type TestTls } from './tls';
import { buildWebhookPayload, type ConnectlyWebhookPayload, type WebhookPayloadOptions } from './webhook-payload';
import { postWebhook, type WebhookResponse } from './webhook-sender';

export interface ConnectlySimulatorOptions {
  readonly businessId: string;
  readonly apiKey: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Host named in signed URLs and `baseUrl`; it must be covered by the certificate. Default `localhost`. */
  readonly publicHost?: string;
  /** Lifetime of the URLs the Reports API hands out. Default 5 minutes. */
  readonly apiUrlTtlMs?: number;
  /** Where the test CA and certificate are cached. Default `.cache/tls/` in the repository. */
  readonly tlsDir?: string;
  /** Epoch milliseconds; lets a test move the simulator's clock (signing, expiry, timestamps). Default `Date.now`. */
  readonly now?: () => number;
}

const defaultUrlTtlMs = 5 * 60_000;

/**
 * A stand-in for Connectly over real HTTPS: the report download host (signed, expiring URLs, programmable faults)
 * and the API (Reports API, webhook registration), plus a webhook sender. Everything it serves is recorded.
 */
export class ConnectlySimulator {
  private server: Server | undefined;
  private listeningPort = 0;
  private tls: TestTls | undefined;
  private readonly now: () => number;
  private readonly catalog = new ReportCatalog();
  private readonly faults = new FaultBook();
  private readonly log = new RequestLog();
  private readonly sockets = new SocketRegistry();
  private readonly links: DownloadLinks;
  private readonly api: SimulatedApi;
  private readonly failures: Error[] = [];

  constructor(private readonly options: ConnectlySimulatorOptions) {
    this.now = options.now ?? Date.now;
    this.links = new DownloadLinks(() => this.baseUrl, this.now);
    this.api = new SimulatedApi({
      businessId: options.businessId,
      apiKey: options.apiKey,
      catalog: this.catalog,
      sign: (run) => this.links.sign(run.reportId, run.runId, options.apiUrlTtlMs ?? defaultUrlTtlMs),
      now: () => new Date(this.now()),
    });
  }

  get port(): number {
    return this.listeningPort;
  }

  /** `https://localhost:{port}`: both the download host and the API base URL. */
  get baseUrl(): string {
    const host = this.options.publicHost ?? 'localhost';
    return `https://${host.includes(':') ? `[${host}]` : host}:${this.listeningPort}`;
  }

  /** The test CA that signed the server certificate, for clients to trust. */
  get ca(): Buffer {
    return this.requireTls().ca;
  }

  get caFile(): string {
    return this.requireTls().caFile;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('the simulator is already started');
    this.tls = await ensureTestTls(this.options.tlsDir);

    const server = createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => this.onRequest(req, res));
    server.on('connection', (socket: Socket) => this.sockets.track(socket));
    await listen(server, this.options.port ?? 0, this.options.host ?? '127.0.0.1');

    this.server = server;
    this.listeningPort = (server.address() as AddressInfo).port;
  }

  /** Closes the listener and every socket, stalled ones included. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;

    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    this.sockets.destroyAll();
    await closed;
  }

  /** Adds a run; the run added last is its report's `lastRun`. Re-adding a run id replaces it. */
  addRun(input: AddRunInput): SimulatedRun {
    return this.catalog.add(input, new Date(this.now()));
  }

  signedUrl(reportId: string, runId: string, ttlMs: number): string {
    return this.links.sign(reportId, runId, ttlMs).url;
  }

  signedLink(reportId: string, runId: string, ttlMs: number): SignedLink {
    return this.links.sign(reportId, runId, ttlMs);
  }

  /** The documented snake_case webhook for a run, with a newly signed URL when the run is completed. */
  webhookPayload(reportId: string, runId: string, options: WebhookPayloadOptions = {}): ConnectlyWebhookPayload {
    const run = this.requireRun(reportId, runId);
    const link =
      run.status === 'completed' ? this.signedLink(reportId, runId, options.ttlMs ?? defaultUrlTtlMs) : undefined;

    return buildWebhookPayload(run, link, new Date(this.now()), options);
  }

  /** POSTs a payload (an object is sent as JSON; a string or Buffer byte for byte) and returns the answer. */
  async sendWebhook(
    targetUrl: string,
    payload: ConnectlyWebhookPayload | string | Buffer,
    headers?: OutgoingHttpHeaders,
  ): Promise<WebhookResponse> {
    const body = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    return postWebhook(targetUrl, body, { headers, ca: this.tls?.ca });
  }

  setDownloadFault(reportId: string, runId: string, fault: DownloadFault | null): void {
    this.faults.set(reportId, runId, fault);
  }

  /** A fault for every run that has none of its own. */
  setGlobalDownloadFault(fault: DownloadFault | null): void {
    this.faults.setGlobal(fault);
  }

  setApiFault(fault: ApiFault | null): void {
    this.api.setFault(fault);
  }

  requests(): readonly RecordedRequest[] {
    return this.log.requests();
  }

  /** Every request for this run's download path, refused ones included. */
  downloadCount(reportId: string, runId: string): number {
    const path = DownloadLinks.path(reportId, runId);
    return this.log.requests().filter((request) => request.path === path).length;
  }

  /** Reports API calls (`GET …/reporting/reports`). */
  apiCallCount(): number {
    return this.log.requests().filter((request) => SimulatedApi.isReportsCall(request.method, request.path)).length;
  }

  /** The downloads served for a run (signature accepted), oldest first. */
  downloads(reportId: string, runId: string): readonly DownloadRecord[] {
    return this.log.downloads(reportId, runId);
  }

  /** Bytes written by the latest download of this run. */
  bytesWritten(reportId: string, runId: string): number {
    return this.latestDownload(reportId, runId)?.bytesWritten ?? 0;
  }

  /** Epoch milliseconds of each write of the latest download of this run. */
  writeTimes(reportId: string, runId: string): number[] {
    return this.latestDownload(reportId, runId)?.writes.map((write) => write.at) ?? [];
  }

  registeredWebhooks(): readonly WebhookRegistration[] {
    return this.api.registeredWebhooks();
  }

  /** Errors the simulator hit while answering (a missing body file, say), so a test can fail on them. */
  errors(): readonly Error[] {
    return [...this.failures];
  }

  /** Forgets runs, faults, records and registrations; the server keeps running. */
  reset(): void {
    this.catalog.clear();
    this.faults.clear();
    this.log.clear();
    this.api.clear();
    this.failures.length = 0;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((error: unknown) => this.fail(res, error));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://simulator.invalid');
    this.log.record(req, url, new Date(this.now()));

    if (url.pathname.startsWith('/downloads/')) return this.download(req, res, url);
    if (url.pathname.startsWith('/v1/')) return this.api.handle(req, res, url);
    sendJsonError(res, 404, 'NOT_FOUND', 'no such endpoint');
  }

  private async download(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key = DownloadLinks.parsePath(url.pathname);
    if (!key) return sendXml(res, 404, s3ErrorXml('NoSuchKey', 'The specified key does not exist.'));
    if (req.method !== 'GET') return sendXml(res, 405, s3ErrorXml('MethodNotAllowed', 'Only GET is allowed.'));

    const verdict = this.links.verify(url.pathname, url.searchParams);
    if (verdict === 'bad-signature') return sendXml(res, 403, s3ErrorXml('AccessDenied', 'Signature does not match'));
    if (verdict === 'expired') return sendXml(res, 403, s3ErrorXml('AccessDenied', 'Request has expired'));

    const run = this.catalog.find(key.reportId, key.runId);
    if (!run) return sendXml(res, 404, s3ErrorXml('NoSuchKey', 'The specified key does not exist.'));

    const fault = this.faults.take(key.reportId, key.runId);
    const record = this.log.startDownload(key.reportId, key.runId, fault, new Date(this.now()));
    await respondToDownload(await this.exchange(res, run, record), fault);
  }

  private async exchange(res: ServerResponse, run: SimulatedRun, record: DownloadRecord): Promise<DownloadExchange> {
    const closed = new AbortController();
    res.once('finish', () => (record.finished = true));
    res.once('close', () => {
      record.closedAt = new Date(this.now());
      closed.abort();
    });

    const writer = new DownloadWriter(res, record, closed.signal);
    const cut = (mode: 'fin' | 'reset'): Promise<void> => this.cut(res, writer, mode, closed.signal);
    return { res, body: await openRunBody(run.body), writer, closed: closed.signal, cut };
  }

  private async cut(
    res: ServerResponse,
    writer: DownloadWriter,
    mode: 'fin' | 'reset',
    closed: AbortSignal,
  ): Promise<void> {
    await writer.flushed();
    const socket = res.socket;
    if (!socket) return;
    if (mode === 'fin') return void socket.end();

    // A reset in the same turn as the last TLS write reached the peer as a clean close in our sandbox (gVisor):
    // one timer turn lets the records leave first.
    await abortableDelay(10, closed);
    this.sockets.reset(socket);
  }

  private fail(res: ServerResponse, error: unknown): void {
    this.failures.push(isNativeError(error) ? error : new Error(String(error)));

    if (!res.headersSent) sendJsonError(res, 500, 'SIMULATOR_ERROR', 'the simulator failed to answer');
    else res.destroy();
  }

  private latestDownload(reportId: string, runId: string): DownloadRecord | undefined {
    return this.log.downloads(reportId, runId).at(-1);
  }

  private requireRun(reportId: string, runId: string): SimulatedRun {
    const run = this.catalog.find(reportId, runId);
    if (!run) throw new Error(`no run ${runId} of report ${reportId}; add it with addRun first`);
    return run;
  }

  private requireTls(): TestTls {
    if (!this.tls) throw new Error('the simulator is not started');
    return this.tls;
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
