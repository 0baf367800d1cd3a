import type { Readable } from 'node:stream';

export type RunStatus = 'processing' | 'completed' | 'failed';

/** A file served from memory, from disk (streamed, never read whole) or from a fresh stream per download. */
export type RunBody = Buffer | { readonly file: string } | (() => Readable);

export interface AddRunInput {
  readonly reportId: string;
  readonly reportName: string;
  readonly reportType: string;
  readonly runId: string;
  /** Default `completed`. */
  readonly status?: RunStatus;
  /** Default: when the run was added. */
  readonly createdAt?: Date;
  readonly body: RunBody;
}

export interface SimulatedRun extends Required<AddRunInput> {
  readonly addedAt: Date;
}

/** The reports and their runs; the run added last is the report's `lastRun`. */
export class ReportCatalog {
  private readonly runsByReport = new Map<string, SimulatedRun[]>();

  add(input: AddRunInput, now: Date): SimulatedRun {
    const run: SimulatedRun = {
      ...input,
      status: input.status ?? 'completed',
      createdAt: input.createdAt ?? now,
      addedAt: now,
    };
    const others = (this.runsByReport.get(input.reportId) ?? []).filter((existing) => existing.runId !== input.runId);

    this.runsByReport.set(input.reportId, [...others, run]);
    return run;
  }

  find(reportId: string, runId: string): SimulatedRun | undefined {
    return this.runsByReport.get(reportId)?.find((run) => run.runId === runId);
  }

  latestRuns(type?: string): SimulatedRun[] {
    const latest = [...this.runsByReport.values()].map((runs) => runs[runs.length - 1]);
    return type === undefined ? latest : latest.filter((run) => run.reportType === type);
  }

  clear(): void {
    this.runsByReport.clear();
  }
}
