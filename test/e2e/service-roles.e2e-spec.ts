import { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { campaignCsvBuffer } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { addCampaignRun, readyData, reportObjects, sha256, startSimulator } from '../support/delivery-kit';
import { collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { topicRecordCount, waitForInboxDrained } from '../support/kafka-offsets';
import { isolatedEnv, ServiceUnderTest, startService, testS3Client } from '../support/service-harness';

/**
 * SERVICE_ROLE splits the process in two: an intake that only answers webhooks into the inbox topic, and a
 * worker that only consumes the inbox. Together they do what one process in the default role does.
 */
describe('intake and worker as separate processes (SERVICE_ROLE)', () => {
  let connectly: ConnectlySimulator;
  let env: Record<string, string>;
  let intake: ServiceUnderTest;
  let worker: ServiceUnderTest | undefined;
  let events: EventCollector;
  let s3: S3Client;
  const source = campaignCsvBuffer({ rows: 300, seed: 61 });

  beforeAll(async () => {
    const simulator = await startSimulator(`key-${randomUUID()}`);
    connectly = simulator.connectly;
    env = isolatedEnv(simulator.env);
    // The intake has no object store to reach: an endpoint nobody listens on proves it never tries.
    intake = await startService({ ...env, SERVICE_ROLE: 'intake', S3_ENDPOINT: 'http://127.0.0.1:9' });
    events = await collectOutcomes(env);
    s3 = testS3Client();
  });

  afterAll(async () => {
    await events?.stop();
    await worker?.close();
    await intake?.close();
    await connectly?.stop();
    s3?.destroy();
  });

  it('should accept a webhook into the inbox and archive nothing while no worker runs', async () => {
    addCampaignRun(connectly, 'rep_split', 'run_1', source);
    const response = await connectly.sendWebhook(
      `${intake.baseUrl}/webhooks/connectly`,
      connectly.webhookPayload('rep_split', 'run_1'),
    );

    expect(response.status).toBe(202);
    expect(await topicRecordCount(env.KAFKA_BROKERS, env.TOPIC_INBOX)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(connectly.downloadCount('rep_split', 'run_1')).toBe(0);
    expect(events.events).toHaveLength(0);
  });

  it('should be ready on Kafka alone, without an object store', async () => {
    const ready = await fetch(`${intake.baseUrl}/health/ready`);
    const body = (await ready.json()) as { info: Record<string, { status: string }> };

    expect(ready.status).toBe(200);
    expect(Object.keys(body.info).sort()).toEqual(['intake', 'kafka']);
  });

  it('should archive and announce the queued run once a worker starts', async () => {
    worker = await startService({ ...env, SERVICE_ROLE: 'worker' });
    const [event] = await events.waitFor(1, withId('rep_split:run_1'));
    await waitForInboxDrained(env);

    expect(event.topic).toBe(env.TOPIC_REPORT_READY);
    expect(readyData(event).archive.checksum.value).toBe(sha256(source));
    expect(await reportObjects(s3, env, 'rep_split')).toHaveLength(1);
  });

  it('should have no webhook route in the worker, and check the object store there', async () => {
    const live = worker as ServiceUnderTest;
    const posted = await connectly.sendWebhook(
      `${live.baseUrl}/webhooks/connectly`,
      connectly.webhookPayload('rep_split', 'run_1'),
    );
    const ready = (await (await fetch(`${live.baseUrl}/health/ready`)).json()) as {
      info: Record<string, { status: string }>;
    };

    expect(posted.status).toBe(404);
    expect(Object.keys(ready.info).sort()).toEqual(['intake', 'kafka', 'storage']);
  });
});
