import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { campaignCsvBuffer } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { startConnectly } from '../support/connectly-fixture';
import { EventCollector, withId } from '../support/event-collector';
import { eventually } from '../support/eventually';
import { ChildService, startChildService } from '../support/child-service';
import { isolatedEnv } from '../support/service-harness';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

interface ExportedSpan {
  name: string;
  traceId: string;
  parentSpanId?: string;
}

/** A stand-in OpenTelemetry collector on loopback that keeps the spans it is sent over OTLP/HTTP (JSON). */
class LocalCollector {
  readonly spans: ExportedSpan[] = [];
  private readonly server: Server = createServer((req, res) => void this.receive(req).finally(() => res.end('{}')));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async receive(req: IncomingMessage): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: ExportedSpan[] }> }>;
    };
    for (const resource of body.resourceSpans ?? []) {
      for (const scope of resource.scopeSpans ?? []) this.spans.push(...(scope.spans ?? []));
    }
  }
}

describe('trace context', () => {
  let connectly: ConnectlySimulator;
  let collector: LocalCollector;
  // A real process: the OTLP exporter loads its HTTP transport with a dynamic import, which jest's module sandbox refuses.
  let service: ChildService;
  let events: EventCollector;

  beforeAll(async () => {
    const apiKey = `key-${randomUUID()}`;
    const started = await startConnectly(apiKey);
    connectly = started.connectly;
    collector = new LocalCollector();
    const endpoint = await collector.start();
    const env = isolatedEnv({ ...started.env, CONNECTLY_API_KEY: apiKey, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    service = await startChildService(env, { name: 'tracing' });
    events = new EventCollector(service.env.KAFKA_BROKERS, [service.env.TOPIC_REPORT_READY]);
    await events.start();
  });

  afterAll(async () => {
    await events?.stop();
    await service?.stop();
    await connectly?.stop();
    await collector?.stop();
  });

  it('should carry the caller trace to the event and export a span per step in it', async () => {
    connectly.addRun({
      reportId: 'rep_trace',
      reportName: 'Trace',
      reportType: 'campaign.daily.custom',
      runId: 'run_1',
      body: campaignCsvBuffer({ rows: 5 }),
    });
    const payload = connectly.webhookPayload('rep_trace', 'run_1');
    const answer = await connectly.sendWebhook(`${service.baseUrl}/webhooks/connectly`, payload, {
      traceparent: CALLER,
    });
    expect(answer.status).toBe(202);

    const [event] = await events.waitFor(1, withId('rep_trace:run_1'));
    expect(event.headers.ce_traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(event.headers.ce_traceparent).not.toBe(CALLER);

    const spans = await eventually('both spans to be exported', () => {
      const names = collector.spans.filter((span) => span.traceId === TRACE_ID).map((span) => span.name);
      return names.includes('webhook.receive') && names.includes('report.ingest') ? collector.spans : undefined;
    });
    const receive = spans.find((span) => span.name === 'webhook.receive');
    expect(receive?.parentSpanId).toBe('00f067aa0ba902b7');
  });
});
