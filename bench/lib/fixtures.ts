import { existsSync, statSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { estimateCampaignCsvRows, writeCampaignCsv } from '../../test/fixtures/campaign-csv';
import { REPO_ROOT } from './report';

export const CACHE_DIR = join(REPO_ROOT, '.cache', 'bench');

/**
 * A generated campaign CSV of about `bytes`, kept in .cache/bench/ (git-ignored) because generating a large one
 * takes a minute; the same size and seed always give the same file. Written under a temporary name first, so an
 * interrupted run never leaves a short file that a later run would trust.
 */
export async function cachedCampaignCsv(name: string, bytes: number): Promise<{ file: string; bytes: number }> {
  const file = join(CACHE_DIR, `${name}.csv`);
  if (!existsSync(file)) {
    await mkdir(CACHE_DIR, { recursive: true });
    const partial = `${file}.partial-${process.pid}`;
    await writeCampaignCsv(partial, { rows: estimateCampaignCsvRows(bytes, { seed: 7 }), seed: 7 });
    await rename(partial, file);
  }
  return { file, bytes: statSync(file).size };
}
