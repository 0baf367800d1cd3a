import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
import { campaignCsvBuffer, campaignCsvColumns, CampaignCsvOptions } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { startConnectly } from '../support/connectly-fixture';
import { transferLeftovers } from '../support/delivery-kit';
import { collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { schemaErrors } from '../support/event-schemas';
import {
  isolatedEnv,
  listKeys,
  openMultipartUploads,
  readObject,
  ServiceUnderTest,
  startService,
  testS3Client,
} from '../support/service-harness';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('webhook to archive to report-ready', () => {
  let connectly: ConnectlySimulator;
  let service: ServiceUnderTest;
  let events: EventCollector;
  let s3: S3Client;
  let webhookUrl: string;

  beforeAll(async () => {
    const apiKey = `key-${randomUUID()}`;
    const started = await startConnectly(apiKey);
    connectly = started.connectly;
    service = await startService(isolatedEnv({ ...started.env, CONNECTLY_API_KEY: apiKey }));
    webhookUrl = `${service.baseUrl}/webhooks/connectly`;
    events = await collectOutcomes(service.env);
    s3 = testS3Client();
  });

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await connectly?.stop();
    s3?.destroy();
  });

  const bucket = (): string => service.env.S3_BUCKET;
  const prefix = (): string => service.env.S3_PREFIX;

  async function deliver(reportId: string, runId: string, body: Buffer, options: { ttlMs?: number } = {}) {
    connectly.addRun({
      reportId,
      reportName: `Report ${reportId}`,
      reportType: 'campaign.daily.custom',
      runId,
      body,
      createdAt: new Date('2025-04-30T12:00:00Z'),
    });
    const response = await connectly.sendWebhook(webhookUrl, connectly.webhookPayload(reportId, runId, options));
    expect(response.status).toBe(202);
  }

  async function readyEvent(reportId: string, runId: string) {
    const [event] = await events.waitFor(1, withId(`${reportId}:${runId}`));
    return event;
  }

  describe.each<[string, CampaignCsvOptions]>([
    ['plain LF', { rows: 500 }],
    ['with a UTF-8 BOM', { rows: 500, bom: true }],
    ['with CRLF line ends', { rows: 500, lineEnding: '\r\n' as const }],
    [
      'with BOM and CRLF, no trailing newline',
      { rows: 500, bom: true, lineEnding: '\r\n' as const, trailingNewline: false },
    ],
  ])('a campaign CSV %s', (label, options) => {
    const reportId = `rep_${label.replace(/\W+/g, '_')}`;
    const source = campaignCsvBuffer(options);

    it('should archive the bytes unchanged and announce matching facts', async () => {
      await deliver(reportId, 'run_1', source);
      const event = await readyEvent(reportId, 'run_1');
      const archive = event.data.archive as {
        key: string;
        sizeBytes: number;
        checksum: { value: string };
        uri: string;
      };
      const stored = await readObject(s3, bucket(), archive.key);

      expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
      expect(stored.equals(source)).toBe(true);
      expect(archive.checksum.value).toBe(sha256(source));
      expect(archive.sizeBytes).toBe(source.length);
      expect(archive.key).toBe(`${prefix()}/type=campaign.daily.custom/report=${reportId}/dt=2025-04-30/run=run_1.csv`);
      expect(archive.uri).toBe(`s3://${bucket()}/${archive.key}`);
      expect(event.data.content).toEqual({
        rowCount: 500,
        columns: [...campaignCsvColumns],
        hasBom: options.bom === true,
        lineEnding: options.lineEnding === '\r\n' ? 'CRLF' : 'LF',
      });
    });
  });

  it('should store text/csv with the run in the object metadata', async () => {
    await deliver('rep_meta', 'run_1', campaignCsvBuffer({ rows: 10 }));
    const event = await readyEvent('rep_meta', 'run_1');
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket(), Key: (event.data.archive as { key: string }).key }),
    );

    expect(head.ContentType).toBe('text/csv');
    expect(head.Metadata).toMatchObject({
      'report-id': 'rep_meta',
      'run-id': 'run_1',
      'run-created-at': encodeURIComponent('2025-04-30T12:00:00Z'),
      sha256: (event.data.archive as { checksum: { value: string } }).checksum.value,
    });
  });

  it('should send the CloudEvents headers and the documented data fields', async () => {
    await deliver('rep_contract', 'run_9', campaignCsvBuffer({ rows: 3 }));
    const event = await readyEvent('rep_contract', 'run_9');

    expect(event.key).toBe('rep_contract');
    expect(event.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'ai.connectly.report.ready.v1',
      ce_source: '/connectly-report-ingest/businesses/biz_e2e',
      ce_partitionkey: 'rep_contract',
      'content-type': 'application/json',
    });
    expect(event.headers.ce_traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(event.data).toMatchObject({
      schemaVersion: '1.0',
      report: { reportId: 'rep_contract', reportName: 'Report rep_contract', reportType: 'campaign.daily.custom' },
      run: { runId: 'run_9', runCreatedAt: '2025-04-30T12:00:00Z' },
      archive: { bucket: bucket(), contentType: 'text/csv', checksum: { algorithm: 'SHA256' } },
      provenance: {
        downloadAttempts: 1,
        urlRefreshed: false,
        sourceUrlHost: expect.stringMatching(/^localhost:\d+$/),
        reason: 'initial',
      },
      producer: { name: 'connectly-report-ingest' },
    });
    expect(JSON.stringify(event)).not.toContain('signature=');
    expect(schemaErrors('ready', event.data)).toEqual([]);
  });

  it('should stream a multi-part file (12 MB over 5 MiB parts) and leave no upload open', async () => {
    const source = campaignCsvBuffer({ rows: 40_000, seed: 7 });
    expect(source.length).toBeGreaterThan(11 * 1024 * 1024);
    await deliver('rep_big', 'run_1', source);
    const event = await readyEvent('rep_big', 'run_1');
    const stored = await readObject(s3, bucket(), (event.data.archive as { key: string }).key);

    expect(sha256(stored)).toBe(sha256(source));
    expect((event.data.content as { rowCount: number }).rowCount).toBe(40_000);
    expect(await transferLeftovers(s3, service.env)).toEqual({ openUploads: 0, objects: [] });
  });

  describe('a multi-part file, whose facts are known only after the upload starts', () => {
    const source = campaignCsvBuffer({ rows: 30_000, seed: 17 });
    const manifestKeyOf = (key: string): string =>
      `${service.env.S3_MANIFEST_PREFIX}/${key.slice(prefix().length + 1)}.json`;
    const readManifest = async (key: string) =>
      JSON.parse((await readObject(s3, bucket(), manifestKeyOf(key))).toString('utf8')) as {
        eTag: string;
        sizeBytes: number;
        metadata: { sha256: string; rowCount: number; eventId: string };
      };
    let key: string;

    it('should upload straight to the archive key and keep the facts in a manifest with its ETag', async () => {
      expect(source.length).toBeGreaterThan(5 * 1024 * 1024);
      await deliver('rep_manifest', 'run_1', source);
      const event = await readyEvent('rep_manifest', 'run_1');
      key = (event.data.archive as { key: string }).key;
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket(), Key: key }));
      const manifest = await readManifest(key);

      expect(head.Metadata).toMatchObject({ 'report-id': 'rep_manifest', 'run-id': 'run_1' });
      expect(decodeURIComponent(head.Metadata?.['manifest-key'] ?? '')).toBe(manifestKeyOf(key));
      expect(manifest.eTag).toBe(head.ETag);
      expect(manifest.sizeBytes).toBe(source.length);
      expect(manifest.metadata).toMatchObject({
        eventId: 'rep_manifest:run_1',
        sha256: sha256(source),
        rowCount: 30_000,
      });
    });

    it('should announce a redelivery from the archive and its manifest, without downloading', async () => {
      const before = connectly.downloadCount('rep_manifest', 'run_1');
      await connectly.sendWebhook(webhookUrl, connectly.webhookPayload('rep_manifest', 'run_1'));
      const [, again] = await events.waitFor(2, withId('rep_manifest:run_1'));

      expect(connectly.downloadCount('rep_manifest', 'run_1')).toBe(before);
      expect((again.data.archive as { checksum: { value: string } }).checksum.value).toBe(sha256(source));
    });

    it.each([
      ['describes another upload (its ETag differs)', (text: string) => text.replace(/"eTag":"[^"]*"/, '"eTag":"0"')],
      ['is not a manifest', () => '{"version":1'],
    ])('should archive the run again when its manifest %s', async (_label, spoil) => {
      const good = (await readObject(s3, bucket(), manifestKeyOf(key))).toString('utf8');
      await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: manifestKeyOf(key), Body: spoil(good) }));
      const before = connectly.downloadCount('rep_manifest', 'run_1');
      const seen = events.events.filter(withId('rep_manifest:run_1')).length;
      await connectly.sendWebhook(webhookUrl, connectly.webhookPayload('rep_manifest', 'run_1'));
      const announced = await events.waitFor(seen + 1, withId('rep_manifest:run_1'));

      expect(connectly.downloadCount('rep_manifest', 'run_1')).toBe(before + 1);
      expect((announced[seen].data.archive as { checksum: { value: string } }).checksum.value).toBe(sha256(source));
      expect((await readManifest(key)).eTag).not.toBe('0');
    });

    it('should archive the run again when its manifest is missing (a crash between the upload and the manifest)', async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket(), Key: manifestKeyOf(key) }));
      const before = connectly.downloadCount('rep_manifest', 'run_1');
      const seen = events.events.filter(withId('rep_manifest:run_1')).length;
      await connectly.sendWebhook(webhookUrl, connectly.webhookPayload('rep_manifest', 'run_1'));
      const announced = await events.waitFor(seen + 1, withId('rep_manifest:run_1'));
      const third = announced[seen];

      expect(connectly.downloadCount('rep_manifest', 'run_1')).toBe(before + 1);
      expect((third.data.archive as { checksum: { value: string } }).checksum.value).toBe(sha256(source));
      expect((await readManifest(key)).metadata.sha256).toBe(sha256(source));
      expect(sha256(await readObject(s3, bucket(), key))).toBe(sha256(source));
    });
  });

  describe('when the same run arrives more than once', () => {
    it('should download once, store one object and announce the same event id each time', async () => {
      const payload = (() => {
        connectly.addRun({
          reportId: 'rep_dup',
          reportName: 'Dup',
          reportType: 'campaign.daily.custom',
          runId: 'run_1',
          body: campaignCsvBuffer({ rows: 50 }),
        });
        return connectly.webhookPayload('rep_dup', 'run_1');
      })();
      const [first, second] = await Promise.all([
        connectly.sendWebhook(webhookUrl, payload),
        connectly.sendWebhook(webhookUrl, payload),
      ]);
      expect([first.status, second.status]).toEqual([202, 202]);
      const announced = await events.waitFor(2, withId('rep_dup:run_1'));

      const third = await connectly.sendWebhook(webhookUrl, payload);
      expect(third.status).toBe(202);
      const again = await events.waitFor(3, withId('rep_dup:run_1'));

      expect(connectly.downloadCount('rep_dup', 'run_1')).toBe(1);
      expect(await listKeys(s3, bucket(), `${prefix()}/type=campaign.daily.custom/report=rep_dup/`)).toHaveLength(1);
      expect(new Set(again.map((event) => event.topic))).toEqual(new Set([service.env.TOPIC_REPORT_READY]));
      expect(again[2].data).toEqual(announced[0].data);
    });

    it('should process a later run of the same report as a new run', async () => {
      await deliver('rep_dup2', 'run_1', campaignCsvBuffer({ rows: 5 }));
      await readyEvent('rep_dup2', 'run_1');
      await deliver('rep_dup2', 'run_2', campaignCsvBuffer({ rows: 6, seed: 2 }));
      const second = await readyEvent('rep_dup2', 'run_2');

      expect((second.data.content as { rowCount: number }).rowCount).toBe(6);
      expect(await listKeys(s3, bucket(), `${prefix()}/type=campaign.daily.custom/report=rep_dup2/`)).toHaveLength(2);
    });
  });

  describe('with header-only and empty files', () => {
    it.each([
      ['a header row with CRLF', Buffer.from('id,name,amount\r\n'), ['id', 'name', 'amount']],
      ['a header row without newline', Buffer.from('id,name,amount'), ['id', 'name', 'amount']],
      ['zero bytes', Buffer.alloc(0), []],
      ['a BOM alone', Buffer.from([0xef, 0xbb, 0xbf]), []],
    ])('should archive %s with rowCount 0', async (label, body, columns) => {
      const reportId = `rep_empty_${label.replace(/\W+/g, '_')}`;
      await deliver(reportId, 'run_1', body);
      const event = await readyEvent(reportId, 'run_1');
      const stored = await readObject(s3, bucket(), (event.data.archive as { key: string }).key);

      expect(stored.equals(body)).toBe(true);
      expect(event.data.content).toMatchObject({ rowCount: 0, columns });
      expect(await openMultipartUploads(s3, bucket(), service.env.S3_PREFIX)).toBe(0);
    });
  });

  describe('when the body is cut short', () => {
    it.each([
      ['closed cleanly after 600 of its bytes', { kind: 'truncate' as const, afterBytes: 600, mode: 'fin' as const }],
      ['reset after 600 of its bytes', { kind: 'truncate' as const, afterBytes: 600, mode: 'reset' as const }],
      ['chunked without the final chunk', { kind: 'chunked-truncate' as const, afterBytes: 600 }],
    ])('should never archive a body %s, and retry to a complete copy', async (label, fault) => {
      const reportId = `rep_short_${label.replace(/\W+/g, '_')}`;
      const source = campaignCsvBuffer({ rows: 100 });
      connectly.addRun({
        reportId,
        reportName: 'Short',
        reportType: 'campaign.daily.custom',
        runId: 'run_1',
        body: source,
      });
      connectly.setDownloadFault(reportId, 'run_1', { kind: 'once', fault });
      await connectly.sendWebhook(webhookUrl, connectly.webhookPayload(reportId, 'run_1'));
      const event = await readyEvent(reportId, 'run_1');
      const stored = await readObject(s3, bucket(), (event.data.archive as { key: string }).key);

      expect(stored.equals(source)).toBe(true);
      expect(event.data.provenance).toMatchObject({ downloadAttempts: 2 });
      expect(connectly.downloadCount(reportId, 'run_1')).toBe(2);
      expect(await openMultipartUploads(s3, bucket(), service.env.S3_PREFIX)).toBe(0);
    });

    it('should end as report-failed, with no object, when every attempt is cut short', async () => {
      const source = campaignCsvBuffer({ rows: 100 });
      connectly.addRun({
        reportId: 'rep_always_short',
        reportName: 'Short',
        reportType: 'campaign.daily.custom',
        runId: 'run_1',
        body: source,
      });
      connectly.setDownloadFault('rep_always_short', 'run_1', { kind: 'truncate', afterBytes: 600, mode: 'fin' });
      await connectly.sendWebhook(webhookUrl, connectly.webhookPayload('rep_always_short', 'run_1'));
      const [event] = await events.waitFor(1, withId('rep_always_short:run_1'));

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(schemaErrors('failed', event.data)).toEqual([]);
      expect(event.data).toMatchObject({ reason: 'retries-exhausted', attempts: 6 });
      expect(JSON.stringify(event.data.lastError)).toMatch(/600 of \d+ bytes|terminated|closed|mismatch/i);
      expect(await listKeys(s3, bucket(), `${prefix()}/type=campaign.daily.custom/report=rep_always_short/`)).toEqual(
        [],
      );
      expect(await openMultipartUploads(s3, bucket(), service.env.S3_PREFIX)).toBe(0);
    });
  });

  it('should fetch a fresh link from the Reports API when the webhook link has already expired', async () => {
    await deliver('rep_expired', 'run_1', campaignCsvBuffer({ rows: 20 }), { ttlMs: -60_000 });
    const event = await readyEvent('rep_expired', 'run_1');

    expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
    expect(event.data.provenance).toMatchObject({ urlRefreshed: true, downloadAttempts: 1 });
    expect(connectly.apiCallCount()).toBeGreaterThanOrEqual(1);
    expect(connectly.downloadCount('rep_expired', 'run_1')).toBe(1);
  });

  it('should expose what happened as Prometheus metrics', async () => {
    await deliver('rep_metrics', 'run_1', campaignCsvBuffer({ rows: 10 }));
    await readyEvent('rep_metrics', 'run_1');
    const response = await fetch(`${service.baseUrl}/metrics`);
    const text = await response.text();
    const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? NaN);

    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(value(/^connectly_ingest_webhooks_total\{outcome="accepted"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^connectly_ingest_archived_bytes_total (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^connectly_ingest_run_duration_seconds_count\{outcome="ready"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^connectly_ingest_event_publish_duration_seconds_count\{topic="ready"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^connectly_ingest_link_time_left_seconds_count (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^connectly_ingest_run_failures_total\{reason="retries-exhausted"\} (\d+)/m)).toBeGreaterThan(0);
    expect(text).toMatch(/^connectly_ingest_inbox_consumer_lag\{partition="0"\} \d+/m);
    expect(text).toMatch(/^connectly_ingest_runs_in_flight \d+/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});
