import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from './report';

/** A process under test: its output goes to a log file, and it is always stopped by its own pid. */
export class Child {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  constructor(
    private readonly process: ChildProcess,
    readonly name: string,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) =>
      process.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
  }

  get pid(): number {
    if (this.process.pid === undefined) throw new Error(`${this.name} has no pid: it did not start`);
    return this.process.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Polls `url` until it answers 200; fails early, with the log's tail, if the process exits first. */
  async waitForOk(url: string, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
      if (!this.running)
        throw new Error(`${this.name} exited with ${this.exitCode} before ${url} answered:\n${this.tail()}`);
      const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200) return;
      await sleep(delay);
    }
    throw new Error(`${this.name} did not answer 200 on ${url} within ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** Resolves when the process has exited; rejects (leaving it running) after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<number | null> {
    const outcome = await Promise.race([this.exited.then(() => 'exited'), sleep(timeoutMs, 'late', { ref: false })]);
    if (outcome === 'late') throw new Error(`${this.name} did not exit within ${timeoutMs} ms`);
    return this.exitCode ?? null;
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(graceMs = 30_000): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGTERM');
    const outcome = await Promise.race([this.exited.then(() => 'exited'), sleep(graceMs, 'late')]);
    if (outcome === 'late') {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }

  tail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

export interface SpawnOptions {
  readonly name: string;
  readonly args: string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
}

/** Starts `node <args>` from the repository root with exactly this environment. */
export function spawnNode(options: SpawnOptions): Child {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const out = openSync(options.logFile, 'a');
  try {
    const child = spawn(process.execPath, options.args, {
      cwd: REPO_ROOT,
      env: options.env,
      stdio: ['ignore', out, out],
    });
    return new Child(child, options.name, options.logFile);
  } finally {
    closeSync(out);
  }
}

/** The first port from `from` on that nothing listens on at 127.0.0.1 (3000 and 3900 are others' to use). */
export async function freePort(from = 3950): Promise<number> {
  for (let port = from; port < from + 200; port++) {
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${from}-${from + 199}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
