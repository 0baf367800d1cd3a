/**
 * Preloaded into the service when BENCH_CPU_PROF=true. `node --cpu-prof` writes its profile only on a normal exit,
 * and Nest re-raises SIGTERM after its shutdown hooks, so the process ends by the signal and writes nothing; this
 * records with the inspector instead and writes the profile as SIGTERM arrives, before the shutdown starts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR ?? '.';
const session = new Session();
session.connect();
session.post('Profiler.enable', () => session.post('Profiler.start'));

process.once('SIGTERM', () => {
  session.post('Profiler.stop', (error, result) => {
    if (error !== null) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `service-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
