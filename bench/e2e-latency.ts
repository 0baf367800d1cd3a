/**
 * End to end: from sending the webhook to the report-ready event reaching a downstream consumer, for a 1 MB and
 * a 100 MB campaign CSV, one run at a time, with the service's default settings. 50 runs of 1 MB; 10 of 100 MB,
 * since each moves 100 MB through TLS, the service and S3 (a few seconds a run); --smoke runs 2 of 100 KB.
 *
 *   tsx bench/e2e-latency.ts [--smoke]
 */
import type { ConnectlySimulator } from '../test/simulator/connectly-simulator';
import { campaignCsvBuffer, estimateCampaignCsvRows } from '../test/fixtures/campaign-csv';
import type { RunBody } from '../test/simulator/report-catalog';
import { benchStack, cleanUp, createIsolatedTopics, isolation } from './lib/bench-stack';
import { completedRun, startConnectly } from './lib/connectly';
import { EventWatch } from './lib/event-watch';
import { cachedCampaignCsv } from './lib/fixtures';
import { log, runAlone } from './lib/main';
import { waitForQuiet, type BenchOptions } from './lib/options';
import { benchResult, type BenchResult, type Figure, type RunContext } from './lib/report';
import { startService, type RunningService } from './lib/service';
import { summarize, type LatencySummary } from './lib/stats';

const NAME = 'e2e-latency';
const RUN_TIMEOUT_MS = 120_000;

interface Case {
  label: string;
  runs: number;
  body: () => Promise<{ body: RunBody; bytes: number }>;
  target?: Figure['target'];
}

interface CaseResult {
  label: string;
  bytes: number;
  runs: number;
  ackMs: LatencySummary;
  webhookToEventMs: LatencySummary;
  failures: number;
}

function cases(smoke: boolean): Case[] {
  if (smoke) return [{ label: '100 KB', runs: 2, body: () => inMemory(100_000) }];
  return [
    { label: '1 MB', runs: 50, body: () => inMemory(1_000_000), target: { op: '<', value: 200 } },
    { label: '100 MB', runs: 10, body: () => onDisk('campaign-100mb', 100_000_000) },
  ];
}

async function inMemory(bytes: number): Promise<{ body: RunBody; bytes: number }> {
  const body = campaignCsvBuffer({ rows: estimateCampaignCsvRows(bytes, { seed: 5 }), seed: 5 });
  return Promise.resolve({ body, bytes: body.length });
}

async function onDisk(name: string, bytes: number): Promise<{ body: RunBody; bytes: number }> {
  const cached = await cachedCampaignCsv(name, bytes);
  return { body: { file: cached.file }, bytes: cached.bytes };
}

export async function runE2eLatency(options: BenchOptions): Promise<BenchResult> {
  const loadAtStart = await waitForQuiet(options, (line) => log(NAME, line));
  const startedAt = new Date();
  const stack = await benchStack();
  const names = isolation(NAME);
  await createIsolatedTopics(stack, names);
  const connectly = await startConnectly();
  const events = EventWatch.forOutcomes(stack.kafkaBrokers, names);

  try {
    await events.start();
    const service = await startService(stack, names, connectly);
    const results: CaseResult[] = [];
    try {
      for (const item of cases(options.smoke))
        results.push(await measureCase(item, { connectly, service, events, runId: names.runId }));
    } finally {
      await service.child.stop(10_000);
    }
    return result({ startedAt, loadAtStart, options }, results);
  } finally {
    await events.stop().catch(() => undefined);
    await connectly.stop();
    await cleanUp(stack, names);
  }
}

interface Rig {
  connectly: ConnectlySimulator;
  service: RunningService;
  events: EventWatch;
  runId: string;
}

async function measureCase(item: Case, rig: Rig): Promise<CaseResult> {
  const { body, bytes } = await item.body();
  const ack: number[] = [];
  const toEvent: number[] = [];
  let failures = 0;
  for (let run = 0; run < item.runs; run++) {
    const timing = await oneRun(rig, `rep-${item.label.replace(/\W/g, '')}-${run}`, body);
    ack.push(timing.ackMs);
    toEvent.push(timing.eventMs);
    if (!timing.ready) failures += 1;
  }
  const webhookToEventMs = summarize(toEvent);
  log(NAME, `${item.label}: p50 ${webhookToEventMs.p50} ms, p95 ${webhookToEventMs.p95} ms over ${item.runs} runs`);
  return { label: item.label, bytes, runs: item.runs, ackMs: summarize(ack), webhookToEventMs, failures };
}

/** One webhook, timed from just before it is sent to the moment the consumer has its event. */
async function oneRun(
  rig: Rig,
  reportId: string,
  body: RunBody,
): Promise<{ ackMs: number; eventMs: number; ready: boolean }> {
  const payload = completedRun(rig.connectly, reportId, 'run-1', body);
  const started = performance.now();
  const answer = await rig.connectly.sendWebhook(rig.service.webhookUrl, payload);
  const ackMs = performance.now() - started;
  if (answer.status !== 202)
    throw new Error(`the webhook for ${reportId} was answered ${answer.status}: ${answer.body}`);

  const event = await rig.events.waitFor(`${reportId}:run-1`, RUN_TIMEOUT_MS);
  return { ackMs, eventMs: event.atMs - started, ready: event.topic.endsWith('report-ready') };
}

type Context = RunContext;

function result(context: Context, results: CaseResult[]): BenchResult {
  const target = new Map(cases(context.options.smoke).map((item) => [item.label, item.target]));
  const figures: Figure[] = results.flatMap((item) => [
    {
      label: `webhook to report-ready p50, ${item.label}`,
      value: item.webhookToEventMs.p50,
      unit: 'ms',
      target: target.get(item.label),
      note: `${item.runs} runs`,
    },
    {
      label: `webhook to report-ready p95, ${item.label}`,
      value: item.webhookToEventMs.p95,
      unit: 'ms',
      note: `${item.runs} runs`,
    },
    { label: `runs that failed, ${item.label}`, value: item.failures, unit: '', target: { op: '==', value: 0 } },
  ]);
  return benchResult(NAME, context, figures, { cases: results });
}

if (require.main === module) runAlone(NAME, runE2eLatency);
