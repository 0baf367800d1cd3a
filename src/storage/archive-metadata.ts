import { ContentInfo, Provenance, ReportRef, RunRef } from '../events/report-event.types';

/** What the archive keeps about a run beside its bytes, so that it can be re-announced from the archive alone. */
export interface ArchiveMetadata {
  eventId: string;
  report: ReportRef;
  run: RunRef;
  sha256: string;
  rowCount: number;
  hasBom: boolean;
  lineEnding: ContentInfo['lineEnding'];
  provenance: Omit<Provenance, 'reason'>;
}

/** The facts of a multi-part archive object, kept beside it (see ArchiveStore). */
export interface ArchiveManifest {
  version: 1;
  /** The ETag of the archive object these facts describe, as HEAD reports it. */
  eTag: string;
  sizeBytes: number;
  metadata: ArchiveMetadata;
}

/**
 * S3 allows 2 KB of user metadata in all, counted after encoding: a report name of non-ASCII characters triples
 * in size, so it is cut to whole characters that encode within this budget (events carry the full name).
 */
const NAME_BUDGET_BYTES = 512;

function nameWithinBudget(name: string): string {
  let kept = '';
  let bytes = 0;
  for (const character of name) {
    bytes += encodeURIComponent(character).length;
    if (bytes > NAME_BUDGET_BYTES) break;
    kept += character;
  }
  return kept;
}

/** The S3 metadata naming the run alone, for an object whose facts are not known yet. */
export function runMetadata(run: Pick<ArchiveMetadata, 'eventId' | 'report' | 'run'>): Record<string, string> {
  return encoded({
    'event-id': run.eventId,
    'report-id': run.report.reportId,
    'report-name': nameWithinBudget(run.report.reportName),
    'report-type': run.report.reportType,
    'run-id': run.run.runId,
    'run-created-at': run.run.runCreatedAt,
  });
}

/** S3 user metadata travels as HTTP headers, so every value is percent-encoded ASCII. */
export function toS3Metadata(metadata: ArchiveMetadata): Record<string, string> {
  const fields: Record<string, string | number | boolean | undefined> = {
    'event-id': metadata.eventId,
    'report-id': metadata.report.reportId,
    'report-name': nameWithinBudget(metadata.report.reportName),
    'report-type': metadata.report.reportType,
    'run-id': metadata.run.runId,
    'run-created-at': metadata.run.runCreatedAt,
    sha256: metadata.sha256,
    'row-count': metadata.rowCount,
    'has-bom': metadata.hasBom,
    'line-ending': metadata.lineEnding,
    'webhook-received-at': metadata.provenance.webhookReceivedAt,
    'download-attempts': metadata.provenance.downloadAttempts,
    'url-refreshed': metadata.provenance.urlRefreshed,
    'source-url-host': metadata.provenance.sourceUrlHost,
    'source-url-expires-at': metadata.provenance.sourceUrlExpiresAt,
    'archived-at': metadata.provenance.archivedAt,
  };

  return encoded(fields);
}

function encoded(fields: Record<string, string | number | boolean | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields)
      .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
      .map(([name, value]) => [name, encodeURIComponent(String(value))]),
  );
}

/** Reads a manifest written by ArchiveStore; undefined for anything else (a manifest is never trusted blindly). */
export function parseManifest(text: string): ArchiveManifest | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;

  const manifest = parsed as Partial<ArchiveManifest>;
  const metadata = (manifest.metadata ?? {}) as Partial<ArchiveMetadata>;
  const provenance = (metadata.provenance ?? {}) as Partial<ArchiveMetadata['provenance']>;
  const isText = (value: unknown): boolean => typeof value === 'string';
  const count = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  const wellFormed =
    manifest.version === 1 &&
    isText(manifest.eTag) &&
    count(manifest.sizeBytes) &&
    isText(metadata.eventId) &&
    typeof metadata.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(metadata.sha256) &&
    count(metadata.rowCount) &&
    typeof metadata.hasBom === 'boolean' &&
    ['LF', 'CRLF', 'none'].includes(metadata.lineEnding ?? '') &&
    isText(metadata.report?.reportId) &&
    isText(metadata.report?.reportName) &&
    (metadata.report?.reportType === undefined || isText(metadata.report.reportType)) &&
    isText(metadata.run?.runId) &&
    isText(metadata.run?.runCreatedAt) &&
    isText(provenance.webhookReceivedAt) &&
    count(provenance.downloadAttempts) &&
    typeof provenance.urlRefreshed === 'boolean' &&
    isText(provenance.sourceUrlHost) &&
    isText(provenance.sourceUrlExpiresAt) &&
    isText(provenance.archivedAt);

  return wellFormed ? (manifest as ArchiveManifest) : undefined;
}

/** Reads metadata written by toS3Metadata; undefined when the object lacks it (not written by this service). */
export function fromS3Metadata(raw: Record<string, string> | undefined): ArchiveMetadata | undefined {
  const field = (name: string): string | undefined => {
    const value = raw?.[name];
    return value === undefined ? undefined : decodeURIComponent(value);
  };
  const required = ['event-id', 'report-id', 'run-id', 'run-created-at', 'sha256', 'row-count', 'archived-at'];
  if (required.some((name) => field(name) === undefined)) return undefined;

  return {
    eventId: field('event-id') ?? '',
    report: {
      reportId: field('report-id') ?? '',
      reportName: field('report-name') ?? '',
      reportType: field('report-type'),
    },
    run: { runId: field('run-id') ?? '', runCreatedAt: field('run-created-at') ?? '' },
    sha256: field('sha256') ?? '',
    rowCount: Number(field('row-count')),
    hasBom: field('has-bom') === 'true',
    lineEnding: (field('line-ending') ?? 'none') as ContentInfo['lineEnding'],
    provenance: {
      webhookReceivedAt: field('webhook-received-at') ?? '',
      downloadAttempts: Number(field('download-attempts') ?? '0'),
      urlRefreshed: field('url-refreshed') === 'true',
      sourceUrlHost: field('source-url-host') ?? '',
      sourceUrlExpiresAt: field('source-url-expires-at') ?? '',
      archivedAt: field('archived-at') ?? '',
    },
  };
}
