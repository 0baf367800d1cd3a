/**
 * `npm run bench`: every benchmark in turn, then one Markdown table with every figure beside its baseline and
 * target, and the whole run as JSON under bench/results/. `--smoke` runs them all tiny and short, to prove in CI
 * that they still work; `--quiet-below N` waits before each for the load average to drop under N.
 *
 *   tsx bench/run-all.ts [--smoke] [--quiet-below 1.5]
 */
import { runAck } from './ack';
import { runBacklog } from './backlog';
import { runBigFile } from './big-file';
import { runE2eLatency } from './e2e-latency';
import { log } from './lib/main';
import { benchOptions, type BenchOptions } from './lib/options';
import { machine, markdownTable, meets, writeResult, type BenchResult } from './lib/report';

const BENCHMARKS: Array<[string, (options: BenchOptions) => Promise<BenchResult>]> = [
  ['ack', runAck],
  ['e2e-latency', runE2eLatency],
  ['big-file', runBigFile],
  ['backlog', runBacklog],
];

async function main(): Promise<void> {
  const options = benchOptions();
  const started = new Date();
  const results: BenchResult[] = [];
  const failures: string[] = [];
  for (const [name, bench] of BENCHMARKS) {
    log('run-all', `${name}${options.smoke ? ' (smoke)' : ''}`);
    await bench(options).then(
      (result) => results.push(result),
      (error: unknown) => failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  const host = machine();
  const file = writeResult(options.smoke ? 'run-all-smoke' : 'run-all', {
    startedAt: started.toISOString(),
    machine: host,
    results,
    failures,
  });
  const missed = results.flatMap((result) => result.figures.filter((figure) => meets(figure) === false));
  process.stdout.write(
    [
      `\n## Benchmarks, ${started.toISOString()}${options.smoke ? ' (smoke: sizes too small to compare)' : ''}`,
      `machine: ${host.cores} cores (${host.cpu}), ${host.memoryGiB} GiB, node ${host.node}, ${host.platform}`,
      `load average at the start of each: ${results.map((result) => `${result.name} ${result.loadAverage.start}`).join(', ')}`,
      '',
      markdownTable(results),
      '',
      `targets missed: ${missed.length}; benchmarks that failed to run: ${failures.length}`,
      ...failures.map((failure) => `- ${failure}`),
      `results: ${file}`,
      '',
    ].join('\n'),
  );
  // A smoke run proves the benchmarks run; a missed target in one is no failure, since its sizes are too small to tell.
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`run-all failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
