import { machine, markdownTable, writeResult, type BenchResult } from './report';
import { benchOptions, type BenchOptions } from './options';

/** Runs one benchmark as a script: parses the options, prints its table, writes its JSON, sets the exit code. */
export function runAlone(name: string, bench: (options: BenchOptions) => Promise<BenchResult>): void {
  const started = Date.now();
  const options = benchOptions();
  bench(options)
    .then((result) => {
      const file = writeResult(options.smoke ? `${name}-smoke` : name, { machine: machine(), ...result });
      process.stdout.write(`\n${markdownTable([result])}\n\nresults: ${file}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(
        `${name} failed after ${Math.round((Date.now() - started) / 1000)} s: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    });
}

export function log(name: string, message: string): void {
  process.stderr.write(`[${name}] ${message}\n`);
}
