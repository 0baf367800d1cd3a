import fc from 'fast-check';
import { AddressInfo, createServer, Server as NetServer, Socket } from 'node:net';
import { isolatedEnv, ServiceUnderTest, startService } from '../support/service-harness';
import { documentedWebhook } from '../support/webhook-payload';

const WEBHOOK = '/webhooks/connectly';
const ANSWERS = [202, 400, 413, 415];
const RUNS = 1000;
const TIME_LIMIT_MS = 90_000;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A loopback listener that counts connections and drops them: the only place a link or API call could land. */
class Trap {
  connections = 0;
  private readonly server: NetServer = createServer((socket: Socket) => {
    this.connections += 1;
    socket.destroy();
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const FIELD_PATHS = [
  [],
  ['topic'],
  ['timestamp'],
  ['report'],
  ['report', 'id'],
  ['report', 'name'],
  ['report', 'type'],
  ['report', 'last_run'],
  ['report', 'last_run', 'id'],
  ['report', 'last_run', 'status'],
  ['report', 'last_run', 'result'],
  ['report', 'last_run', 'result', 'url'],
  ['report', 'last_run', 'result', 'expires_at'],
  ['report', 'last_run', 'result', 'created_at'],
];

const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '../../etc/passwd',
  '\ud800',
  '\ufeff',
  'report',
  'completed',
  '2025-W18-3',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  'https://169.254.169.254/latest/meta-data/',
  'https://10.0.0.5/x.csv',
  'https://localhost/x.csv',
  'https://user:pw@localhost/x.csv',
  'https://[::1]/x.csv',
  'file:///etc/passwd',
  'x'.repeat(5000),
];

const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 64 }), fc.constantFrom(...HOSTILE_STRINGS));
const key = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...HOSTILE_KEYS));
const value: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: text },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, { maxKeys: 4 }) },
);

type Mutation =
  | { op: 'drop'; path: string[] }
  | { op: 'set'; path: string[]; value: Json }
  | { op: 'wrap'; path: string[] }
  | { op: 'add'; path: string[]; key: string; value: Json };

const path = fc.constantFrom(...FIELD_PATHS);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), path }),
  fc.record({ op: fc.constant('set' as const), path, value }),
  fc.record({ op: fc.constant('wrap' as const), path }),
  fc.record({ op: fc.constant('add' as const), path, key, value }),
);

/** Applies one mutation to a parsed webhook; the root can be replaced, so the result is returned. */
function apply(root: Json, change: Mutation): Json {
  if (change.path.length === 0) {
    if (change.op === 'set') return change.value;
    if (change.op === 'wrap') return [root];
    if (change.op === 'add' && isObject(root)) Object.defineProperty(root, change.key, enumerable(change.value));
    return root;
  }

  const parent = change.path.slice(0, -1).reduce<Json | undefined>((node, step) => {
    return isObject(node) ? node[step] : undefined;
  }, root);
  const last = change.path[change.path.length - 1];
  if (!isObject(parent)) return root;

  if (change.op === 'drop') delete parent[last];
  if (change.op === 'set') parent[last] = change.value;
  if (change.op === 'wrap') parent[last] = [parent[last] ?? null];
  if (change.op === 'add' && isObject(parent[last])) {
    Object.defineProperty(parent[last], change.key, enumerable(change.value));
  }
  return root;
}

/** An own, enumerable property even for `__proto__`, so that JSON.stringify writes the key as an attacker would. */
function enumerable(data: Json): PropertyDescriptor {
  return { value: data, enumerable: true, writable: true, configurable: true };
}

function isObject(node: Json | undefined): node is { [key: string]: Json } {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

interface Delivery {
  body: string | Uint8Array;
  contentType: string;
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      '',
    ),
  },
);

function deliveries(trapUrl: string): fc.Arbitrary<Delivery> {
  const documented = (reportId: string, runId: string): Json => documentedWebhook(reportId, runId, trapUrl);
  const mutated = fc
    .tuple(text, text, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([reportId, runId, changes]) =>
      JSON.stringify(changes.reduce((root, change) => apply(root, change), documented(reportId || 'r', runId || 'u'))),
    );
  const everyFieldRandom = fc
    .record({ topic: text, timestamp: text, id: text, name: text, type: text, runId: text, status: text, url: text })
    .map((fields) =>
      JSON.stringify({
        topic: fields.topic,
        timestamp: fields.timestamp,
        report: {
          id: fields.id,
          name: fields.name,
          type: fields.type,
          last_run: {
            id: fields.runId,
            status: fields.status,
            result: { url: fields.url, expires_at: fields.timestamp, created_at: fields.timestamp },
          },
        },
      }),
    );
  const corrupted = fc
    .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), text)
    .map(([flips, reportId]) => {
      const bytes = Buffer.from(JSON.stringify(documented(reportId || 'r', 'u')));
      for (const [at, byte] of flips) bytes[at % bytes.length] = byte;
      return new Uint8Array(bytes);
    });
  const body = fc.oneof(
    { weight: 2, arbitrary: fc.anything({ maxDepth: 3 }).map((anything) => JSON.stringify(anything) ?? 'undefined') },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((json) => JSON.stringify(json)) },
    { weight: 2, arbitrary: fc.object({ key, maxDepth: 3 }).map((object) => JSON.stringify(object)) },
    { weight: 5, arbitrary: mutated },
    { weight: 2, arbitrary: everyFieldRandom },
    { weight: 2, arbitrary: corrupted },
  );

  return fc.record({ body, contentType });
}

describe('POST /webhooks/connectly under fuzzing', () => {
  let service: ServiceUnderTest;
  let trap: Trap;
  let trapPort: number;

  beforeAll(async () => {
    trap = new Trap();
    trapPort = await trap.listen();
    // Every link is refused before connecting (only localhost is allowed, and it is private); the Reports API,
    // asked for expired links, is the trap too.
    service = await startService(
      isolatedEnv({
        DOWNLOAD_ALLOWED_HOSTS: 'localhost',
        DOWNLOAD_ALLOW_PRIVATE_ADDRESSES: 'false',
        CONNECTLY_API_BASE_URL: `https://localhost:${trapPort}`,
        INGEST_MAX_ATTEMPTS: '1',
      }),
    );
  });

  afterAll(async () => {
    await service?.close();
    await trap?.close();
  });

  async function post(delivery: Delivery): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${service.baseUrl}${WEBHOOK}`, {
      method: 'POST',
      headers: delivery.contentType === '' ? {} : { 'content-type': delivery.contentType },
      body: delivery.body,
      signal: AbortSignal.timeout(10_000),
    });
    const raw = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = raw;
    }
    return { status: response.status, json };
  }

  it(
    'should answer any body with 202, 400, 413 or 415 and a JSON body, never a 5xx',
    async () => {
      const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
      const seen = new Map<number, number>();

      await fc.assert(
        fc.asyncProperty(deliveries(`https://localhost:${trapPort}/trap.csv`), async (delivery) => {
          const { status, json } = await post(delivery);
          seen.set(status, (seen.get(status) ?? 0) + 1);

          expect(ANSWERS).toContain(status);
          expect(json).toEqual(expectedBody(status, json));
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );

      expect(seen.get(400) ?? 0).toBeGreaterThan(0);
      expect(seen.get(202) ?? 0).toBeGreaterThan(0);
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((await fetch(`${service.baseUrl}/health/live`)).status).toBe(200);
    },
    TIME_LIMIT_MS + 60_000,
  );

  it('should answer a burst of 100 concurrent over-limit bodies with 413 and stay alive', async () => {
    const big = JSON.stringify({ topic: 'report', pad: 'x'.repeat(70 * 1024) });
    const statuses = await Promise.all(
      Array.from({ length: 100 }, () => post({ body: big, contentType: 'application/json' }).then((r) => r.status)),
    );

    expect(new Set(statuses)).toEqual(new Set([413]));
    expect((await fetch(`${service.baseUrl}/health/live`)).status).toBe(200);
  });

  it('should have let nothing through to the loopback trap', () => {
    expect(trap.connections).toBe(0);
  });
});

/** A 202 says accepted with the event id or ignored with the reason; anything else is Nest's error body. */
function expectedBody(status: number, json: unknown): unknown {
  if (status !== 202) {
    return expect.objectContaining({ statusCode: status, message: expect.anything(), requestId: expect.any(String) });
  }
  const accepted = (json as { status?: unknown } | null)?.status === 'accepted';
  return accepted
    ? { status: 'accepted', eventId: expect.any(String) }
    : { status: 'ignored', reason: expect.any(String) };
}
