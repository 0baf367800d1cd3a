import { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { campaignCsvBuffer } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { ConnectlyWebhookPayload } from '../simulator/webhook-payload';
import { WebhookResponse } from '../simulator/webhook-sender';
import { addCampaignRun, readyData, REPORT_TYPE, reportObjects, sha256, startSimulator } from '../support/delivery-kit';
import { CollectedEvent, collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { topicRecordCount, waitForInboxDrained } from '../support/kafka-offsets';
import { isolatedEnv, listKeys, ServiceUnderTest, startService, testS3Client } from '../support/service-harness';

const BURST = 50;

describe('duplicate and concurrent deliveries (C19, C06)', () => {
  let connectly: ConnectlySimulator;
  let service: ServiceUnderTest;
  let events: EventCollector;
  let s3: S3Client;

  beforeAll(async () => {
    const simulator = await startSimulator(`key-${randomUUID()}`);
    connectly = simulator.connectly;
    service = await startService(isolatedEnv({ ...simulator.env, INGEST_CONCURRENCY: '3' }));
    events = await collectOutcomes(service.env);
    s3 = testS3Client();
  });

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await connectly?.stop();
    s3?.destroy();
  });

  /** POSTs a webhook and measures how long the answer took. */
  async function post(payload: ConnectlyWebhookPayload): Promise<WebhookResponse & { ms: number }> {
    const started = Date.now();
    const response = await connectly.sendWebhook(`${service.baseUrl}/webhooks/connectly`, payload);
    return { ...response, ms: Date.now() - started };
  }

  const readyTopicCount = (): Promise<number> =>
    topicRecordCount(service.env.KAFKA_BROKERS, service.env.TOPIC_REPORT_READY);
  const failedTopicCount = (): Promise<number> =>
    topicRecordCount(service.env.KAFKA_BROKERS, service.env.TOPIC_REPORT_FAILED);

  describe('the same run delivered again and again', () => {
    const source = campaignCsvBuffer({ rows: 200, seed: 4 });
    let payload: ConnectlyWebhookPayload;
    let first: CollectedEvent;

    beforeAll(() => {
      addCampaignRun(connectly, 'rep_dup', 'run_1', source);
      payload = connectly.webhookPayload('rep_dup', 'run_1');
    });

    async function expectOneDownloadAndOneObject(): Promise<void> {
      expect(connectly.downloadCount('rep_dup', 'run_1')).toBe(1);
      expect(await reportObjects(s3, service.env, 'rep_dup')).toHaveLength(1);
    }

    it('should answer five simultaneous deliveries within a second each, download once and announce five identical events', async () => {
      const responses = await Promise.all(Array.from({ length: 5 }, () => post(payload)));
      const announced = await events.waitFor(5, withId('rep_dup:run_1'));
      await waitForInboxDrained(service.env);
      first = announced[0];

      expect(responses.map((response) => response.status)).toEqual([202, 202, 202, 202, 202]);
      expect(Math.max(...responses.map((response) => response.ms))).toBeLessThan(1000);
      expect(events.events.filter(withId('rep_dup:run_1'))).toHaveLength(5);
      expect(new Set(announced.map((event) => event.topic))).toEqual(new Set([service.env.TOPIC_REPORT_READY]));
      for (const event of announced) expect(event.data).toEqual(first.data);
      expect(readyData(first).archive.checksum.value).toBe(sha256(source));
      await expectOneDownloadAndOneObject();
    });

    it('should announce a later delivery from the archive without downloading again', async () => {
      expect((await post(payload)).status).toBe(202);
      const announced = await events.waitFor(6, withId('rep_dup:run_1'));

      expect(announced[5].data).toEqual(first.data);
      await expectOneDownloadAndOneObject();
    });

    it('should still download nothing after a restart with the same group, topics and prefix', async () => {
      await service.close();
      service = await startService(service.env);
      expect((await post(payload)).status).toBe(202);
      const announced = await events.waitFor(7, withId('rep_dup:run_1'));
      await waitForInboxDrained(service.env);

      expect(events.events.filter(withId('rep_dup:run_1'))).toHaveLength(7);
      expect(await readyTopicCount()).toBe(7);
      expect(announced[6].data).toEqual({ ...first.data, producer: announced[6].data.producer });
      await expectOneDownloadAndOneObject();
    });
  });

  describe(`${BURST} distinct runs delivered at once`, () => {
    it('should announce each run exactly once, with no report-failed', async () => {
      const ids = Array.from({ length: BURST }, (_, index) => `rep_burst_${String(index).padStart(2, '0')}`);
      const sources = new Map(ids.map((id, index) => [id, campaignCsvBuffer({ rows: 20 + index, seed: index + 1 })]));
      for (const [id, body] of sources) addCampaignRun(connectly, id, 'run_1', body);
      const readyBefore = await readyTopicCount();

      const responses = await Promise.all(ids.map((id) => post(connectly.webhookPayload(id, 'run_1'))));
      const isBurst = (event: CollectedEvent): boolean => event.headers.ce_id?.startsWith('rep_burst_') ?? false;
      await events.waitFor(BURST, isBurst, 90_000);
      await waitForInboxDrained(service.env, 90_000);
      const announced = events.events.filter(isBurst);

      expect(responses.filter((response) => response.status !== 202)).toEqual([]);
      expect(announced).toHaveLength(BURST);
      expect(new Set(announced.map((event) => event.headers.ce_id))).toEqual(new Set(ids.map((id) => `${id}:run_1`)));
      expect(announced.filter((event) => event.topic !== service.env.TOPIC_REPORT_READY)).toEqual([]);
      expect((await readyTopicCount()) - readyBefore).toBe(BURST);
      expect(await failedTopicCount()).toBe(0);
      for (const event of announced) {
        expect(readyData(event).archive.checksum.value).toBe(sha256(sources.get(readyData(event).report.reportId)!));
      }
      for (const id of ids) expect(connectly.downloadCount(id, 'run_1')).toBe(1);
      expect(
        await listKeys(s3, service.env.S3_BUCKET, `${service.env.S3_PREFIX}/type=${REPORT_TYPE}/report=rep_burst_`),
      ).toHaveLength(BURST);
    });
  });
});
