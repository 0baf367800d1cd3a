import { readFileSync } from 'node:fs';
import { summarize, type LatencySummary } from './stats';

/**
 * The service's own account of where the time went, to explain a client-side latency: pino-http's responseTime of
 * every webhook answered (from the request's arrival to its answer), from the service's log.
 */
export function responseTimes(logFile: string): LatencySummary {
  const times = [
    ...readFileSync(logFile, 'utf8').matchAll(/"path":"\/webhooks\/connectly"[^\n]*"responseTime":(\d+)/g),
  ];
  return summarize(times.map((match) => Number(match[1])));
}

/** The mean time Kafka took to acknowledge an inbox write, from the service's /metrics. */
export async function inboxPublish(baseUrl: string): Promise<{ count: number; meanMs: number }> {
  const text = await fetch(`${baseUrl}/metrics`).then((response) => response.text());
  const value = (name: string): number =>
    Number(
      new RegExp(`^connectly_ingest_event_publish_duration_seconds_${name}\\{topic="inbox"\\} (\\S+)$`, 'm').exec(
        text,
      )?.[1] ?? NaN,
    );
  const count = value('count');
  return { count, meanMs: Math.round((value('sum') / count) * 1e5) / 100 };
}
