import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { campaignCsvBuffer, campaignCsvHeader } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { downloadFaults } from '../simulator/download-fault';
import type { ConnectlyWebhookPayload } from '../simulator/webhook-payload';
import type { WebhookResponse } from '../simulator/webhook-sender';
import { ensureServiceBuilt } from '../support/build-once';
import { ChildService, startChildService } from '../support/child-service';
import { addCampaignRun, failedData, reportsApiCalls, startSimulator } from '../support/delivery-kit';
import { CollectedEvent, collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { isolatedEnv } from '../support/service-harness';

const WEBHOOK = '/webhooks/connectly';
const compact = (): string => randomUUID().replace(/-/g, '');

/** Values the service holds or is sent that must never reach a log line, an event or an answer. */
const SECRETS = {
  connectlyApiKey: `connectly-api-key-${compact()}`,
  pathToken: `tok${compact()}`,
  hmacSecret: `hmac-secret-${compact()}`,
  adminToken: `admin-token-${compact()}`,
  linkPassword: `linkpw${compact()}`,
  callerBearer: `caller-bearer-${compact()}`,
  callerApiKey: `caller-api-key-${compact()}`,
  queryToken: `query-token-${compact()}`,
};

interface Sent {
  payload: ConnectlyWebhookPayload;
  headers: Record<string, string>;
  response: WebhookResponse;
}

describe('secrets, signed links and report content in logs, events and answers (child process, debug logs)', () => {
  let connectly: ConnectlySimulator;
  let child: ChildService;
  let events: EventCollector;
  const sent: Sent[] = [];
  const answers: WebhookResponse[] = [];
  const outcomes: CollectedEvent[] = [];
  const csvBodies: Buffer[] = [];

  /** Signs over `{timestamp}.{exact bytes}` as Connectly does; a wrong secret gives a signature the service refuses. */
  function signatureHeaders(body: string, secret = SECRETS.hmacSecret): Record<string, string> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
    return { 'x-signature': `sha256=${signature}`, 'x-signature-timestamp': timestamp };
  }

  async function deliver(
    payload: ConnectlyWebhookPayload,
    extra: Record<string, string> = {},
    secret?: string,
  ): Promise<WebhookResponse> {
    const body = JSON.stringify(payload);
    const headers = { ...signatureHeaders(body, secret), ...extra };
    const response = await connectly.sendWebhook(
      `${child.baseUrl}${WEBHOOK}/${SECRETS.pathToken}?token=${SECRETS.queryToken}`,
      body,
      headers,
    );
    sent.push({ payload, headers, response });
    return response;
  }

  function addRun(reportId: string, body: Buffer): void {
    csvBodies.push(body);
    addCampaignRun(connectly, reportId, 'run_1', body);
  }

  async function outcomeOf(reportId: string): Promise<CollectedEvent> {
    const [event] = await events.waitFor(1, withId(`${reportId}:run_1`), 90_000);
    outcomes.push(event);
    return event;
  }

  async function admin(token: string): Promise<WebhookResponse> {
    const response = await fetch(`${child.baseUrl}/admin/redrive?reportId=rep_nothing_failed`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
    const answer = { status: response.status, headers: {}, body: await response.text() };
    answers.push(answer);
    return answer;
  }

  beforeAll(async () => {
    const simulator = await startSimulator(SECRETS.connectlyApiKey);
    connectly = simulator.connectly;
    const env = isolatedEnv({
      ...simulator.env,
      LOG_LEVEL: 'debug',
      WEBHOOK_PATH_TOKEN: SECRETS.pathToken,
      WEBHOOK_HMAC_SECRET: SECRETS.hmacSecret,
      ADMIN_TOKEN: SECRETS.adminToken,
      INGEST_MAX_ATTEMPTS: '3',
    });
    child = await startChildService(env, { name: 'security-secrets' });
    events = await collectOutcomes(env);

    addRun('rep_ok', campaignCsvBuffer({ rows: 40, seed: 21 }));
    accepted(await deliver(connectly.webhookPayload('rep_ok', 'run_1')));
    await outcomeOf('rep_ok');

    addRun('rep_expired', campaignCsvBuffer({ rows: 30, seed: 22 }));
    accepted(await deliver(connectly.webhookPayload('rep_expired', 'run_1', { ttlMs: -60_000 })));
    await outcomeOf('rep_expired');

    addRun('rep_500', campaignCsvBuffer({ rows: 10, seed: 23 }));
    connectly.setDownloadFault('rep_500', 'run_1', downloadFaults.serverError());
    accepted(await deliver(connectly.webhookPayload('rep_500', 'run_1')));
    await outcomeOf('rep_500');

    addRun('rep_unparseable', Buffer.from(`${campaignCsvHeader}\n+15550009999,"an unclosed quote, and a name`));
    accepted(await deliver(connectly.webhookPayload('rep_unparseable', 'run_1')));
    await outcomeOf('rep_unparseable');

    addRun('rep_foreign_host', campaignCsvBuffer({ rows: 5, seed: 24 }));
    const foreign = connectly.webhookPayload('rep_foreign_host', 'run_1');
    const foreignUrl = new URL(foreign.report.last_run.result?.url ?? '');
    foreignUrl.host = 'evil.example.invalid';
    withLink(foreign, foreignUrl.toString());
    accepted(await deliver(foreign));
    await outcomeOf('rep_foreign_host');

    addRun('rep_credentials', campaignCsvBuffer({ rows: 5, seed: 25 }));
    const withCredentials = connectly.webhookPayload('rep_credentials', 'run_1');
    const credentialUrl = new URL(withCredentials.report.last_run.result?.url ?? '');
    credentialUrl.username = 'reports';
    credentialUrl.password = SECRETS.linkPassword;
    withLink(withCredentials, credentialUrl.toString());
    accepted(await deliver(withCredentials));
    await outcomeOf('rep_credentials');

    addRun('rep_caller_headers', campaignCsvBuffer({ rows: 5, seed: 26 }));
    const callerHeaders = { authorization: `Bearer ${SECRETS.callerBearer}`, 'x-api-key': SECRETS.callerApiKey };
    accepted(await deliver(connectly.webhookPayload('rep_caller_headers', 'run_1'), callerHeaders));
    await outcomeOf('rep_caller_headers');

    addRun('rep_bad_signature', campaignCsvBuffer({ rows: 5, seed: 27 }));
    answers.push(
      await deliver(connectly.webhookPayload('rep_bad_signature', 'run_1'), {}, 'another-secret-0123456789'),
    );
    const invalid = connectly.webhookPayload('rep_bad_signature', 'run_1') as unknown as Record<string, unknown>;
    invalid.timestamp = { note: SECRETS.callerBearer };
    answers.push(await deliver(invalid as unknown as ConnectlyWebhookPayload));

    await admin(`${SECRETS.adminToken.slice(0, -1)}x`);
    await admin(SECRETS.adminToken);
    const dependencies = await fetch(`${child.baseUrl}/health/dependencies`);
    answers.push({ status: dependencies.status, headers: {}, body: await dependencies.text() });
  }, 300_000);

  afterAll(async () => {
    await events?.stop();
    await child?.stop();
    await connectly?.stop();
  });

  /** Every string that must stay inside: secrets, the signed links and their parts, signatures sent, CSV content. */
  function forbidden(): string[] {
    const links = [
      ...sent.map((delivery) => delivery.payload.report.last_run.result?.url ?? ''),
      ...connectly.requests().map((request) => request.query.signature ?? ''),
    ].filter((value) => value !== '');
    const queries = links.flatMap((link) => (link.includes('?') ? [link.slice(link.indexOf('?'))] : [link]));
    const signatures = sent.map((delivery) => delivery.headers['x-signature'].replace(/^sha256=/, ''));
    const phones = csvBodies.flatMap((body) => body.toString('utf8').match(/\+1555\d{7}/g) ?? []);

    return [
      ...Object.values(SECRETS),
      process.env.AWS_SECRET_ACCESS_KEY ?? '',
      ...links,
      ...queries,
      ...signatures,
      ...new Set(phones),
    ];
  }

  const leaksIn = (text: string): string[] => forbidden().filter((secret) => text.includes(secret));

  it('should have run every scenario to its documented end', () => {
    expect(process.env.AWS_SECRET_ACCESS_KEY?.length ?? 0).toBeGreaterThanOrEqual(8);
    const byReport = Object.fromEntries(
      outcomes.map((event) => [event.key, event.topic.endsWith('report-ready') ? 'ready' : failedData(event).reason]),
    );

    expect(byReport).toEqual({
      rep_ok: 'ready',
      rep_expired: 'ready',
      rep_500: 'retries-exhausted',
      rep_unparseable: 'unexpected-content',
      rep_foreign_host: 'url-not-allowed',
      rep_credentials: 'url-not-allowed',
      rep_caller_headers: 'ready',
    });
    expect(reportsApiCalls(connectly).map((call) => call.headers['x-api-key'])).toContain(SECRETS.connectlyApiKey);
    expect(answers.map((answer) => answer.status)).toEqual([401, 400, 401, 200, 200]);
  });

  it('should write only JSON lines', () => {
    const lines = child
      .logText()
      .split('\n')
      .filter((line) => line.trim() !== '');
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });

    expect(notJson).toEqual([]);
  });

  it('should have logged the steps whose lines are checked', () => {
    const messages = new Set(child.logLines().map((line) => line.msg));

    expect(
      ['Fetched a fresh download link', 'Run attempt failed; retrying', 'Published report-failed'].filter(
        (message) => !messages.has(message),
      ),
    ).toEqual([]);
  });

  it('should log no secret, signed link, query string, signature or CSV content', () => {
    const leaking = child
      .logText()
      .split('\n')
      .map((line) => ({ line: line.slice(0, 400), leaks: leaksIn(line) }))
      .filter((entry) => entry.leaks.length > 0);

    expect(leaking).toEqual([]);
    expect(child.logText()).not.toMatch(/signature=|expires=|\+1555\d{7}/);
  });

  it('should put no secret, signed query or CSV content in any event, headers included', () => {
    const text = JSON.stringify(outcomes);

    expect(leaksIn(text)).toEqual([]);
    expect(text).not.toMatch(/signature=|expires=|\+1555\d{7}/);
  });

  it('should put no secret or signed query in any answer', () => {
    const text = JSON.stringify([...answers, ...sent.map((delivery) => delivery.response)]);

    expect(leaksIn(text)).toEqual([]);
    expect(text).not.toMatch(/signature=|expires=/);
  });
});

describe('start-up with an invalid secret (child process)', () => {
  it('should exit non-zero naming the variable, with no secret in its output', async () => {
    const mainJs = await ensureServiceBuilt();
    const marker = `Zq${compact().slice(0, 10)}`;
    const env = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      KAFKA_BROKERS: '127.0.0.1:1',
      S3_BUCKET: 'connectly-reports',
      CONNECTLY_BUSINESS_ID: 'biz_1',
      CONNECTLY_API_KEY: `${marker}-api-key`,
      WEBHOOK_HMAC_SECRET: marker,
      WEBHOOK_PATH_TOKEN: `${marker}/not-url-safe`,
      ADMIN_TOKEN: `${marker} short`,
    };

    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const started = spawn(process.execPath, [mainJs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      started.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      started.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
      const timer = setTimeout(() => started.kill('SIGKILL'), 30_000);
      started.on('error', reject);
      started.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, output: Buffer.concat(chunks).toString('utf8') });
      });
    });

    expect(code).toBe(1);
    expect(output).toContain('WEBHOOK_HMAC_SECRET');
    expect(output).toContain('WEBHOOK_PATH_TOKEN');
    expect(output).toContain('ADMIN_TOKEN');
    expect(output).not.toContain(marker);
  });
});

/** Setup steps fail loudly rather than leave a test to time out waiting for a run that was never queued. */
function accepted(response: WebhookResponse): void {
  if (response.status !== 202) throw new Error(`The webhook was not accepted: ${response.status} ${response.body}`);
}

function withLink(payload: ConnectlyWebhookPayload, url: string): void {
  const result = payload.report.last_run.result;
  if (result !== undefined) (result as { url: string }).url = url;
}
