import request from 'supertest';
import { Server } from 'node:http';
import openapi from '../../docs/openapi.json';
import { isolatedEnv, ServiceUnderTest, startService } from '../support/service-harness';

describe('operations endpoints', () => {
  let service: ServiceUnderTest;
  let server: Server;

  beforeAll(async () => {
    service = await startService(isolatedEnv());
    server = service.app.getHttpServer() as Server;
  });

  afterAll(async () => {
    await service?.close();
  });

  it('should answer liveness without looking at any dependency', async () => {
    const response = await request(server).get('/health/live').expect(200);

    expect(response.body).toMatchObject({ status: 'ok', info: { process: { status: 'up' } } });
    expect(Object.keys(response.body.info as object)).toEqual(['process']);
  });

  it('should report readiness of intake, Kafka (producer, consumer, topics) and the bucket', async () => {
    const response = await request(server).get('/health/ready').expect(200);

    expect(response.body.info).toMatchObject({
      intake: { status: 'up' },
      kafka: { status: 'up', producer: 'connected', consumer: 'running' },
      storage: { status: 'up', bucket: service.env.S3_BUCKET },
    });
  });

  it('should list each dependency with its latency in the dependency report', async () => {
    const response = await request(server).get('/health/dependencies').expect(200);

    expect(response.body.status).toBe('up');
    expect(response.body.dependencies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'kafka', status: 'up', latencyMs: expect.any(Number) }),
        expect.objectContaining({ name: 'object-store', status: 'up', latencyMs: expect.any(Number) }),
      ]),
    );
  });

  it('should serve the OpenAPI document that is checked in, and every GET route in it should exist', async () => {
    const served = await request(server).get('/openapi.json').expect(200);
    expect(served.body).toEqual(openapi);

    const gets = Object.entries(openapi.paths).filter(([, operations]) => 'get' in operations);
    for (const [path] of gets) expect((await request(server).get(path)).status).not.toBe(404);
    expect((await request(server).post('/webhooks/connectly').send({})).status).toBe(400);
  });
});

describe('readiness with a missing topic', () => {
  let service: ServiceUnderTest | undefined;

  afterAll(async () => {
    await service?.close();
  });

  it('should stay not-ready and name the missing topic', async () => {
    const env = isolatedEnv();
    const { createTopics } = await import('../../scripts/stack/stack');
    await createTopics(env.KAFKA_BROKERS, [env.TOPIC_INBOX, env.TOPIC_REPORT_FAILED]);
    const { createApp } = await import('../../src/bootstrap');
    const { loadConfig } = await import('../../src/config/app-config');
    const app = await createApp(loadConfig(env));
    await app.listen(0, '127.0.0.1');
    service = { app, config: loadConfig(env), baseUrl: '', env, close: () => app.close() };

    const response = await request(app.getHttpServer() as Server)
      .get('/health/ready')
      .expect(503);
    expect(JSON.stringify(response.body)).toContain(env.TOPIC_REPORT_READY);
  });
});
