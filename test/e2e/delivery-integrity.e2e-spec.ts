import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { campaignCsvBuffer, estimateCampaignCsvRows } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { DownloadFault, downloadFaults } from '../simulator/download-fault';
import {
  addCampaignRun,
  archiveKeyOf,
  failedData,
  readyData,
  reportObjects,
  sha256,
  transferLeftovers,
  startSimulator,
} from '../support/delivery-kit';
import { CollectedEvent, collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { waitForInboxDrained } from '../support/kafka-offsets';
import { isolatedEnv, readObject, ServiceUnderTest, startService, testS3Client } from '../support/service-harness';

const MAX_ATTEMPTS = 4;
const MiB = 1024 * 1024;
const MAX_BYTES = 9 * MiB;

describe('download integrity (C12, C14)', () => {
  let connectly: ConnectlySimulator;
  let service: ServiceUnderTest;
  let events: EventCollector;
  let s3: S3Client;
  let leftoversBefore: { openUploads: number; objects: string[] };

  beforeAll(async () => {
    const simulator = await startSimulator(`key-${randomUUID()}`);
    connectly = simulator.connectly;
    service = await startService(
      isolatedEnv({
        ...simulator.env,
        INGEST_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        DOWNLOAD_READ_TIMEOUT_MS: '1000',
        DOWNLOAD_MAX_BYTES: String(MAX_BYTES),
      }),
    );
    events = await collectOutcomes(service.env);
    s3 = testS3Client();
  });

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await connectly?.stop();
    s3?.destroy();
  });

  const slug = (label: string): string => label.replace(/\W+/g, '_').slice(0, 60);

  /** Sends the run's webhook with `fault` on its downloads, and returns its only outcome event. */
  async function deliver(reportId: string, source: Buffer, fault?: DownloadFault): Promise<CollectedEvent> {
    leftoversBefore = await transferLeftovers(s3, service.env);
    addCampaignRun(connectly, reportId, 'run_1', source);
    if (fault !== undefined) connectly.setDownloadFault(reportId, 'run_1', fault);
    const response = await connectly.sendWebhook(
      `${service.baseUrl}/webhooks/connectly`,
      connectly.webhookPayload(reportId, 'run_1'),
    );
    expect(response.status).toBe(202);

    await events.waitFor(1, withId(`${reportId}:run_1`));
    await waitForInboxDrained(service.env);
    const outcomes = events.events.filter(withId(`${reportId}:run_1`));
    expect(outcomes).toHaveLength(1);
    return outcomes[0];
  }

  async function stored(reportId: string): Promise<Buffer> {
    return readObject(s3, service.env.S3_BUCKET, archiveKeyOf(service.env, reportId, 'run_1'));
  }

  /** The run's archive holds one object or none, and the run left no open upload and no orphaned manifest behind. */
  async function expectNoLeftovers(reportId: string, archived: boolean): Promise<void> {
    expect(await reportObjects(s3, service.env, reportId)).toHaveLength(archived ? 1 : 0);
    expect(await transferLeftovers(s3, service.env)).toEqual(leftoversBefore);
  }

  describe('a gzip-encoded download', () => {
    const source = campaignCsvBuffer({ rows: 2000, seed: 21 });
    const truncateAt = Math.floor(gzipSync(source).length / 2);

    it('should store the decoded CSV with the hash of the decoded bytes, not marked gzip, when Content-Length is the compressed size', async () => {
      const event = await deliver('rep_gzip_ok', source, { kind: 'gzip', contentLength: 'compressed' });
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: service.env.S3_BUCKET, Key: readyData(event).archive.key }),
      );

      expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
      expect((await stored('rep_gzip_ok')).equals(source)).toBe(true);
      expect(readyData(event).archive).toMatchObject({ sizeBytes: source.length, checksum: { value: sha256(source) } });
      expect(readyData(event).content.rowCount).toBe(2000);
      expect(readyData(event).provenance.downloadAttempts).toBe(1);
      expect(head.ContentEncoding).toBeUndefined();
      expect(head.ContentLength).toBe(source.length);
    });

    const shortGzip: Array<[string, DownloadFault]> = [
      [
        'declares the uncompressed length and closes after the compressed bytes',
        { kind: 'gzip', contentLength: 'uncompressed' },
      ],
      [
        'carries a truncated gzip stream inside a consistent Content-Length',
        { kind: 'gzip', contentLength: 'compressed', truncateCompressedAt: truncateAt },
      ],
      [
        'carries a truncated gzip stream in a complete chunked response',
        { kind: 'gzip', contentLength: 'none', truncateCompressedAt: truncateAt },
      ],
    ];

    it.each(shortGzip)(
      'should never store a short copy when the response %s, and retry to a complete one',
      async (label, fault) => {
        const reportId = `rep_gz_once_${slug(label)}`;
        const event = await deliver(reportId, source, { kind: 'once', fault });

        expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
        expect((await stored(reportId)).equals(source)).toBe(true);
        expect(readyData(event).provenance.downloadAttempts).toBe(2);
        expect(connectly.downloadCount(reportId, 'run_1')).toBe(2);
        await expectNoLeftovers(reportId, true);
      },
    );

    it.each(shortGzip)(
      'should end as report-failed with nothing archived when every response %s',
      async (label, fault) => {
        const reportId = `rep_gz_always_${slug(label)}`;
        const event = await deliver(reportId, source, fault);

        expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
        expect(failedData(event)).toMatchObject({ reason: 'retries-exhausted', attempts: MAX_ATTEMPTS });
        expect(connectly.downloadCount(reportId, 'run_1')).toBe(MAX_ATTEMPTS);
        await expectNoLeftovers(reportId, false);
      },
    );
  });

  describe('a download that stalls mid-body', () => {
    it('should give up after DOWNLOAD_READ_TIMEOUT_MS, retry to a complete copy, and leave no parts or orphan manifests', async () => {
      const source = campaignCsvBuffer({ rows: estimateCampaignCsvRows(7 * MiB), seed: 5 });
      const started = Date.now();
      const event = await deliver('rep_stall', source, { kind: 'once', fault: { kind: 'stall', afterBytes: 6 * MiB } });
      const [stalled, complete] = connectly.downloads('rep_stall', 'run_1');

      expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
      expect(stalled).toMatchObject({ fault: 'stall', finished: false, bytesWritten: 6 * MiB });
      expect(complete).toMatchObject({ finished: true, bytesWritten: source.length });
      expect(readyData(event).provenance.downloadAttempts).toBe(2);
      expect(sha256(await stored('rep_stall'))).toBe(sha256(source));
      expect(Date.now() - started).toBeLessThan(30_000);
      await expectNoLeftovers('rep_stall', true);
    });
  });

  describe('an HTML error page served with 200', () => {
    it('should end as report-failed unexpected-content and archive nothing', async () => {
      const event = await deliver('rep_html', campaignCsvBuffer({ rows: 10 }), {
        kind: 'content',
        contentType: 'text/html; charset=utf-8',
        body: '<!doctype html><html><body><h1>Service temporarily unavailable</h1></body></html>',
      });

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(failedData(event).reason).toBe('unexpected-content');
      await expectNoLeftovers('rep_html', false);
    });
  });

  describe('a download larger than DOWNLOAD_MAX_BYTES', () => {
    it('should end as report-failed too-large without retrying, and abort the multipart upload', async () => {
      const source = campaignCsvBuffer({ rows: estimateCampaignCsvRows(12 * MiB), seed: 8 });
      expect(source.length).toBeGreaterThan(MAX_BYTES + MiB);
      const event = await deliver('rep_too_large', source);

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(failedData(event)).toMatchObject({ reason: 'too-large', attempts: 1 });
      expect(connectly.downloadCount('rep_too_large', 'run_1')).toBe(1);
      await expectNoLeftovers('rep_too_large', false);
    });
  });

  describe('a download that fails with 500 twice', () => {
    it('should retry and archive on the third attempt with downloadAttempts 3', async () => {
      const source = campaignCsvBuffer({ rows: 50, seed: 13 });
      const event = await deliver('rep_500_twice', source, {
        kind: 'times',
        count: 2,
        fault: downloadFaults.serverError(),
      });

      expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
      expect(readyData(event).provenance).toMatchObject({ downloadAttempts: 3, urlRefreshed: false });
      expect((await stored('rep_500_twice')).equals(source)).toBe(true);
      expect(connectly.downloadCount('rep_500_twice', 'run_1')).toBe(3);
    });
  });
});
