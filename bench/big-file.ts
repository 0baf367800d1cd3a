/**
 * Big files: archiving a 1 GiB campaign CSV, the service's peak resident memory (the kernel's VmHWM, polled
 * with VmRSS) and its throughput, next to a bare pipe of the same download into the same multipart upload
 * (bench/baseline-pipe.ts) and to a plain copy of the same bytes on this disk. --smoke uses 20 MB.
 *
 *   tsx bench/big-file.ts [--smoke]
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { StackEndpoints } from '../scripts/stack/stack';
import type { ConnectlySimulator } from '../test/simulator/connectly-simulator';
import { benchStack, cleanUp, createIsolatedTopics, deletePrefix, isolation, type Isolation } from './lib/bench-stack';
import { spawnNode } from './lib/child';
import { completedRun, startConnectly } from './lib/connectly';
import { EventWatch } from './lib/event-watch';
import { CACHE_DIR, cachedCampaignCsv } from './lib/fixtures';
import { log, runAlone } from './lib/main';
import { RssSampler } from './lib/memory';
import { waitForQuiet, type BenchOptions } from './lib/options';
import { benchResult, REPO_ROOT, type BenchResult, type Figure, type RunContext } from './lib/report';
import { startService } from './lib/service';
import { mbPerSecond, MIB } from './lib/stats';

const NAME = 'big-file';
const TIMEOUT_MS = 20 * 60_000;

interface Transfer {
  ms: number;
  mbPerS: number;
  peakRssMiB: number;
  /** CPU seconds the process used for the transfer: on two cores shared with the sender and S3, what it costs. */
  cpuSeconds: number;
  /** From the first to the last byte the simulator served: the streaming phase alone. */
  downloadMs?: number;
}

export async function runBigFile(options: BenchOptions): Promise<BenchResult> {
  const loadAtStart = await waitForQuiet(options, (line) => log(NAME, line));
  const startedAt = new Date();
  const stack = await benchStack();
  const names = isolation(NAME);
  await createIsolatedTopics(stack, names);
  log(NAME, 'preparing the CSV (cached in .cache/bench/)');
  const source = options.smoke
    ? await cachedCampaignCsv('campaign-20mb', 20_000_000)
    : await cachedCampaignCsv('campaign-1gib', 1024 * MIB);
  const connectly = await startConnectly();

  try {
    const copy = await plainCopy(source.file, source.bytes);
    log(NAME, `plain copy: ${copy.mbPerS} MB/s`);
    const pipe = await pipeBaseline(stack, names, connectly, source);
    log(NAME, `pipe baseline: ${pipe.mbPerS} MB/s, peak RSS ${pipe.peakRssMiB} MiB`);
    const service = await serviceTransfer(stack, names, connectly, source);
    log(NAME, `service: ${service.mbPerS} MB/s, peak RSS ${service.peakRssMiB} MiB`);
    return result({ startedAt, loadAtStart, options, bytes: source.bytes }, { copy, pipe, service });
  } finally {
    await connectly.stop();
    await cleanUp(stack, names);
  }
}

/** The disk's own limit: the same bytes read and written once more on this file system, flushed to the disk. */
async function plainCopy(file: string, bytes: number): Promise<{ ms: number; mbPerS: number }> {
  const target = join(CACHE_DIR, `copy-${process.pid}.tmp`);
  const started = performance.now();
  try {
    await pipeline(createReadStream(file, { highWaterMark: MIB }), createWriteStream(target));
    const handle = await open(target, 'r+');
    await handle.sync().finally(() => handle.close());
    const ms = performance.now() - started;
    return { ms, mbPerS: mbPerSecond(bytes, ms) };
  } finally {
    await rm(target, { force: true });
  }
}

async function pipeBaseline(
  stack: StackEndpoints,
  names: Isolation,
  connectly: ConnectlySimulator,
  source: { file: string; bytes: number },
): Promise<Transfer> {
  completedRun(connectly, 'rep-big-pipe', 'run-1', { file: source.file });
  const resultFile = join(CACHE_DIR, `pipe-${names.runId}.json`);
  const child = spawnNode({
    name: 'baseline-pipe',
    args: ['--import', 'tsx', join(REPO_ROOT, 'bench', 'baseline-pipe.ts')],
    env: {
      PATH: process.env.PATH ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      PIPE_URL: connectly.signedUrl('rep-big-pipe', 'run-1', 5 * 60_000),
      PIPE_CA_FILE: connectly.caFile,
      PIPE_KEY: `${names.prefix}/pipe/${randomUUID()}.csv`,
      PIPE_RESULT_FILE: resultFile,
      S3_ENDPOINT: stack.s3Endpoint,
      S3_REGION: stack.s3Region,
      S3_BUCKET: stack.bucket,
      AWS_ACCESS_KEY_ID: stack.s3AccessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.s3SecretAccessKey,
      // The service's part size and queue, defaults included, so that both upload alike.
      S3_PART_SIZE_MB: process.env.BENCH_SERVICE_ENV_S3_PART_SIZE_MB ?? '5',
      S3_QUEUE_SIZE: process.env.BENCH_SERVICE_ENV_S3_QUEUE_SIZE ?? '2',
    },
    logFile: join(REPO_ROOT, '.cache', 'bench', 'logs', `${names.runId}-pipe.log`),
  });
  const memory = new RssSampler(child.pid).start();
  try {
    await child.waitForExit(TIMEOUT_MS);
    const rss = memory.stop();
    if (!existsSync(resultFile)) throw new Error(`the pipe baseline failed:\n${child.tail()}`);
    const { ms } = JSON.parse(readFileSync(resultFile, 'utf8')) as { ms: number };
    return {
      ms,
      mbPerS: mbPerSecond(source.bytes, ms),
      peakRssMiB: rss.peakMiB,
      cpuSeconds: rss.cpuSeconds,
      downloadMs: servedMs(connectly, 'rep-big-pipe'),
    };
  } finally {
    memory.stop();
    await child.stop(1000);
    await rm(resultFile, { force: true });
    await deletePrefix(stack, `${names.prefix}/pipe/`);
  }
}

async function serviceTransfer(
  stack: StackEndpoints,
  names: Isolation,
  connectly: ConnectlySimulator,
  source: { file: string; bytes: number },
): Promise<Transfer> {
  const events = EventWatch.forOutcomes(stack.kafkaBrokers, names);
  await events.start();
  const service = await startService(stack, names, connectly);
  const memory = new RssSampler(service.child.pid).start();
  try {
    const payload = completedRun(connectly, 'rep-big', 'run-1', { file: source.file });
    const started = performance.now();
    const answer = await connectly.sendWebhook(service.webhookUrl, payload);
    if (answer.status !== 202) throw new Error(`the webhook was answered ${answer.status}: ${answer.body}`);
    const event = await events.waitFor('rep-big:run-1', TIMEOUT_MS);
    const ms = event.atMs - started;
    const rss = memory.stop();
    if (!event.topic.endsWith('report-ready')) throw new Error(`the run failed: ${JSON.stringify(event.data)}`);
    return {
      ms,
      mbPerS: mbPerSecond(source.bytes, ms),
      peakRssMiB: rss.peakMiB,
      cpuSeconds: rss.cpuSeconds,
      downloadMs: servedMs(connectly, 'rep-big'),
    };
  } finally {
    memory.stop();
    await service.child.stop(10_000);
    await events.stop().catch(() => undefined);
  }
}

function servedMs(connectly: ConnectlySimulator, reportId: string): number | undefined {
  const served = connectly.downloads(reportId, 'run-1').at(-1);
  if (served?.closedAt === undefined) return undefined;
  return served.closedAt.getTime() - served.startedAt.getTime();
}

interface Context extends RunContext {
  bytes: number;
}

function result(
  context: Context,
  runs: { copy: { ms: number; mbPerS: number }; pipe: Transfer; service: Transfer },
): BenchResult {
  const { copy, pipe, service } = runs;
  const size = context.options.smoke ? '20 MB' : '1 GiB';
  const pipeLabel = 'bare download → multipart pipe';
  const streaming = (transfer: Transfer): number =>
    transfer.downloadMs === undefined ? Number.NaN : mbPerSecond(context.bytes, transfer.downloadMs);
  const figures: Figure[] = [
    {
      label: `peak RSS archiving ${size}`,
      value: service.peakRssMiB,
      unit: 'MiB',
      baseline: { label: pipeLabel, value: pipe.peakRssMiB },
      target: { op: '<', value: 256 },
    },
    {
      label: `throughput ${size}, webhook to report-ready`,
      value: service.mbPerS,
      unit: 'MB/s',
      baseline: { label: pipeLabel, value: pipe.mbPerS },
      target: { op: '>=', value: 0.9, of: 'ratio' },
    },
    {
      label: `throughput ${size}, streaming phase (first to last byte served)`,
      value: streaming(service),
      unit: 'MB/s',
      baseline: { label: pipeLabel, value: streaming(pipe) },
    },
    {
      label: `CPU seconds used for the transfer, ${size}`,
      value: service.cpuSeconds,
      unit: 's',
      baseline: { label: pipeLabel, value: pipe.cpuSeconds },
      note: 'user + system, from /proc/<pid>/stat',
    },
    { label: `plain copy of the same ${size} (disk limit)`, value: copy.mbPerS, unit: 'MB/s' },
  ];
  return benchResult(NAME, context, figures, { bytes: context.bytes, copy, pipe, service });
}

if (require.main === module) runAlone(NAME, runBigFile);
