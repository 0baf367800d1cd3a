/**
 * Backlog: 1,000 webhooks for 1,000 small campaign CSVs accepted in one burst, with the service's default settings
 * (2 runs at a time) and links that expire 5 minutes after signing, as the simulated Connectly's do: the time until
 * every run is archived and announced, and the proof that none failed, by link expiry or otherwise, while it
 * waited its turn. --smoke sends 20.
 *
 *   tsx bench/backlog.ts [--smoke]
 */
import { Pool } from 'undici';
import type { ConnectlySimulator } from '../test/simulator/connectly-simulator';
import { campaignCsvBuffer } from '../test/fixtures/campaign-csv';
import { benchStack, cleanUp, createIsolatedTopics, isolation } from './lib/bench-stack';
import { completedRun, startConnectly } from './lib/connectly';
import { EventWatch, type SeenEvent } from './lib/event-watch';
import { log, runAlone } from './lib/main';
import { waitForQuiet, type BenchOptions } from './lib/options';
import { benchResult, type BenchResult, type Figure, type RunContext } from './lib/report';
import { startService, type RunningService } from './lib/service';
import { round } from './lib/stats';

const NAME = 'backlog';
const ROWS_PER_CSV = 30;

interface Drain {
  webhooks: number;
  accepted: number;
  acceptedInMs: number;
  drainedInMs: number;
  ready: number;
  failed: number;
  failureReasons: Record<string, number>;
  linkExpired: number;
  refreshedLinks: number;
  reportsApiCalls: number;
  downloadsRefused: number;
}

export async function runBacklog(options: BenchOptions): Promise<BenchResult> {
  const loadAtStart = await waitForQuiet(options, (line) => log(NAME, line));
  const startedAt = new Date();
  const count = options.smoke ? 20 : 1000;
  const stack = await benchStack();
  const names = isolation(NAME);
  await createIsolatedTopics(stack, names);
  const connectly = await startConnectly();
  const events = EventWatch.forOutcomes(stack.kafkaBrokers, names);

  try {
    await events.start();
    const service = await startService(stack, names, connectly);
    const drain = await burst(connectly, service, events, count).finally(() => service.child.stop(10_000));
    log(NAME, `${drain.ready} ready, ${drain.failed} failed, drained in ${drain.drainedInMs} ms`);
    return result({ startedAt, loadAtStart, options }, drain);
  } finally {
    await events.stop().catch(() => undefined);
    await connectly.stop();
    await cleanUp(stack, names);
  }
}

function reportIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `rep-backlog-${index}`);
}

/** Sends every webhook at once, then waits for one event per run; bounded by a deadline that scales with the count. */
async function burst(
  connectly: ConnectlySimulator,
  service: RunningService,
  events: EventWatch,
  count: number,
): Promise<Drain> {
  const ids = reportIds(count);
  const payloads = ids.map((id, index) =>
    completedRun(connectly, id, 'run-1', campaignCsvBuffer({ rows: ROWS_PER_CSV, seed: index + 1 })),
  );
  const pool = new Pool(new URL(service.webhookUrl).origin, { connections: 64 });
  const started = performance.now();
  try {
    const statuses = await Promise.all(payloads.map((body) => post(pool, new URL(service.webhookUrl).pathname, body)));
    const acceptedInMs = performance.now() - started;
    await events.waitForCount(count, 60_000 + count * 600);
    return summarize(connectly, events, {
      ids,
      started,
      acceptedInMs,
      accepted: statuses.filter((status) => status === 202).length,
    });
  } finally {
    await pool.close();
  }
}

async function post(pool: Pool, path: string, body: string): Promise<number> {
  const response = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await response.body.dump();
  return response.statusCode;
}

function summarize(
  connectly: ConnectlySimulator,
  events: EventWatch,
  sent: { ids: string[]; started: number; acceptedInMs: number; accepted: number },
): Drain {
  const seen = sent.ids.flatMap((id) => {
    const event = events.seen.get(`${id}:run-1`);
    return event === undefined ? [] : [event];
  });
  const failures = seen.filter((event) => event.topic.endsWith('report-failed'));
  const reasons = countBy(failures.map((event) => String(event.data.reason)));
  const served = sent.ids.reduce((total, id) => total + connectly.downloads(id, 'run-1').length, 0);
  const requested = sent.ids.reduce((total, id) => total + connectly.downloadCount(id, 'run-1'), 0);
  return {
    webhooks: sent.ids.length,
    accepted: sent.accepted,
    acceptedInMs: round(sent.acceptedInMs, 0),
    drainedInMs:
      seen.length === sent.ids.length
        ? round(Math.max(...seen.map((event) => event.atMs)) - sent.started, 0)
        : Number.NaN,
    ready: seen.length - failures.length,
    failed: failures.length,
    failureReasons: reasons,
    linkExpired: reasons['link-expired'] ?? 0,
    refreshedLinks: seen.filter(refreshed).length,
    reportsApiCalls: connectly.apiCallCount(),
    downloadsRefused: requested - served,
  };
}

function refreshed(event: SeenEvent): boolean {
  const provenance = event.data.provenance as { urlRefreshed?: boolean } | undefined;
  return provenance?.urlRefreshed === true;
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

type Context = RunContext;

function result(context: Context, drain: Drain): BenchResult {
  const n = drain.webhooks;
  const figures: Figure[] = [
    {
      label: `${n} webhooks drained (all archived and announced)`,
      value: round(drain.drainedInMs / 1000, 1),
      unit: 's',
      target: { op: '<', value: 60 },
    },
    { label: `${n} webhooks accepted in one burst`, value: round(drain.acceptedInMs / 1000, 2), unit: 's' },
    { label: 'report-ready events', value: drain.ready, unit: '', target: { op: '==', value: n } },
    { label: 'report-failed events', value: drain.failed, unit: '', target: { op: '==', value: 0 } },
    { label: 'runs failed with link-expired', value: drain.linkExpired, unit: '', target: { op: '==', value: 0 } },
    {
      label: 'runs whose link was refreshed before downloading',
      value: drain.refreshedLinks,
      unit: '',
      note: 'not a failure',
    },
  ];
  return benchResult(NAME, context, figures, { drain, rowsPerCsv: ROWS_PER_CSV });
}

if (require.main === module) runAlone(NAME, runBacklog);
