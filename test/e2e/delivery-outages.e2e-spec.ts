import { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createTopics, startS3, stopS3 } from '../../scripts/stack/stack';
import { campaignCsvBuffer, estimateCampaignCsvRows } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { ChildService, startChildService } from '../support/child-service';
import {
  addCampaignRun,
  archiveKeyOf,
  readyData,
  reportObjects,
  sha256,
  transferLeftovers,
  startSimulator,
} from '../support/delivery-kit';
import { CollectedEvent, collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { eventually } from '../support/eventually';
import { topicRecordCount, waitForInboxDrained } from '../support/kafka-offsets';
import { isolatedEnv, ServiceUnderTest, startService, testS3Client } from '../support/service-harness';

const MiB = 1024 * 1024;

describe('outages of the stores the service depends on', () => {
  let connectly: ConnectlySimulator;
  let simulatorEnv: Record<string, string>;
  let s3: S3Client;

  beforeAll(async () => {
    const simulator = await startSimulator(`key-${randomUUID()}`);
    connectly = simulator.connectly;
    simulatorEnv = simulator.env;
    s3 = testS3Client();
  });

  afterAll(async () => {
    await connectly?.stop();
    s3?.destroy();
  });

  const counts = async (env: Record<string, string>): Promise<{ ready: number; failed: number }> => ({
    ready: await topicRecordCount(env.KAFKA_BROKERS, env.TOPIC_REPORT_READY),
    failed: await topicRecordCount(env.KAFKA_BROKERS, env.TOPIC_REPORT_FAILED),
  });

  describe('when the S3 server stops while runs are in flight and queued', () => {
    let service: ServiceUnderTest;
    let events: EventCollector;

    beforeAll(async () => {
      service = await startService(
        isolatedEnv({ ...simulatorEnv, INGEST_MAX_ATTEMPTS: '100', INGEST_RETRY_MAX_MS: '1000' }),
      );
      events = await collectOutcomes(service.env);
    });

    afterAll(async () => {
      await startS3();
      await events?.stop();
      await service?.close();
    });

    const readiness = async (): Promise<{ status: number; body: string }> => {
      const response = await fetch(`${service.baseUrl}/health/ready`);
      return { status: response.status, body: await response.text() };
    };

    it('should retry every run and archive each exactly once after the server is back', async () => {
      const inFlight = campaignCsvBuffer({ rows: estimateCampaignCsvRows(2 * MiB), seed: 61 });
      const queued = Array.from({ length: 5 }, (_, index) => campaignCsvBuffer({ rows: 30 + index, seed: 70 + index }));
      const ids = ['rep_s3_in_flight', ...queued.map((_, index) => `rep_s3_queued_${index}`)];
      addCampaignRun(connectly, ids[0], 'run_1', inFlight);
      queued.forEach((body, index) => addCampaignRun(connectly, ids[index + 1], 'run_1', body));
      connectly.setDownloadFault(ids[0], 'run_1', {
        kind: 'once',
        fault: { kind: 'throttle', bytesPerSecond: 512 * 1024 },
      });
      const send = async (id: string): Promise<void> => {
        const payload = connectly.webhookPayload(id, 'run_1');
        expect((await connectly.sendWebhook(`${service.baseUrl}/webhooks/connectly`, payload)).status).toBe(202);
      };

      await send(ids[0]);
      await eventually('the in-flight download to start', () =>
        connectly.bytesWritten(ids[0], 'run_1') > 256 * 1024 ? true : undefined,
      );
      try {
        await stopS3();
        for (const id of ids.slice(1)) await send(id);
        await eventually('readiness to report the object store down', async () => {
          const ready = await readiness();
          const body = JSON.parse(ready.body) as { error?: { storage?: { status?: string } } };
          return ready.status === 503 && body.error?.storage?.status === 'down' ? true : undefined;
        });
        await eventually(
          'the in-flight download to end while the store is down',
          () => (connectly.downloads(ids[0], 'run_1')[0]?.finished === true ? true : undefined),
          30_000,
        );
      } finally {
        await startS3();
      }

      const announced = await events.waitFor(
        ids.length,
        (event: CollectedEvent) => ids.some((id) => withId(`${id}:run_1`)(event)),
        90_000,
      );
      await waitForInboxDrained(service.env);

      expect(announced.filter((event) => event.topic !== service.env.TOPIC_REPORT_READY)).toEqual([]);
      expect(await counts(service.env)).toEqual({ ready: ids.length, failed: 0 });
      expect(readyData(announced.find(withId(`${ids[0]}:run_1`))!).archive.checksum.value).toBe(sha256(inFlight));
      for (const id of ids)
        expect(await reportObjects(s3, service.env, id)).toEqual([archiveKeyOf(service.env, id, 'run_1')]);
      expect(await transferLeftovers(s3, service.env)).toEqual({ openUploads: 0, objects: [] });
      await eventually('readiness to recover', async () => ((await readiness()).status === 200 ? true : undefined));
    });
  });

  describe('when the report-ready topic does not exist (C04)', () => {
    let child: ChildService;
    let events: EventCollector | undefined;
    let env: Record<string, string>;

    afterAll(async () => {
      await events?.stop();
      await child?.stop();
    });

    it('should report not-ready naming the topic, keep the run, and publish it exactly once when the topic appears', async () => {
      env = isolatedEnv({ ...simulatorEnv });
      await createTopics(env.KAFKA_BROKERS, [env.TOPIC_INBOX, env.TOPIC_REPORT_FAILED]);
      child = await startChildService(env, { name: 'outage-missing-topic', waitFor: 'live', createTopics: false });
      await eventually('readiness to fail naming the missing topic', async () => {
        const ready = await child.probe('/health/ready');
        return ready?.status === 503 && ready.body.includes(env.TOPIC_REPORT_READY) ? true : undefined;
      });

      const source = campaignCsvBuffer({ rows: 40, seed: 81 });
      addCampaignRun(connectly, 'rep_no_topic', 'run_1', source);
      const response = await connectly.sendWebhook(
        `${child.baseUrl}/webhooks/connectly`,
        connectly.webhookPayload('rep_no_topic', 'run_1'),
      );
      expect(response.status).toBe(202);
      await eventually('the run to be archived', async () =>
        (await reportObjects(s3, env, 'rep_no_topic')).length === 1 ? true : undefined,
      );
      await eventually(
        'the service to log that report-ready could not be published',
        () => (child.logLines().some(isPublishFailure) ? true : undefined),
        60_000,
      );

      expect(child.exited).toBeUndefined();
      expect(child.logText()).not.toMatch(/unhandled/i);

      await createTopics(env.KAFKA_BROKERS, [env.TOPIC_REPORT_READY]);
      events = await collectOutcomes(env);
      const [announced] = await events.waitFor(1, withId('rep_no_topic:run_1'), 90_000);
      await waitForInboxDrained(env, 90_000);

      expect(announced.topic).toBe(env.TOPIC_REPORT_READY);
      expect(readyData(announced).archive.checksum.value).toBe(sha256(source));
      expect(await counts(env)).toEqual({ ready: 1, failed: 0 });
      expect(connectly.downloadCount('rep_no_topic', 'run_1')).toBe(1);
      expect(child.exited).toBeUndefined();
      expect(child.logText()).not.toMatch(/unhandled/i);
      expect((await child.probe('/health/ready'))?.status).toBe(200);
      expect(await transferLeftovers(s3, env)).toEqual({ openUploads: 0, objects: [] });
    }, 240_000);
  });
});

/** A log line at warn or above about the report-ready send: the broker refusing the topic, or retries running out. */
function isPublishFailure(line: Record<string, unknown>): boolean {
  const text = JSON.stringify(line);
  const level = typeof line.level === 'number' ? line.level : { warn: 40, error: 50, fatal: 60 }[String(line.level)];
  return (
    (level ?? 0) >= 40 &&
    !text.includes('Health Check') &&
    /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION|report-ready|NumberOfRetriesExceeded/i.test(text)
  );
}
