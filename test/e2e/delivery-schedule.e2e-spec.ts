import { randomUUID } from 'node:crypto';
import { campaignCsvBuffer } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { startConnectly } from '../support/connectly-fixture';
import { EventCollector, withId } from '../support/event-collector';
import { eventually } from '../support/eventually';
import { isolatedEnv, ServiceUnderTest, startService } from '../support/service-harness';

describe('a backlog of runs', () => {
  let connectly: ConnectlySimulator;
  let service: ServiceUnderTest;
  let events: EventCollector;

  beforeAll(async () => {
    const apiKey = `key-${randomUUID()}`;
    const started = await startConnectly(apiKey);
    connectly = started.connectly;
    service = await startService(isolatedEnv({ ...started.env, CONNECTLY_API_KEY: apiKey, INGEST_CONCURRENCY: '1' }));
    events = new EventCollector(service.env.KAFKA_BROKERS, [service.env.TOPIC_REPORT_READY]);
    await events.start();
  });

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await connectly?.stop();
  });

  const webhookUrl = (): string => `${service.baseUrl}/webhooks/connectly`;
  const downloadOrder = (): string[] =>
    connectly
      .requests()
      .filter((request) => request.path.startsWith('/downloads/rep_queue/'))
      .map((request) => request.path.split('/')[3].replace('.csv', ''));

  it('should download the run whose link expires soonest first', async () => {
    const add = (runId: string): unknown =>
      connectly.addRun({
        reportId: 'rep_queue',
        reportName: 'Queue',
        reportType: 'campaign.daily.custom',
        runId,
        body: campaignCsvBuffer({ rows: 20 }),
      });
    ['blocker', 'late', 'middle', 'soon'].forEach(add);
    // The first run holds the only slot while the others queue up behind it in one batch.
    connectly.setDownloadFault('rep_queue', 'blocker', { kind: 'throttle', bytesPerSecond: 4_000 });

    await connectly.sendWebhook(webhookUrl(), connectly.webhookPayload('rep_queue', 'blocker'));
    await eventually('the blocking download to start', () => (downloadOrder().includes('blocker') ? true : undefined));
    for (const [runId, ttlMs] of [
      ['late', 20 * 60_000],
      ['middle', 10 * 60_000],
      ['soon', 2 * 60_000],
    ] as const) {
      expect(
        (await connectly.sendWebhook(webhookUrl(), connectly.webhookPayload('rep_queue', runId, { ttlMs }))).status,
      ).toBe(202);
    }

    for (const runId of ['blocker', 'late', 'middle', 'soon']) await events.waitFor(1, withId(`rep_queue:${runId}`));
    expect(downloadOrder()).toEqual(['blocker', 'soon', 'middle', 'late']);
  });
});
