import request from 'supertest';
import { Server } from 'node:http';
import { EventCollector } from '../support/event-collector';
import { isolatedEnv, ServiceUnderTest, startService } from '../support/service-harness';
import { documentedWebhook } from '../support/webhook-payload';

describe('POST /webhooks/connectly', () => {
  let service: ServiceUnderTest;
  let inbox: EventCollector;
  let server: Server;

  beforeAll(async () => {
    // A run that is never downloadable keeps the worker busy failing, which these tests do not look at.
    service = await startService(isolatedEnv({ INGEST_MAX_ATTEMPTS: '1' }));
    server = service.app.getHttpServer() as Server;
    inbox = new EventCollector(service.env.KAFKA_BROKERS, [service.env.TOPIC_INBOX]);
    await inbox.start();
  });

  afterAll(async () => {
    await inbox?.stop();
    await service?.close();
  });

  const inboxKeys = (): string[] => inbox.events.map((event) => event.key);

  it('should queue a valid webhook durably and answer 202 with the event id', async () => {
    const response = await request(server)
      .post('/webhooks/connectly')
      .send(documentedWebhook('rep_ok', 'run_1'))
      .expect(202);

    expect(response.body).toEqual({ status: 'accepted', eventId: 'rep_ok:run_1' });
    const [record] = await inbox.waitFor(1, (event) => event.key === 'rep_ok');
    expect(record.data).toMatchObject({ version: 1, eventId: 'rep_ok:run_1', webhook: { report: { id: 'rep_ok' } } });
    expect(record.headers['event-id']).toBe('rep_ok:run_1');
  });

  it('should carry a valid traceparent into the inbox record', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await request(server)
      .post('/webhooks/connectly')
      .set('traceparent', traceparent)
      .send(documentedWebhook('rep_trace'))
      .expect(202);

    const [record] = await inbox.waitFor(1, (event) => event.key === 'rep_trace');
    expect(record.data.traceparent).toBe(traceparent);
  });

  it('should return the request id as a header, and echo a well-formed one given by the caller', async () => {
    const response = await request(server)
      .post('/webhooks/connectly')
      .set('x-request-id', 'req-123')
      .send({})
      .expect(400);

    expect(response.headers['x-request-id']).toBe('req-123');
    expect(response.body.requestId).toBe('req-123');
  });

  describe('with a payload that breaks the schema', () => {
    it.each([
      [
        'an http link',
        (p: ReturnType<typeof documentedWebhook>) => (p.report.last_run.result.url = 'http://x.test/a.csv'),
        'report.last_run.result.url',
      ],
      [
        'a bad expiry',
        (p: ReturnType<typeof documentedWebhook>) => (p.report.last_run.result.expires_at = 'soon'),
        'report.last_run.result.expires_at',
      ],
      ['an empty report id', (p: ReturnType<typeof documentedWebhook>) => (p.report.id = ''), 'report.id'],
    ])('should answer 400 naming the field for %s, and queue nothing', async (_label, change, field) => {
      const payload = documentedWebhook('rep_bad', 'run_bad');
      change(payload);
      const response = await request(server).post('/webhooks/connectly').send(payload).expect(400);

      expect(JSON.stringify(response.body.message)).toContain(field);
      await request(server).post('/webhooks/connectly').send(documentedWebhook('rep_sentinel_after_bad')).expect(202);
      await inbox.waitFor(1, (event) => event.key === 'rep_sentinel_after_bad');
      expect(inboxKeys()).not.toContain('rep_bad');
    });
  });

  it.each([
    ['malformed JSON', 'application/json', '{"topic": "report",', 400],
    ['a JSON array', 'application/json', '[1,2]', 400],
    ['a __proto__ key', 'application/json', '{"topic":"report","__proto__":{"polluted":true}}', 400],
    ['a constructor.prototype key', 'application/json', '{"constructor":{"prototype":{"polluted":true}}}', 400],
    ['a text/plain body', 'text/plain', 'hello', 415],
    [
      'a body over the 64 KiB limit',
      'application/json',
      JSON.stringify({ topic: 'report', pad: 'x'.repeat(70_000) }),
      413,
    ],
  ])('should answer %s with a clear status', async (_label, contentType, body, status) => {
    const response = await request(server)
      .post('/webhooks/connectly')
      .set('content-type', contentType)
      .send(body)
      .expect(status);

    expect(response.body).toMatchObject({ statusCode: status });
    expect(typeof response.body.message).toBe('string');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['another topic', { topic: 'campaign', timestamp: '2025-04-30T12:34:56Z' }, 'rep_other_topic'],
    [
      'a run still processing',
      {
        ...documentedWebhook('rep_processing'),
        report: { ...documentedWebhook('rep_processing').report, last_run: { id: 'run_p', status: 'processing' } },
      },
      'rep_processing',
    ],
  ])('should answer 202 ignored for %s and queue nothing', async (_label, payload, key) => {
    const response = await request(server).post('/webhooks/connectly').send(payload).expect(202);

    expect(response.body.status).toBe('ignored');
    await request(server)
      .post('/webhooks/connectly')
      .send(documentedWebhook(`sentinel_${key}`))
      .expect(202);
    await inbox.waitFor(1, (event) => event.key === `sentinel_${key}`);
    expect(inboxKeys()).not.toContain(key);
  });
});
