import { InboxRecord } from './inbox-record';

/**
 * Orders a batch of inbox records by deadline: the run whose link expires soonest goes first, so a backlog
 * does not let links expire while fresher ones are served. Deliveries of the same run stay together, in
 * arrival order, so that only the first downloads and the rest find the archive.
 */
export function scheduleByExpiry(records: InboxRecord[]): InboxRecord[][] {
  const byRun = new Map<string, InboxRecord[]>();
  for (const record of records) byRun.set(record.eventId, [...(byRun.get(record.eventId) ?? []), record]);

  return [...byRun.values()].sort((a, b) => earliestExpiry(a) - earliestExpiry(b));
}

function earliestExpiry(group: InboxRecord[]): number {
  const times = group.map((record) => new Date(record.webhook.report.last_run.result.expires_at).getTime());
  const valid = times.filter((time) => !Number.isNaN(time));

  return valid.length === 0 ? Number.NEGATIVE_INFINITY : Math.min(...valid);
}
