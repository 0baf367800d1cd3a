import type { DownloadFault, ResponseFault } from './download-fault';

interface Entry {
  readonly fault: ResponseFault;
  /** Downloads left before the fault lifts; undefined for a standing fault. */
  remaining: number | undefined;
}

const globalKey = '*';

/** Faults per run and one for all runs; a run's own fault wins. Counted faults lift once used up. */
export class FaultBook {
  private readonly entries = new Map<string, Entry>();

  set(reportId: string, runId: string, fault: DownloadFault | null): void {
    this.put(runKey(reportId, runId), fault);
  }

  setGlobal(fault: DownloadFault | null): void {
    this.put(globalKey, fault);
  }

  /** The fault for the next download of this run, counting it as used. */
  take(reportId: string, runId: string): ResponseFault | undefined {
    return this.use(runKey(reportId, runId)) ?? this.use(globalKey);
  }

  clear(): void {
    this.entries.clear();
  }

  private put(key: string, fault: DownloadFault | null): void {
    const entry = fault === null ? undefined : unwrap(fault);

    if (entry === undefined || entry.remaining === 0) this.entries.delete(key);
    else this.entries.set(key, entry);
  }

  private use(key: string): ResponseFault | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;

    if (entry.remaining !== undefined && --entry.remaining <= 0) this.entries.delete(key);
    return entry.fault;
  }
}

function unwrap(fault: DownloadFault): Entry {
  switch (fault.kind) {
    case 'once':
      return { fault: unwrap(fault.fault).fault, remaining: 1 };
    case 'times':
      return { fault: unwrap(fault.fault).fault, remaining: Math.max(0, fault.count) };
    default:
      return { fault, remaining: undefined };
  }
}

function runKey(reportId: string, runId: string): string {
  return JSON.stringify([reportId, runId]);
}
