import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface SignedLink {
  readonly url: string;
  readonly expiresAt: Date;
}

export interface RunKey {
  readonly reportId: string;
  readonly runId: string;
}

export type LinkVerdict = 'valid' | 'bad-signature' | 'expired';

const downloadPathPattern = /^\/downloads\/([^/]+)\/([^/]+)\.csv$/;

/** Signs download paths with a key that lives and dies with one simulator, so links really expire and can't be forged. */
export class DownloadLinks {
  private readonly key = randomBytes(32);

  constructor(
    private readonly baseUrl: () => string,
    private readonly now: () => number,
  ) {}

  static path(reportId: string, runId: string): string {
    return `/downloads/${encodeURIComponent(reportId)}/${encodeURIComponent(runId)}.csv`;
  }

  static parsePath(path: string): RunKey | undefined {
    const match = downloadPathPattern.exec(path);
    if (!match) return undefined;

    try {
      return { reportId: decodeURIComponent(match[1]), runId: decodeURIComponent(match[2]) };
    } catch {
      return undefined;
    }
  }

  sign(reportId: string, runId: string, ttlMs: number): SignedLink {
    const path = DownloadLinks.path(reportId, runId);
    const expires = Math.floor((this.now() + ttlMs) / 1000);
    const query = new URLSearchParams({ expires: String(expires), signature: this.signature(path, expires) });

    return { url: `${this.baseUrl()}${path}?${query.toString()}`, expiresAt: new Date(expires * 1000) };
  }

  verify(path: string, query: URLSearchParams): LinkVerdict {
    const expires = query.get('expires') ?? '';
    const signature = query.get('signature') ?? '';
    if (!/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/.test(signature)) return 'bad-signature';

    const expected = Buffer.from(this.signature(path, Number(expires)), 'hex');
    if (!timingSafeEqual(Buffer.from(signature, 'hex'), expected)) return 'bad-signature';

    return this.now() >= Number(expires) * 1000 ? 'expired' : 'valid';
  }

  private signature(path: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${path}\n${expires}`).digest('hex');
  }
}
