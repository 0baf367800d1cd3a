import type { SignedLink } from './download-links';
import type { RunStatus, SimulatedRun } from './report-catalog';
import { isoSeconds } from './webhook-payload';

/** The Reports API answer (camelCase, unlike the webhook). */
export interface ReportsListing {
  readonly data: ReadonlyArray<{
    readonly id: string;
    readonly name: string;
    readonly type: string;
    readonly lastRun: {
      readonly id: string;
      readonly status: RunStatus;
      readonly result?: { readonly url: string; readonly expiresAt: string; readonly createdAt: string };
    };
  }>;
}

export function buildReportsListing(
  latestRuns: readonly SimulatedRun[],
  sign: (run: SimulatedRun) => SignedLink,
): ReportsListing {
  return {
    data: latestRuns.map((run) => ({
      id: run.reportId,
      name: run.reportName,
      type: run.reportType,
      lastRun: {
        id: run.runId,
        status: run.status,
        ...(run.status === 'completed' ? { result: result(run, sign(run)) } : {}),
      },
    })),
  };
}

function result(run: SimulatedRun, link: SignedLink): { url: string; expiresAt: string; createdAt: string } {
  return { url: link.url, expiresAt: isoSeconds(link.expiresAt), createdAt: isoSeconds(run.createdAt) };
}
