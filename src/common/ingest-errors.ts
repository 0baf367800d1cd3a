/** Machine-readable reasons a run ends as report-failed. Documented in the README; part of the event contract. */
export const FAILURE_REASONS = [
  'run-superseded',
  'run-failed',
  'run-not-ready',
  'report-not-found',
  'link-expired',
  'url-not-allowed',
  'too-large',
  'unexpected-content',
  'download-refused',
  'refresh-refused',
  'retries-exhausted',
] as const;

export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * An error from one step of a run. `retriable` decides between another attempt and report-failed;
 * `linkExpired` asks the next attempt to fetch a fresh signed URL first.
 */
export class IngestError extends Error {
  readonly retriable: boolean;
  readonly reason: FailureReason;
  readonly linkExpired: boolean;
  readonly retryAfterMs?: number;
  /** For `run-superseded`: the run that replaced the one in hand. */
  readonly supersededByRunId?: string;

  constructor(
    message: string,
    options: {
      retriable: boolean;
      reason: FailureReason;
      linkExpired?: boolean;
      retryAfterMs?: number;
      supersededByRunId?: string;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = 'IngestError';
    this.retriable = options.retriable;
    this.reason = options.reason;
    this.linkExpired = options.linkExpired ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.supersededByRunId = options.supersededByRunId;
  }

  static transient(message: string, cause?: unknown, retryAfterMs?: number, reason?: FailureReason): IngestError {
    return new IngestError(message, { retriable: true, reason: reason ?? 'retries-exhausted', cause, retryAfterMs });
  }

  static permanent(reason: FailureReason, message: string, cause?: unknown): IngestError {
    return new IngestError(message, { retriable: false, reason, cause });
  }

  static expired(message: string): IngestError {
    return new IngestError(message, { retriable: true, reason: 'link-expired', linkExpired: true });
  }
}

/** Treats anything that is not an IngestError as transient: network faults, SDK errors, timeouts. */
export function asIngestError(error: unknown): IngestError {
  if (error instanceof IngestError) return error;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return IngestError.transient(message, error);
}
