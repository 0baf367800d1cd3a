import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StackEndpoints } from '../../scripts/stack/stack';
import type { Isolation } from './bench-stack';
import { Child, freePort, spawnNode } from './child';
import { REPO_ROOT } from './report';

export const BENCH_BUSINESS_ID = 'biz_bench';
export const BENCH_API_KEY = 'bench-api-key-not-a-secret';

/** The simulated Connectly the service downloads from: its base URL and the CA that signed its certificate. */
export interface ConnectlyEndpoint {
  readonly baseUrl: string;
  readonly caFile: string;
}

export interface RunningService {
  readonly child: Child;
  readonly baseUrl: string;
  readonly webhookUrl: string;
}

/** The built service; BENCH_SERVICE_MAIN points at another build (say, of another commit) to compare. */
export function serviceMain(): string {
  const main = process.env.BENCH_SERVICE_MAIN ?? join(REPO_ROOT, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm run bench does)`);
  return main;
}

/**
 * The service's settings for a benchmark: production mode, default tuning (part size, queue, concurrency,
 * retries, log level), isolated topics and prefix, and the simulated Connectly on loopback. The webhook runs
 * without a caller check, as the bare baseline does; BENCH_SERVICE_ENV_* variables add or override settings.
 */
export function serviceEnv(stack: StackEndpoints, names: Isolation, connectly: ConnectlyEndpoint, port: number) {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: stack.kafkaBrokers,
    KAFKA_CLIENT_ID: names.runId,
    KAFKA_GROUP_ID: names.groupId,
    TOPIC_INBOX: names.topics.inbox,
    TOPIC_REPORT_READY: names.topics.reportReady,
    TOPIC_REPORT_FAILED: names.topics.reportFailed,
    S3_BUCKET: stack.bucket,
    S3_ENDPOINT: stack.s3Endpoint,
    S3_REGION: stack.s3Region,
    S3_PREFIX: `${names.prefix}/reports`,
    S3_MANIFEST_PREFIX: `${names.prefix}/manifests`,
    AWS_ACCESS_KEY_ID: stack.s3AccessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.s3SecretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CONNECTLY_API_BASE_URL: connectly.baseUrl,
    CONNECTLY_BUSINESS_ID: BENCH_BUSINESS_ID,
    CONNECTLY_API_KEY: BENCH_API_KEY,
    // With its port: the service allows only 443 unless the allowed host names another.
    DOWNLOAD_ALLOWED_HOSTS: new URL(connectly.baseUrl).host,
    DOWNLOAD_ALLOW_PRIVATE_ADDRESSES: 'true',
    DOWNLOAD_CA_FILE: connectly.caFile,
    WEBHOOK_ALLOW_UNAUTHENTICATED: 'true',
    ...overrides(),
  };
}

/** BENCH_CPU_PROF=true writes a V8 CPU profile of the service to .cache/bench/profiles/ when it is stopped. */
function profilerArgs(): string[] {
  if (process.env.BENCH_CPU_PROF !== 'true') return [];
  return ['--import', 'tsx', '--require', join(REPO_ROOT, 'bench', 'lib', 'cpu-profile.ts')];
}

function overrides(): Record<string, string> {
  const prefix = 'BENCH_SERVICE_ENV_';
  return Object.fromEntries(
    Object.entries(process.env).flatMap(([name, value]) =>
      name.startsWith(prefix) && value !== undefined ? [[name.slice(prefix.length), value]] : [],
    ),
  );
}

/** Starts `node dist/main.js` on a free port from 3950 and waits until it is ready (consumer in its group). */
export async function startService(
  stack: StackEndpoints,
  names: Isolation,
  connectly: ConnectlyEndpoint,
  extraArgs: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<RunningService> {
  const port = await freePort();
  const child = spawnNode({
    name: 'service',
    args: [...profilerArgs(), ...extraArgs, serviceMain()],
    env: {
      ...serviceEnv(stack, names, connectly, port),
      ...extraEnv,
      BENCH_CPU_PROF_DIR: join(REPO_ROOT, '.cache', 'bench', 'profiles', names.runId),
    },
    logFile: join(REPO_ROOT, '.cache', 'bench', 'logs', `${names.runId}-service.log`),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await child.waitForOk(`${baseUrl}/health/ready`);
  } catch (error) {
    await child.stop(1000);
    throw error;
  }
  return { child, baseUrl, webhookUrl: `${baseUrl}/webhooks/connectly` };
}
