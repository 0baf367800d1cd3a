/**
 * The acknowledgement baseline: a bare node:http server that makes the service's one Kafka write per webhook,
 * with the service's client and producer settings (idempotent, one request in flight, acks -1, the same
 * timeouts, key, value and header), and answers 202. No framework, no validation, no logging: what is left of
 * the service's latency once those are gone.
 *
 * With COALESCE=true it instead gathers the webhooks that arrive while a write is in flight into the next write
 * (still acks -1, each answered only once its own write is acknowledged): the change proposed for the service's
 * KafkaProducer, measured here beside the like-for-like baseline.
 *
 * Env: PORT, KAFKA_BROKERS, TOPIC_INBOX, KAFKA_CLIENT_ID, COALESCE. `GET /ready` answers 200 once connected.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Kafka, logLevel, Message, Partitioners } from 'kafkajs';

const PUBLISH_TIMEOUT_MS = 3000;
const BODY_LIMIT_BYTES = 64 * 1024;

interface Webhook {
  topic: string;
  timestamp: string;
  report: {
    id: string;
    name: string;
    type?: string;
    last_run: { id: string; status: string; result: { url: string; expires_at: string; created_at: string } };
  };
}

const kafka = new Kafka({
  clientId: process.env.KAFKA_CLIENT_ID ?? 'bench-baseline',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
  connectionTimeout: 3000,
  requestTimeout: 10000,
  retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 8 },
  logLevel: logLevel.WARN,
});
const producer = kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: Partitioners.DefaultPartitioner,
  allowAutoTopicCreation: false,
});
const topic = process.env.TOPIC_INBOX ?? 'bench-baseline.report-webhooks';
const MAX_BATCH = 500;
let connected = false;

interface Pending {
  message: Message;
  settle: (error?: Error) => void;
}

/** One write in flight at a time; whatever queued behind it goes out together in the next one. */
class Coalescer {
  private readonly queue: Pending[] = [];
  private flushing = false;

  write(message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const messages = batch.map((pending) => pending.message);
      const error = await producer.send({ topic, acks: -1, timeout: PUBLISH_TIMEOUT_MS, messages }).then(
        () => undefined,
        (failure: unknown) => (failure instanceof Error ? failure : new Error(String(failure))),
      );
      for (const pending of batch) pending.settle(error);
    }
    this.flushing = false;
  }
}

const coalescer = process.env.COALESCE === 'true' ? new Coalescer() : undefined;

function write(message: Message): Promise<unknown> {
  if (coalescer !== undefined) return coalescer.write(message);
  return producer.send({ topic, acks: -1, timeout: PUBLISH_TIMEOUT_MS, messages: [message] });
}

async function accept(webhook: Webhook): Promise<string> {
  const { id, name, type, last_run: run } = webhook.report;
  const eventId = `${id}:${run.id}`;
  const record = {
    version: 1,
    eventId,
    receivedAt: new Date().toISOString(),
    requestId: randomUUID(),
    traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
    webhook: { topic: 'report', timestamp: webhook.timestamp, report: { id, name, type, last_run: run } },
  };
  await withTimeout(
    write({ key: id, value: JSON.stringify(record), headers: { 'event-id': eventId } }),
    PUBLISH_TIMEOUT_MS,
  );
  return eventId;
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error('publish timeout')), ms)),
  );
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) req.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/ready') return answer(res, connected ? 200 : 503, { connected });
  if (req.method !== 'POST' || req.url !== '/webhooks/connectly') return answer(res, 404, { error: 'not found' });

  const webhook = JSON.parse((await readBody(req)).toString('utf8')) as Webhook;
  try {
    answer(res, 202, { status: 'accepted', eventId: await accept(webhook) });
  } catch {
    answer(res, 503, { error: 'not queued' });
  }
}

async function main(): Promise<void> {
  await producer.connect();
  connected = true;
  const server = createServer(
    (req, res) => void handle(req, res).catch(() => answer(res, 400, { error: 'bad request' })),
  );
  server.listen(Number(process.env.PORT ?? 3990), '127.0.0.1');
  process.once('SIGTERM', () => server.close(() => void producer.disconnect().finally(() => process.exit(0))));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
