import request from 'supertest';
import { Server } from 'node:http';
import { startKafka, stopKafka } from '../../scripts/stack/stack';
import { eventually } from '../support/eventually';
import { isolatedEnv, ServiceUnderTest, startService } from '../support/service-harness';
import { documentedWebhook } from '../support/webhook-payload';

describe('when the Kafka broker is down', () => {
  let service: ServiceUnderTest;
  let server: Server;

  beforeAll(async () => {
    service = await startService(isolatedEnv({ KAFKA_PUBLISH_TIMEOUT_MS: '2000', INGEST_MAX_ATTEMPTS: '1' }));
    server = service.app.getHttpServer() as Server;
  });

  afterAll(async () => {
    await startKafka();
    await service?.close();
  });

  it('should answer 503 to webhooks, fail readiness, and recover without a restart', async () => {
    await stopKafka();

    const started = Date.now();
    const refused = await request(server).post('/webhooks/connectly').send(documentedWebhook('rep_outage')).expect(503);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(refused.body).toMatchObject({ statusCode: 503, message: expect.stringContaining('retry') });
    await eventually('readiness to fail', async () =>
      (await request(server).get('/health/ready')).status === 503 ? true : undefined,
    );
    expect((await request(server).get('/health/live')).status).toBe(200);

    await startKafka();
    await eventually(
      'readiness to recover',
      async () => ((await request(server).get('/health/ready')).status === 200 ? true : undefined),
      90_000,
    );
    await eventually(
      'a webhook to be accepted again',
      async () => {
        const response = await request(server).post('/webhooks/connectly').send(documentedWebhook('rep_after_outage'));
        return response.status === 202 ? true : undefined;
      },
      60_000,
    );
  });
});
