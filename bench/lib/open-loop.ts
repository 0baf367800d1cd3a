import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { loadNow } from './report';
import { round, summarize, type LatencySummary } from './stats';

export interface OpenLoopOptions {
  /** `http://host:port`. */
  readonly origin: string;
  readonly path: string;
  readonly rate: number;
  readonly durationMs: number;
  /** The body of the i-th request. */
  readonly body: (index: number) => string;
  readonly connections?: number;
  readonly timeoutMs?: number;
}

export interface OpenLoopResult {
  readonly rate: number;
  readonly durationMs: number;
  readonly sent: number;
  readonly accepted: number;
  readonly failed: number;
  readonly statuses: Record<string, number>;
  /** Completed requests per second, over the scheduled duration. */
  readonly achievedRate: number;
  /** From the moment each request was due: queueing in the client counts (no coordinated omission). */
  readonly latencyMs: LatencySummary;
  /** 1-minute load average when the phase ended. */
  readonly loadAverage: number;
}

/**
 * A constant-rate (open-loop) load: request i is due at i/rate seconds and is sent then, whatever earlier
 * requests are doing, over a pool of keep-alive connections. Latency runs from when a request was due, so a
 * server that stalls is charged for the requests that queued behind the stall, as wrk2 does. autocannon's rate
 * limit sends each connection's quota back to back at the start of every second, which measures bursts instead.
 */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(options.origin, {
    connections: options.connections ?? 64,
    pipelining: 1,
    headersTimeout: options.timeoutMs ?? 10_000,
    bodyTimeout: options.timeoutMs ?? 10_000,
  });
  const run = new LoadRun(pool, options);
  try {
    await run.schedule();
    await run.drain();
  } finally {
    await pool.close();
  }
  return run.result();
}

class LoadRun {
  private readonly latencies: number[] = [];
  private readonly statuses: Record<string, number> = {};
  private readonly inFlight = new Set<Promise<void>>();
  private sent = 0;

  constructor(
    private readonly pool: Pool,
    private readonly options: OpenLoopOptions,
  ) {}

  /** Sends every request when it is due; a 1 ms tick sends all that fell due since the last one. */
  async schedule(): Promise<void> {
    const total = Math.round((this.options.rate * this.options.durationMs) / 1000);
    const start = performance.now();
    while (this.sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) * this.options.rate) / 1000) + 1);
      while (this.sent < due) this.send(start + (this.sent * 1000) / this.options.rate);
      await sleep(1);
    }
  }

  /** Waits for the requests still out; each has its own timeout, so this ends. */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  result(): OpenLoopResult {
    const accepted = this.statuses['202'] ?? 0;
    return {
      rate: this.options.rate,
      durationMs: this.options.durationMs,
      sent: this.sent,
      accepted,
      failed: this.sent - accepted,
      statuses: this.statuses,
      achievedRate: round(accepted / (this.options.durationMs / 1000), 1),
      latencyMs: summarize(this.latencies),
      loadAverage: loadNow(),
    };
  }

  private send(dueAt: number): void {
    const body = this.options.body(this.sent);
    this.sent += 1;
    const request = this.pool
      .request({ path: this.options.path, method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (response) => {
        await response.body.dump();
        this.note(String(response.statusCode), dueAt);
      })
      .catch((error: unknown) => this.note(error instanceof Error ? error.name : 'error', dueAt));
    this.inFlight.add(request);
    void request.finally(() => this.inFlight.delete(request));
  }

  private note(status: string, dueAt: number): void {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.latencies.push(performance.now() - dueAt);
  }
}
