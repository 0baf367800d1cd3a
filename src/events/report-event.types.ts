/**
 * The contract of the report-ready and report-failed topics. Consumers may import these types;
 * additive changes bump the minor number of `schemaVersion`, breaking ones get a new type and topic.
 */

export const REPORT_READY_TYPE = 'ai.connectly.report.ready.v1';
export const REPORT_FAILED_TYPE = 'ai.connectly.report.failed.v1';
export const EVENT_SCHEMA_VERSION = '1.0';

/** The report a run belongs to, as Connectly named it. */
export interface ReportRef {
  reportId: string;
  reportName: string;
  /** Absent when an older webhook carried no type. */
  reportType?: string;
}

/** One run of a report. */
export interface RunRef {
  runId: string;
  /** ISO 8601; the run's `created_at`, which also dates the archive key. */
  runCreatedAt: string;
}

/** Where the CSV was archived, and what was stored. */
export interface ArchiveInfo {
  bucket: string;
  key: string;
  /** `s3://bucket/key`. */
  uri: string;
  versionId?: string;
  eTag?: string;
  sizeBytes: number;
  contentType: string;
  /** SHA-256 of the stored bytes, hex-encoded, computed while streaming. */
  checksum: { algorithm: 'SHA256'; value: string };
}

/** What the CSV holds, read while streaming. */
export interface ContentInfo {
  /** Data rows, not counting the header. */
  rowCount: number;
  /** The header row, without any byte-order mark. */
  columns: string[];
  hasBom: boolean;
  lineEnding: 'LF' | 'CRLF' | 'none';
}

/** How the archive came to be. Never includes the signed URL itself. */
export interface Provenance {
  webhookReceivedAt: string;
  downloadAttempts: number;
  urlRefreshed: boolean;
  sourceUrlHost: string;
  sourceUrlExpiresAt: string;
  archivedAt: string;
  /** `initial` for the first announcement of a run, `replay` when re-announced from the archive. */
  reason: 'initial' | 'replay';
}

export interface ProducerInfo {
  name: string;
  version: string;
  instance: string;
}

/** The `data` of an `ai.connectly.report.ready.v1` event. */
export interface ReportReadyData {
  schemaVersion: string;
  report: ReportRef;
  run: RunRef;
  archive: ArchiveInfo;
  content: ContentInfo;
  provenance: Provenance;
  producer: ProducerInfo;
}

/** The `data` of an `ai.connectly.report.failed.v1` event. */
export interface ReportFailedData {
  schemaVersion: string;
  report: ReportRef;
  run: RunRef;
  /** One of the documented failure reasons, such as `run-superseded` or `retries-exhausted`. */
  reason: string;
  attempts: number;
  lastError: { message: string };
  /** Set for `run-superseded`: the run that replaced this one. */
  supersededByRunId?: string;
  /** The webhook as received, with the signed URL's query string removed. */
  webhook: unknown;
  failedAt: string;
  producer: ProducerInfo;
}

/** The CloudEvents attributes, carried as `ce_*` Kafka headers (binary content mode). */
export interface CloudEventAttributes {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject: string;
  datacontenttype: 'application/json';
  dataschema: string;
  partitionkey: string;
  dataref?: string;
  traceparent?: string;
}
