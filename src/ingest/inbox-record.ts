import { CompletedRunWebhook } from '../webhook/connectly-webhook.dto';

/** What the webhook endpoint writes to the inbox topic, one record per accepted delivery. */
export interface InboxRecord {
  version: 1;
  eventId: string;
  receivedAt: string;
  requestId: string;
  traceparent: string;
  webhook: CompletedRunWebhook;
}

export function eventIdOf(reportId: string, runId: string): string {
  return `${reportId}:${runId}`;
}

/** Parses an inbox record, returning undefined for a value no version of the service would write. */
export function parseInboxRecord(value: Buffer | null): InboxRecord | undefined {
  if (value === null) return undefined;
  try {
    const record = JSON.parse(value.toString('utf8')) as Partial<InboxRecord>;
    const run = record.webhook?.report?.last_run;
    if (record.version !== 1 || typeof run?.id !== 'string' || typeof run.result?.url !== 'string') return undefined;
    return record as InboxRecord;
  } catch {
    return undefined;
  }
}
