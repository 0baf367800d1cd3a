import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

/** Command-line options every benchmark understands. */
export interface BenchOptions {
  /** Tiny sizes and a few seconds each: proves the benchmark still works, measures nothing worth comparing. */
  readonly smoke: boolean;
  /** Before each benchmark, wait (10 minutes at most) until the 1-minute load average is below this. */
  readonly quietBelow?: number;
}

export function benchOptions(argv: string[] = process.argv.slice(2)): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: { smoke: { type: 'boolean', default: false }, 'quiet-below': { type: 'string' } },
    strict: true,
  });
  const quietBelow = values['quiet-below'] === undefined ? undefined : Number(values['quiet-below']);
  if (quietBelow !== undefined && !(quietBelow > 0)) throw new Error('--quiet-below takes a positive load average');
  return { smoke: values.smoke, quietBelow };
}

/**
 * On a shared machine other people's builds and tests take the cores the figures depend on: this waits, bounded,
 * for them to calm down, and returns the load average it starts with, which every result records.
 */
export async function waitForQuiet(options: BenchOptions, log: (line: string) => void): Promise<number> {
  const deadline = Date.now() + 10 * 60_000;
  const limit = options.quietBelow;
  if (limit !== undefined && loadavg()[0] >= limit) log(`waiting for the load average to drop below ${limit}`);
  while (limit !== undefined && loadavg()[0] >= limit && Date.now() < deadline) await sleep(5_000);
  return Math.round(loadavg()[0] * 100) / 100;
}
