import { Injectable } from '@nestjs/common';

export interface DependencyOutcome {
  name: string;
  status: 'up' | 'down';
  latencyMs: number;
  lastError?: string;
  lastErrorAt?: string;
  detail?: Record<string, unknown>;
}

/** The last outcome the service saw of each dependency it calls on demand (Reports API, download hosts). */
@Injectable()
export class DependencyLog {
  private readonly outcomes = new Map<string, DependencyOutcome>();

  succeeded(name: string, latencyMs: number): void {
    const previous = this.outcomes.get(name);
    this.outcomes.set(name, { ...previous, name, status: 'up', latencyMs });
  }

  failed(name: string, latencyMs: number, error: unknown): void {
    const lastError = summary(error);
    this.outcomes.set(name, { name, status: 'down', latencyMs, lastError, lastErrorAt: new Date().toISOString() });
  }

  snapshot(): DependencyOutcome[] {
    return [...this.outcomes.values()];
  }
}

/** A short, public-safe description: the error's code or name, never its message (which may name hosts or ports). */
function summary(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'error';
  const { code, name, reason } = error as { code?: unknown; name?: unknown; reason?: unknown };
  if (typeof reason === 'string') return reason;
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : 'error';
}
