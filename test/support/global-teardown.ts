import { stackDown } from '../../scripts/stack/stack';

/** Stops the embedded stack only when this run started it; E2E_KEEP_STACK=true leaves it up for the next run. */
export default async function globalTeardown(): Promise<void> {
  if (process.env.E2E_STACK_STARTED !== 'true' || process.env.E2E_KEEP_STACK === 'true') return;

  await stackDown();
}
