/**
 * The main job end to end on the embedded local stack: Kafka and S3Proxy, the built service as a child
 * process, and a simulated Connectly over HTTPS. Fires one webhook for a generated 10,000-row campaign CSV,
 * waits for report-ready, checks the archived object's SHA-256, prints a summary, and stops everything it started.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeCampaignCsv } from '../test/fixtures/campaign-csv';
import { ConnectlySimulator } from '../test/simulator/connectly-simulator';
import { ensureTestTls } from '../test/simulator/tls';
import { EventCollector } from '../test/support/event-collector';
import { eventually } from '../test/support/eventually';
import { stackDown, stackStatus, stackUp, StackEndpoints } from './stack/stack';

const ROOT = resolve(__dirname, '..');
const WORK_DIR = join(ROOT, '.cache', 'demo');
const ROWS = 10_000;
const PORT = Number(process.env.DEMO_PORT ?? 3900);
const API_KEY = 'demo-api-key-not-a-secret';
const BUSINESS_ID = 'biz_demo';

class DemoFailure extends Error {}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const wasUp = await stackStatus();
  const cleanups: Array<() => Promise<void>> = [];
  if (!wasUp.kafka || !wasUp.s3) cleanups.push(() => stackDown());

  try {
    await run(cleanups);
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => step(`cleanup failed: ${String(error)}`));
  }
}

async function run(cleanups: Array<() => Promise<void>>): Promise<void> {
  step('starting the local stack (Kafka, S3Proxy)');
  const stack = await stackUp({ log: (line) => step(`  ${line}`) });
  const tls = await ensureTestTls();
  const connectly = new ConnectlySimulator({ businessId: BUSINESS_ID, apiKey: API_KEY });
  await connectly.start();
  cleanups.push(() => connectly.stop());

  const runId = `run-${Date.now()}`;
  const source = await addCampaignRun(connectly, runId);
  const service = await startService(stack, connectly.baseUrl, tls.caFile);
  cleanups.push(() => stopService(service));

  const events = new EventCollector(stack.kafkaBrokers, ['connectly.report-ready.v1', 'connectly.report-failed.v1']);
  await events.start();
  cleanups.push(() => events.stop());

  step('sending the webhook');
  const started = performance.now();
  const answer = await connectly.sendWebhook(
    `http://127.0.0.1:${PORT}/webhooks/connectly`,
    connectly.webhookPayload('rep_demo', runId),
  );
  if (answer.status !== 202) throw new DemoFailure(`the webhook was answered ${answer.status}: ${answer.body}`);

  const [event] = await events.waitFor(1, (candidate) => candidate.headers.ce_id === `rep_demo:${runId}`, 120_000);
  const elapsedMs = Math.round(performance.now() - started);
  if (event.topic !== 'connectly.report-ready.v1')
    throw new DemoFailure(`the run failed: ${JSON.stringify(event.data)}`);

  await verifyAndPrint(stack, event.data, source, elapsedMs);
}

async function addCampaignRun(
  connectly: ConnectlySimulator,
  runId: string,
): Promise<{ sha256: string; bytes: number }> {
  await mkdir(WORK_DIR, { recursive: true });
  const file = join(WORK_DIR, 'campaign-report.csv');
  step(`generating a ${ROWS}-row campaign CSV`);
  const written = await writeCampaignCsv(file, { rows: ROWS, seed: 42 });
  connectly.addRun({
    reportId: 'rep_demo',
    reportName: 'Daily Campaign Report',
    reportType: 'campaign.daily.custom',
    runId,
    body: { file },
  });

  return written;
}

async function startService(stack: StackEndpoints, connectlyUrl: string, caFile: string): Promise<ChildProcess> {
  const main = join(ROOT, 'dist', 'main.js');
  if (!existsSync(main))
    throw new DemoFailure('dist/main.js is missing: run `npm run build` first (npm run demo does)');

  step(`starting the service on port ${PORT} (logs in .cache/demo/service.log)`);
  const child = spawn(process.execPath, [main], {
    env: serviceEnv(stack, connectlyUrl, caFile),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(WORK_DIR, 'service.log'));
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new DemoFailure(`the service exited with code ${code}; see .cache/demo/service.log`)),
    ),
  );
  exited.catch(() => undefined);

  await Promise.race([exited, eventually('the service to be ready', () => isReady(), 60_000)]);
  return child;
}

function serviceEnv(stack: StackEndpoints, connectlyUrl: string, caFile: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'development',
    PORT: String(PORT),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: stack.kafkaBrokers,
    S3_BUCKET: stack.bucket,
    S3_ENDPOINT: stack.s3Endpoint,
    S3_REGION: stack.s3Region,
    AWS_ACCESS_KEY_ID: stack.s3AccessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.s3SecretAccessKey,
    CONNECTLY_API_BASE_URL: connectlyUrl,
    CONNECTLY_BUSINESS_ID: BUSINESS_ID,
    CONNECTLY_API_KEY: API_KEY,
    DOWNLOAD_ALLOWED_HOSTS: `localhost:${new URL(connectlyUrl).port}`,
    DOWNLOAD_ALLOW_PRIVATE_ADDRESSES: 'true',
    DOWNLOAD_CA_FILE: caFile,
  };
}

async function isReady(): Promise<true | undefined> {
  const response = await fetch(`http://127.0.0.1:${PORT}/health/ready`);
  return response.ok ? true : undefined;
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(30_000).then(() => child.kill('SIGKILL'))]);
}

async function verifyAndPrint(
  stack: StackEndpoints,
  data: Record<string, unknown>,
  source: { sha256: string; bytes: number },
  elapsedMs: number,
): Promise<void> {
  const archive = data.archive as {
    bucket: string;
    key: string;
    uri: string;
    sizeBytes: number;
    checksum: { value: string };
  };
  const content = data.content as { rowCount: number };
  const storedSha = await sha256OfObject(stack, archive.bucket, archive.key);
  if (storedSha !== source.sha256)
    throw new DemoFailure(`the archived object's SHA-256 ${storedSha} differs from the source's ${source.sha256}`);
  if (archive.checksum.value !== storedSha)
    throw new DemoFailure('the event carries a SHA-256 that differs from the archived object');
  if (content.rowCount !== ROWS) throw new DemoFailure(`the event counts ${content.rowCount} rows, not ${ROWS}`);

  const summary = {
    object: archive.uri,
    bytes: archive.sizeBytes,
    rows: content.rowCount,
    sha256: storedSha,
    webhookToEventMs: elapsedMs,
  };
  process.stdout.write(
    `\nreport archived and announced\n${Object.entries(summary)
      .map(([name, value]) => `  ${name.padEnd(17)} ${value}`)
      .join('\n')}\n\n`,
  );
}

async function sha256OfObject(stack: StackEndpoints, bucket: string, key: string): Promise<string> {
  const s3 = new S3Client({
    endpoint: stack.s3Endpoint,
    region: stack.s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.s3AccessKeyId, secretAccessKey: stack.s3SecretAccessKey },
  });
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const hash = createHash('sha256');
    for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    s3.destroy();
  }
}

function step(message: string): void {
  process.stderr.write(`demo: ${message}\n`);
}

main().catch((error: unknown) => {
  const message =
    error instanceof DemoFailure
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`demo failed: ${message}\n`);
  process.exitCode = 1;
});
