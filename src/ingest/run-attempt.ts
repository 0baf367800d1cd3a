import { InboxRecord } from './inbox-record';

/** What one run has learned across its attempts: the link in use and whether it must be refreshed. */
export class RunAttempt {
  url: string;
  expiresAt: string;
  urlRefreshed = false;
  needsFreshLink = false;
  downloads = 0;
  attempts = 0;

  constructor(
    readonly record: InboxRecord,
    private readonly deadlineMs: number,
  ) {
    this.url = record.webhook.report.last_run.result.url;
    this.expiresAt = record.webhook.report.last_run.result.expires_at;
  }

  /** True when the link is past its expiry, or will be within the safety margin. */
  linkExpiresWithin(marginMs: number, now: Date): boolean {
    const left = this.msUntilExpiry(now);
    return Number.isNaN(left) || left - marginMs <= 0;
  }

  msUntilExpiry(now: Date): number {
    return new Date(this.expiresAt).getTime() - now.getTime();
  }

  pastDeadline(now: Date): boolean {
    return now.getTime() >= this.deadlineMs;
  }

  useFreshLink(url: string, expiresAt: string): void {
    this.url = url;
    this.expiresAt = expiresAt;
    this.urlRefreshed = true;
    this.needsFreshLink = false;
  }
}
