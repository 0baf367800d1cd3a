import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopics } from '../../scripts/stack/stack';
import { ensureServiceBuilt } from './build-once';

const REPO_ROOT = resolve(__dirname, '..', '..');
const LOG_DIR = join(REPO_ROOT, '.cache', 'e2e-logs');
const READY_TIMEOUT_MS = 90_000;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildServiceOptions {
  /** Names the log file under `.cache/e2e-logs/`. */
  name: string;
  /** What to wait for before resolving: readiness (default) or liveness only. */
  waitFor?: 'ready' | 'live';
  /** Create the env's three topics first (default true), as the in-process harness does. */
  createTopics?: boolean;
}

/**
 * The built service (`node dist/main.js`) as a real child process, so a test can SIGKILL or SIGTERM it.
 * Its stdout and stderr go to a log file; logs are at `info` unless the env asks for another non-silent level.
 */
export class ChildService {
  private exitValue?: ChildExit;
  private readonly exit: Promise<ChildExit>;

  constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
    readonly logFile: string,
    readonly env: Record<string, string>,
  ) {
    this.exit = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.exitValue = { code, signal };
        resolveExit(this.exitValue);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the process ended, or undefined while it runs. */
  get exited(): ChildExit | undefined {
    return this.exitValue;
  }

  kill(signal: 'SIGKILL' | 'SIGTERM'): void {
    if (this.exitValue === undefined) this.child.kill(signal);
  }

  /** Resolves with how the process ended; rejects if it is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ChildExit> {
    const timeout = sleep(timeoutMs, 'timeout' as const, { ref: false });
    const outcome = await Promise.race([this.exit, timeout]);
    if (outcome === 'timeout') throw new Error(`The service (pid ${this.pid}) did not exit within ${timeoutMs} ms`);
    return outcome;
  }

  /** For afterAll: SIGKILL if still running, and wait for the exit. */
  async stop(): Promise<void> {
    if (this.exitValue !== undefined) return;
    this.child.kill('SIGKILL');
    await this.exit;
  }

  logText(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  /** The JSON log lines, parsed; lines that are not JSON are kept as `{ msg: line }`. */
  logLines(): Array<Record<string, unknown>> {
    return this.logText()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return { msg: line };
        }
      });
  }

  async probe(path: string): Promise<{ status: number; body: string } | undefined> {
    try {
      const response = await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(5000) });
      return { status: response.status, body: await response.text() };
    } catch {
      return undefined;
    }
  }

  async waitUntil(path: '/health/ready' | '/health/live', timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
      if (this.exitValue !== undefined) {
        throw new Error(
          `The service exited (${JSON.stringify(this.exitValue)}) before ${path} answered 200:\n${this.tail()}`,
        );
      }
      if ((await this.probe(path))?.status === 200) return;
      await sleep(delay);
    }
    throw new Error(`The service did not answer 200 on ${path} within ${timeoutMs} ms:\n${this.tail()}`);
  }

  tail(lines = 30): string {
    return this.logText().split('\n').slice(-lines).join('\n');
  }
}

let started = 0;

/** Builds the service if needed, starts it on a free loopback port with exactly this env, and waits for it. */
export async function startChildService(
  env: Record<string, string>,
  options: ChildServiceOptions,
): Promise<ChildService> {
  const mainJs = await ensureServiceBuilt();
  if (options.createTopics !== false) {
    await createTopics(env.KAFKA_BROKERS, [env.TOPIC_INBOX, env.TOPIC_REPORT_READY, env.TOPIC_REPORT_FAILED]);
  }
  const port = await freePort();
  mkdirSync(LOG_DIR, { recursive: true });
  started += 1;
  const logFile = join(LOG_DIR, `${options.name}-${new Date().toISOString().replace(/[:.]/g, '-')}-${started}.log`);
  const out = openSync(logFile, 'a');
  const childEnv = {
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: env.LOG_LEVEL === undefined || env.LOG_LEVEL === 'silent' ? 'info' : env.LOG_LEVEL,
    PATH: process.env.PATH ?? '',
  };

  try {
    const child = spawn(process.execPath, [mainJs], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', out, out] });
    const service = new ChildService(child, `http://127.0.0.1:${port}`, logFile, env);
    await service.waitUntil(options.waitFor === 'live' ? '/health/live' : '/health/ready').catch(async (error) => {
      await service.stop();
      throw error;
    });
    return service;
  } finally {
    closeSync(out);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
