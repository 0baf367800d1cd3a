import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { AppConfig } from '../config/app-config';
import { DependencyLog } from '../common/dependency-log';
import { IngestError } from '../common/ingest-errors';
import { retryAfterMs } from './report-download.client';

const REQUEST_TIMEOUT_MS = 10_000;
const RESPONSE_LIMIT = 4 * 1024 * 1024;

export interface FreshLink {
  url: string;
  expiresAt: string;
  createdAt: string;
}

interface ReportsResponse {
  data?: Array<{
    id?: string;
    lastRun?: { id?: string; status?: string; result?: { url?: string; expiresAt?: string; createdAt?: string } };
  }>;
}

/** Connectly's Reports API: the only source of a fresh signed link for a run whose link has expired. */
@Injectable()
export class ReportsApiClient implements OnApplicationShutdown {
  private readonly agent: Agent;

  constructor(
    private readonly config: AppConfig,
    private readonly dependencies: DependencyLog,
  ) {
    const caFile = config.download.caFile;
    this.agent = new Agent({ connect: { ca: caFile === undefined ? undefined : readFileSync(caFile) } });
  }

  /** A fresh link for exactly this run; fails with a documented reason when the run can no longer be fetched. */
  async freshLink(
    reportId: string,
    runId: string,
    reportType: string | undefined,
    signal: AbortSignal,
  ): Promise<FreshLink> {
    const body = await this.timed(this.fetchReports(reportType, signal));
    const report = body.data?.find((candidate) => candidate.id === reportId);
    if (report === undefined)
      throw IngestError.permanent('report-not-found', `Report ${reportId} is not in the Reports API`);

    return this.linkOf(reportId, runId, report.lastRun);
  }

  onApplicationShutdown(): Promise<void> {
    return this.agent.close();
  }

  private async timed<T>(call: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call;
      this.dependencies.succeeded('connectly-reports-api', performance.now() - started);
      return result;
    } catch (error) {
      this.dependencies.failed('connectly-reports-api', performance.now() - started, error);
      throw error;
    }
  }

  private async fetchReports(reportType: string | undefined, signal: AbortSignal): Promise<ReportsResponse> {
    const { apiBaseUrl, businessId, apiKey } = this.config.connectly;
    const url = new URL(`${apiBaseUrl}/v1/businesses/${encodeURIComponent(businessId)}/reporting/reports`);
    if (reportType !== undefined) url.searchParams.set('type', reportType);

    const response = await request(url, {
      dispatcher: this.agent,
      headers: { 'x-api-key': apiKey, accept: 'application/json' },
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    }).catch((error: unknown) => {
      throw IngestError.transient(`The Reports API could not be reached: ${String(error)}`, error);
    });
    const text = await readLimited(response.body);
    this.checkStatus(response.statusCode, response.headers['retry-after']);

    return parseJson(text);
  }

  private checkStatus(status: number, retryAfter: string | string[] | undefined): void {
    if (status >= 200 && status < 300) return;
    if (status === 429 || status >= 500) {
      const wait = retryAfterMs(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
      throw IngestError.transient(`The Reports API answered HTTP ${status}`, undefined, wait);
    }

    throw IngestError.permanent('refresh-refused', `The Reports API refused the request with HTTP ${status}`);
  }

  private linkOf(
    reportId: string,
    runId: string,
    lastRun: NonNullable<ReportsResponse['data']>[number]['lastRun'],
  ): FreshLink {
    if (lastRun?.id !== runId) {
      throw new IngestError(`Run ${runId} of report ${reportId} was superseded by run ${lastRun?.id ?? 'unknown'}`, {
        retriable: false,
        reason: 'run-superseded',
        supersededByRunId: lastRun?.id,
      });
    }
    if (lastRun.status === 'failed') throw IngestError.permanent('run-failed', `Run ${runId} failed at Connectly`);

    const result = lastRun.result;
    if (lastRun.status !== 'completed' || result?.url === undefined) {
      throw IngestError.transient(
        `Run ${runId} is ${lastRun.status ?? 'in an unknown state'}`,
        undefined,
        undefined,
        'run-not-ready',
      );
    }

    return { url: result.url, expiresAt: result.expiresAt ?? '', createdAt: result.createdAt ?? '' };
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > RESPONSE_LIMIT) {
      body.destroy();
      throw IngestError.transient(`The Reports API answer is larger than ${RESPONSE_LIMIT} bytes`);
    }
    chunks.push(chunk);
  }

  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): ReportsResponse {
  try {
    return JSON.parse(text) as ReportsResponse;
  } catch (error) {
    throw IngestError.transient('The Reports API answered with a body that is not JSON', error);
  }
}
