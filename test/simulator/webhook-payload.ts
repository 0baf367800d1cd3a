import type { SignedLink } from './download-links';
import type { RunStatus, SimulatedRun } from './report-catalog';

/** The webhook Connectly POSTs when a report run completes (snake_case, as documented). */
export interface ConnectlyWebhookPayload {
  readonly topic: 'report';
  readonly timestamp: string;
  readonly report: {
    readonly id: string;
    readonly name: string;
    readonly type?: string;
    readonly last_run: {
      readonly id: string;
      readonly status: RunStatus;
      readonly result?: { readonly url: string; readonly expires_at: string; readonly created_at: string };
    };
  };
}

/** `type-last` puts `report.type` after `last_run`; `reversed` reverses the keys of every object. */
export type PayloadFieldOrder = 'documented' | 'type-last' | 'reversed';

export interface WebhookPayloadOptions {
  /** How long the signed URL stays valid; negative for one that has already expired. Default 5 minutes. */
  readonly ttlMs?: number;
  /** Older payloads carry no `report.type`. */
  readonly omitType?: boolean;
  readonly fieldOrder?: PayloadFieldOrder;
}

/** ISO 8601 to the second, as in Connectly's examples. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildWebhookPayload(
  run: SimulatedRun,
  link: SignedLink | undefined,
  now: Date,
  options: WebhookPayloadOptions,
): ConnectlyWebhookPayload {
  const result = link && {
    url: link.url,
    expires_at: isoSeconds(link.expiresAt),
    created_at: isoSeconds(run.createdAt),
  };
  const report = {
    id: run.reportId,
    name: run.reportName,
    ...(options.omitType ? {} : { type: run.reportType }),
    last_run: { id: run.runId, status: run.status, ...(result ? { result } : {}) },
  };

  return reorder({ topic: 'report', timestamp: isoSeconds(now), report }, options.fieldOrder ?? 'documented');
}

function reorder(payload: ConnectlyWebhookPayload, order: PayloadFieldOrder): ConnectlyWebhookPayload {
  switch (order) {
    case 'documented':
      return payload;
    case 'type-last': {
      const { type, ...rest } = payload.report;
      return { ...payload, report: { ...rest, ...(type === undefined ? {} : { type }) } };
    }
    case 'reversed':
      return reverseKeys(payload) as ConnectlyWebhookPayload;
  }
}

function reverseKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;

  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, inner]) => [key, reverseKeys(inner)]),
  );
}
