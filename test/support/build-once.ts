import { spawn } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { eventually } from './eventually';

const REPO_ROOT = resolve(__dirname, '..', '..');
const BUILD_INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
/**
 * A private build, not `dist/`: `nest build` there deletes the directory first, so a build started by someone
 * else while a test's child process runs (or the incremental-build bug that re-emits only changed files after the
 * delete) would pull files from under it. The service reads repository files relative to its own location
 * (`dist/common/../../package.json`, `docs/`), so the build root mirrors the repository's top level with links.
 */
const BUILD_ROOT = join(REPO_ROOT, '.cache', 'e2e-service');
const OUT_DIR = join(BUILD_ROOT, 'dist');
const STAMP = join(BUILD_ROOT, 'inputs-mtime.txt');
const LOCK_DIR = join(REPO_ROOT, '.cache', 'e2e-build.lock');
const BUILD_TIMEOUT_MS = 240_000;
/** Sources and caches are not mirrored: tools that walk `.cache/` must not meet a second copy of the code. */
const NOT_MIRRORED = new Set(['dist', '.cache', '.git', 'node_modules', 'src', 'test', 'scripts', 'bench']);

let built: Promise<string> | undefined;

/**
 * The service's entry point, compiled from src/ with tsconfig.build.json, as `nest build` does. Built at most once
 * per jest worker, so that a process restarted by a test runs the same code as the one it replaced.
 */
export function ensureServiceBuilt(): Promise<string> {
  built ??= buildIfStale();
  return built;
}

async function buildIfStale(): Promise<string> {
  const mainJs = join(OUT_DIR, 'main.js');
  await withBuildLock(async () => {
    const inputsMtime = newestModification(BUILD_INPUTS.map((input) => join(REPO_ROOT, input)));
    if (readStamp() < inputsMtime || modifiedAt(mainJs) === undefined) {
      await compile();
      writeFileSync(STAMP, String(inputsMtime));
    }
    mirrorRepositoryTopLevel();
  });

  return mainJs;
}

async function compile(): Promise<void> {
  const staging = `${OUT_DIR}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  await run(process.execPath, [
    join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    join(REPO_ROOT, 'tsconfig.build.json'),
    '--outDir',
    staging,
    '--incremental',
    'false',
    '--declaration',
    'false',
  ]);
  rmSync(OUT_DIR, { recursive: true, force: true });
  renameSync(staging, OUT_DIR);
}

function mirrorRepositoryTopLevel(): void {
  for (const name of readdirSync(REPO_ROOT)) {
    const link = join(BUILD_ROOT, name);
    if (NOT_MIRRORED.has(name) || name.endsWith('.tsbuildinfo')) continue;
    if (lstatSync(link, { throwIfNoEntry: false }) !== undefined) continue;
    symlinkSync(join(REPO_ROOT, name), link);
  }
}

function readStamp(): number {
  try {
    return Number(readFileSync(STAMP, 'utf8'));
  } catch {
    return 0;
  }
}

function modifiedAt(path: string): number | undefined {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs;
}

function newestModification(paths: string[]): number {
  return Math.max(
    0,
    ...paths.map((path) => {
      const stats = statSync(path, { throwIfNoEntry: false });
      if (stats === undefined) return 0;
      if (!stats.isDirectory()) return stats.mtimeMs;
      return Math.max(stats.mtimeMs, newestModification(readdirSync(path).map((name) => join(path, name))));
    }),
  );
}

/** One build at a time across jest workers and runs: mkdir is atomic; a lock older than any build was abandoned. */
async function withBuildLock(work: () => Promise<void>): Promise<void> {
  mkdirSync(BUILD_ROOT, { recursive: true });
  await eventually(
    'the e2e build lock',
    () => {
      try {
        mkdirSync(LOCK_DIR);
        return true;
      } catch {
        const lockedAt = modifiedAt(LOCK_DIR);
        if (lockedAt !== undefined && Date.now() - lockedAt > BUILD_TIMEOUT_MS) rmSync(LOCK_DIR, { recursive: true });
        return undefined;
      }
    },
    BUILD_TIMEOUT_MS + 10_000,
  );
  try {
    await work();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);

    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolveRun();
      const tail = Buffer.concat(output).toString('utf8').slice(-4000);
      reject(new Error(`Building the service for e2e tests failed (${code ?? signal}):\n${tail}`));
    });
  });
}
