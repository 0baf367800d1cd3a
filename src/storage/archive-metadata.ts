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

const NAME_LIMIT = 1000;

/** S3 user metadata travels as HTTP headers, so every value is percent-encoded ASCII. */
export function toS3Metadata(metadata: ArchiveMetadata): Record<string, string> {
  const fields: Record<string, string | number | boolean | undefined> = {
    'event-id': metadata.eventId,
    'report-id': metadata.report.reportId,
    'report-name': metadata.report.reportName.slice(0, NAME_LIMIT),
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

  return Object.fromEntries(
    Object.entries(fields)
      .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
      .map(([name, value]) => [name, encodeURIComponent(String(value))]),
  );
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
