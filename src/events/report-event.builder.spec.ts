import { IngestError } from '../common/ingest-errors';
import { loadConfig } from '../config/app-config';
import { InboxRecord } from '../ingest/inbox-record';
import { ReportEventBuilder } from './report-event.builder';
import { ReportFailedData, ReportReadyData } from './report-event.types';

const config = loadConfig({
  KAFKA_BROKERS: '127.0.0.1:9092',
  S3_BUCKET: 'connectly-reports',
  CONNECTLY_BUSINESS_ID: 'biz 1',
  CONNECTLY_API_KEY: 'key',
  NODE_ENV: 'test',
});
const producer = { name: 'connectly-report-ingest', version: '0.1.0', instance: 'pod-1' };
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const record: InboxRecord = {
  version: 1,
  eventId: 'rep_A:run_1',
  receivedAt: '2025-04-30T12:34:57.000Z',
  requestId: 'req-1',
  traceparent,
  webhook: {
    topic: 'report',
    timestamp: '2025-04-30T12:34:56Z',
    report: {
      id: 'rep_A',
      name: 'Daily Campaign Report',
      type: 'campaign.daily.custom',
      last_run: {
        id: 'run_1',
        status: 'completed',
        result: {
          url: 'https://reports.connectly.ai/a.csv?sig=SECRET',
          expires_at: '2025-05-01T12:34:56Z',
          created_at: '2025-04-30T12:00:00Z',
        },
      },
    },
  },
};

const key = 'connectly/reports/type=campaign.daily.custom/report=rep_A/dt=2025-04-30/run=run_1.csv';
const readyInput: Omit<ReportReadyData, 'schemaVersion' | 'producer'> = {
  report: { reportId: 'rep_A', reportName: 'Daily Campaign Report', reportType: 'campaign.daily.custom' },
  run: { runId: 'run_1', runCreatedAt: '2025-04-30T12:00:00Z' },
  archive: {
    bucket: 'connectly-reports',
    key,
    uri: `s3://connectly-reports/${key}`,
    eTag: '"abc"',
    sizeBytes: 10,
    contentType: 'text/csv',
    checksum: { algorithm: 'SHA256', value: 'f'.repeat(64) },
  },
  content: { rowCount: 1, columns: ['a'], hasBom: false, lineEnding: 'LF' },
  provenance: {
    webhookReceivedAt: record.receivedAt,
    downloadAttempts: 1,
    urlRefreshed: false,
    sourceUrlHost: 'reports.connectly.ai',
    sourceUrlExpiresAt: '2025-05-01T12:34:56Z',
    archivedAt: '2025-04-30T12:35:00.000Z',
    reason: 'initial',
  },
};

const headersOf = (headers: unknown): Record<string, string> => headers as Record<string, string>;

describe(ReportEventBuilder.name, () => {
  const builder = new ReportEventBuilder(config, producer);

  describe('ready', () => {
    it('should carry the CloudEvents attributes as ce_ headers, keyed by report id', () => {
      const message = builder.ready(record, readyInput);

      expect(message.key).toBe('rep_A');
      expect(headersOf(message.headers)).toEqual({
        'content-type': 'application/json',
        ce_specversion: '1.0',
        ce_id: 'rep_A:run_1',
        ce_source: '/connectly-report-ingest/businesses/biz%201',
        ce_type: 'ai.connectly.report.ready.v1',
        ce_time: '2025-04-30T12:35:00.000Z',
        ce_subject: key,
        ce_dataschema: 'urn:connectly-report-ingest:schema:report-ready:1',
        ce_partitionkey: 'rep_A',
        ce_dataref: `s3://connectly-reports/${key}`,
        ce_traceparent: traceparent,
      });
    });

    it('should put the data, with schema version and producer, in the value', () => {
      const data = JSON.parse(String(builder.ready(record, readyInput).value)) as ReportReadyData;

      expect(data).toEqual({ schemaVersion: '1.0', ...readyInput, producer });
    });

    it('should build the same record for the same run twice', () => {
      expect(builder.ready(record, readyInput)).toEqual(builder.ready(record, readyInput));
    });
  });

  describe('failed', () => {
    const error = new IngestError('Run run_1 was superseded by run run_2', {
      retriable: false,
      reason: 'run-superseded',
      supersededByRunId: 'run_2',
    });

    it('should carry the reason, attempts, last error and the webhook without its signature', () => {
      const message = builder.failed(record, error, 3, new Date('2025-04-30T12:40:00Z'));
      const data = JSON.parse(String(message.value)) as ReportFailedData;

      expect(headersOf(message.headers)).toMatchObject({
        ce_type: 'ai.connectly.report.failed.v1',
        ce_id: 'rep_A:run_1',
      });
      expect(data).toMatchObject({
        reason: 'run-superseded',
        attempts: 3,
        supersededByRunId: 'run_2',
        failedAt: '2025-04-30T12:40:00.000Z',
      });
      expect(data.lastError.message).toContain('superseded');
      expect(JSON.stringify(data)).not.toContain('SECRET');
      expect(JSON.stringify(data)).toContain('https://reports.connectly.ai/a.csv?[redacted]');
    });

    it('should leave the inbox record untouched', () => {
      builder.failed(record, error, 1, new Date());

      expect(record.webhook.report.last_run.result.url).toContain('SECRET');
    });
  });
});
