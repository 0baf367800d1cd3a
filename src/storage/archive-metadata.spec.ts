import {
  ArchiveManifest,
  ArchiveMetadata,
  fromS3Metadata,
  parseManifest,
  runMetadata,
  toS3Metadata,
} from './archive-metadata';

const metadata: ArchiveMetadata = {
  eventId: 'rep_1:run_1',
  report: { reportId: 'rep_1', reportName: 'Daily, "campaign" ☀', reportType: 'campaign.daily.custom' },
  run: { runId: 'run_1', runCreatedAt: '2025-04-30T12:00:00Z' },
  sha256: 'a'.repeat(64),
  rowCount: 12,
  hasBom: true,
  lineEnding: 'CRLF',
  provenance: {
    webhookReceivedAt: '2025-04-30T12:00:01Z',
    downloadAttempts: 2,
    urlRefreshed: true,
    sourceUrlHost: 'reports.example',
    sourceUrlExpiresAt: '2025-04-30T12:05:00Z',
    archivedAt: '2025-04-30T12:00:03Z',
  },
};
const manifest: ArchiveManifest = { version: 1, eTag: '"abc-3"', sizeBytes: 15_000_000, metadata };

const encodedBytes = (fields: Record<string, string>): number =>
  Object.entries(fields).reduce((sum, [name, value]) => sum + name.length + value.length, 0);

describe('archive metadata', () => {
  it('should read back every fact it writes', () => {
    expect(fromS3Metadata(toS3Metadata(metadata))).toEqual(metadata);
  });

  it('should name the run alone, without facts, before they are known', () => {
    const fields = runMetadata(metadata);

    expect(Object.keys(fields).sort()).toEqual(
      ['event-id', 'report-id', 'report-name', 'report-type', 'run-created-at', 'run-id'].sort(),
    );
    expect(fromS3Metadata(fields)).toBeUndefined();
  });

  it('should keep a long non-ASCII report name within the metadata budget, cut at a whole character', () => {
    const name = '報告'.repeat(2000);
    const long = { ...metadata, report: { ...metadata.report, reportName: name } };

    for (const fields of [toS3Metadata(long), runMetadata(long)]) {
      const kept = decodeURIComponent(fields['report-name']);
      expect(fields['report-name'].length).toBeLessThanOrEqual(512);
      expect(name.startsWith(kept)).toBe(true);
      expect(encodedBytes(fields)).toBeLessThan(2048);
    }
  });
});

describe('parseManifest', () => {
  it('should read a manifest it could have written', () => {
    expect(parseManifest(JSON.stringify(manifest))).toEqual(manifest);
  });

  it.each<[string, unknown]>([
    ['not JSON', '{'],
    ['null', null],
    ['another version', { ...manifest, version: 2 }],
    ['no ETag', { ...manifest, eTag: undefined }],
    ['a negative size', { ...manifest, sizeBytes: -1 }],
    ['a fractional row count', { ...manifest, metadata: { ...metadata, rowCount: 1.5 } }],
    ['a short checksum', { ...manifest, metadata: { ...metadata, sha256: 'abc' } }],
    ['an unknown line ending', { ...manifest, metadata: { ...metadata, lineEnding: 'LFCR' } }],
    ['no run creation time', { ...manifest, metadata: { ...metadata, run: { runId: 'run_1' } } }],
    ['no provenance', { ...manifest, metadata: { ...metadata, provenance: undefined } }],
    [
      'a text attempt count',
      { ...manifest, metadata: { ...metadata, provenance: { ...metadata.provenance, downloadAttempts: '2' } } },
    ],
  ])('should refuse %s', (_label, value) => {
    expect(parseManifest(typeof value === 'string' ? value : JSON.stringify(value))).toBeUndefined();
  });
});
