import request from 'supertest';
import { createHmac } from 'node:crypto';
import { Server } from 'node:http';
import { EventCollector } from '../support/event-collector';
import { isolatedEnv, ServiceUnderTest, startService } from '../support/service-harness';
import { documentedWebhook } from '../support/webhook-payload';

const TOKEN = 'tok_e2e_0123456789abcdefghij';
const SECRET = 'e2e-hmac-secret-0123456789';

function signed(body: string, secret = SECRET, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return {
    'x-signature': `sha256=${signature}`,
    'x-signature-timestamp': String(timestamp),
    'content-type': 'application/json',
  };
}

describe('webhook caller checks', () => {
  let service: ServiceUnderTest;
  let server: Server;
  let inbox: EventCollector;

  beforeAll(async () => {
    service = await startService(
      isolatedEnv({
        NODE_ENV: 'production',
        WEBHOOK_PATH_TOKEN: TOKEN,
        WEBHOOK_HMAC_SECRET: SECRET,
        INGEST_MAX_ATTEMPTS: '1',
      }),
    );
    server = service.app.getHttpServer() as Server;
    inbox = new EventCollector(service.env.KAFKA_BROKERS, [service.env.TOPIC_INBOX]);
    await inbox.start();
  });

  afterAll(async () => {
    await inbox?.stop();
    await service?.close();
  });

  it('should accept a signed body at the token path, verified over its exact bytes', async () => {
    const body = `{ "report": ${JSON.stringify(documentedWebhook('rep_signed').report)},\n  "timestamp":"2025-04-30T12:34:56Z", "topic" : "report", "note": "caf\\u00e9 é" }\n`;
    const response = await request(server)
      .post(`/webhooks/connectly/${TOKEN}`)
      .set(signed(body))
      .send(body)
      .expect(202);

    expect(response.body).toEqual({ status: 'accepted', eventId: 'rep_signed:run_1' });
    await inbox.waitFor(1, (event) => event.key === 'rep_signed');
  });

  it.each([
    ['no token', '/webhooks/connectly', (body: string) => signed(body)],
    ['a wrong token', `/webhooks/connectly/${TOKEN}x`, (body: string) => signed(body)],
    ['no signature', `/webhooks/connectly/${TOKEN}`, () => ({ 'content-type': 'application/json' })],
    [
      'a signature made with another secret',
      `/webhooks/connectly/${TOKEN}`,
      (body: string) => signed(body, 'another-secret-0123456789'),
    ],
    [
      'a replayed, old signature',
      `/webhooks/connectly/${TOKEN}`,
      (body: string) => signed(body, SECRET, Math.floor(Date.now() / 1000) - 3600),
    ],
    [
      'one byte changed after signing',
      `/webhooks/connectly/${TOKEN}`,
      (body: string) => signed(body.replace('rep_tampered', 'rep_tampereX')),
    ],
  ])('should answer 401 without detail for %s, and queue nothing', async (_label, path, headersFor) => {
    const body = JSON.stringify(documentedWebhook('rep_tampered'));
    const response = await request(server).post(path).set(headersFor(body)).send(body).expect(401);

    expect(response.body).toMatchObject({ statusCode: 401, message: 'Unauthorized' });
    const sentinel = JSON.stringify(documentedWebhook(`rep_sentinel_${path.length}`));
    await request(server).post(`/webhooks/connectly/${TOKEN}`).set(signed(sentinel)).send(sentinel).expect(202);
    await inbox.waitFor(1, (event) => event.key === `rep_sentinel_${path.length}`);
    expect(inbox.events.map((event) => event.key)).not.toContain('rep_tampered');
  });

  it('should keep the token out of the request log path', async () => {
    const body = JSON.stringify(documentedWebhook('rep_logpath'));
    const response = await request(server)
      .post(`/webhooks/connectly/${TOKEN}`)
      .set(signed(body))
      .send(body)
      .expect(202);

    expect(JSON.stringify(response.headers)).not.toContain(TOKEN);
  });
});

describe('webhook source networks', () => {
  let service: ServiceUnderTest;

  afterEach(async () => {
    await service?.close();
  });

  it('should refuse a source outside the allowed networks with 403', async () => {
    service = await startService(isolatedEnv({ WEBHOOK_ALLOWED_CIDRS: '198.51.100.0/24' }));
    const server = service.app.getHttpServer() as Server;

    await request(server).post('/webhooks/connectly').send(documentedWebhook('rep_src')).expect(403);
  });

  it('should believe X-Forwarded-For only from a trusted proxy', async () => {
    service = await startService(
      isolatedEnv({ WEBHOOK_ALLOWED_CIDRS: '198.51.100.0/24', TRUSTED_PROXY_CIDRS: '127.0.0.0/8' }),
    );
    const server = service.app.getHttpServer() as Server;

    await request(server)
      .post('/webhooks/connectly')
      .set('x-forwarded-for', '198.51.100.20')
      .send(documentedWebhook('rep_fwd'))
      .expect(202);
    await request(server)
      .post('/webhooks/connectly')
      .set('x-forwarded-for', '203.0.113.5')
      .send(documentedWebhook('rep_fwd2'))
      .expect(403);
  });
});
