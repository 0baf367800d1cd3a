import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { Server } from 'node:http';
import { campaignCsvBuffer } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { startConnectly } from '../support/connectly-fixture';
import { collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { isolatedEnv, ServiceUnderTest, startService } from '../support/service-harness';

const ADMIN_TOKEN = 'admin-token-e2e-0123456789abcdef';

describe('replay and redrive', () => {
  let connectly: ConnectlySimulator;
  let service: ServiceUnderTest;
  let server: Server;
  let events: EventCollector;

  beforeAll(async () => {
    const apiKey = `key-${randomUUID()}`;
    const started = await startConnectly(apiKey);
    connectly = started.connectly;
    service = await startService(
      isolatedEnv({ ...started.env, CONNECTLY_API_KEY: apiKey, ADMIN_TOKEN, INGEST_MAX_ATTEMPTS: '2' }),
    );
    server = service.app.getHttpServer() as Server;
    events = await collectOutcomes(service.env);
  });

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await connectly?.stop();
  });

  const admin = (path: string) => request(server).post(path).set('authorization', `Bearer ${ADMIN_TOKEN}`);

  async function archive(reportId: string): Promise<void> {
    connectly.addRun({
      reportId,
      reportName: 'Replay',
      reportType: 'campaign.daily.custom',
      runId: 'run_1',
      body: campaignCsvBuffer({ rows: 7 }),
      createdAt: new Date('2025-04-30T12:00:00Z'),
    });
    await connectly.sendWebhook(`${service.baseUrl}/webhooks/connectly`, connectly.webhookPayload(reportId, 'run_1'));
    await events.waitFor(1, withId(`${reportId}:run_1`));
  }

  it('should re-announce an archived run from the archive alone, with the same id and reason replay', async () => {
    await archive('rep_replay');
    const response = await admin('/admin/reannounce?reportId=rep_replay').expect(200);
    const [initial, replayed] = await events.waitFor(2, withId('rep_replay:run_1'));

    expect(response.body).toEqual({ announced: 1 });
    expect(connectly.downloadCount('rep_replay', 'run_1')).toBe(1);
    expect(replayed.headers.ce_id).toBe(initial.headers.ce_id);
    expect(replayed.data.archive).toEqual(initial.data.archive);
    expect(replayed.data.content).toEqual(initial.data.content);
    expect(replayed.data.provenance).toEqual({ ...(initial.data.provenance as object), reason: 'replay' });
  });

  it('should select runs by the day of their creation', async () => {
    await archive('rep_replay_days');

    expect((await admin('/admin/reannounce?reportId=rep_replay_days&from=2025-05-01').expect(200)).body).toEqual({
      announced: 0,
    });
    expect(
      (await admin('/admin/reannounce?reportId=rep_replay_days&from=2025-04-30&to=2025-04-30').expect(200)).body,
    ).toEqual({
      announced: 1,
    });
  });

  it('should send a failed run through again once its cause is gone', async () => {
    connectly.addRun({
      reportId: 'rep_redrive',
      reportName: 'Redrive',
      reportType: 'campaign.daily.custom',
      runId: 'run_1',
      body: campaignCsvBuffer({ rows: 3 }),
    });
    connectly.setDownloadFault('rep_redrive', 'run_1', { kind: 'status', status: 500 });
    await connectly.sendWebhook(
      `${service.baseUrl}/webhooks/connectly`,
      connectly.webhookPayload('rep_redrive', 'run_1'),
    );
    const [failed] = await events.waitFor(1, withId('rep_redrive:run_1'));
    expect(failed.topic).toBe(service.env.TOPIC_REPORT_FAILED);

    connectly.setDownloadFault('rep_redrive', 'run_1', null);
    const response = await admin('/admin/redrive?reportId=rep_redrive').expect(200);
    const [, ready] = await events.waitFor(2, withId('rep_redrive:run_1'));

    expect(response.body).toEqual({ requeued: 1 });
    expect(ready.topic).toBe(service.env.TOPIC_REPORT_READY);
    expect(ready.data.provenance).toMatchObject({ urlRefreshed: true });
  });

  it('should refuse the admin endpoints without the token, and validate their filters', async () => {
    await request(server).post('/admin/reannounce').expect(401);
    await request(server)
      .post('/admin/reannounce')
      .set('authorization', 'Bearer wrong-token-0123456789abcdef')
      .expect(401);
    const bad = await admin('/admin/reannounce?from=yesterday').expect(400);

    expect(JSON.stringify(bad.body.message)).toContain('from must be a day');
  });
});

describe('admin endpoints without ADMIN_TOKEN', () => {
  let service: ServiceUnderTest;

  afterAll(async () => {
    await service?.close();
  });

  it('should not serve them at all', async () => {
    service = await startService(isolatedEnv());

    await request(service.app.getHttpServer() as Server)
      .post('/admin/reannounce')
      .expect(404);
  });
});
