import { S3Client } from '@aws-sdk/client-s3';
import { createHmac, randomUUID } from 'node:crypto';
import http, { IncomingHttpHeaders } from 'node:http';
import { AddressInfo, connect, createServer, Server as NetServer, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { campaignCsvBuffer } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { DownloadFault } from '../simulator/download-fault';
import type { RunBody } from '../simulator/report-catalog';
import { DownloadLinks } from '../simulator/download-links';
import {
  addCampaignRun,
  downloadRequests,
  failedData,
  readyData,
  reportsApiCalls,
  transferLeftovers,
  startSimulator,
} from '../support/delivery-kit';
import { CollectedEvent, collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { isolatedEnv, listKeys, ServiceUnderTest, startService, testS3Client } from '../support/service-harness';
import { documentedWebhook } from '../support/webhook-payload';

const WEBHOOK = '/webhooks/connectly';
const MiB = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const PATH_TOKEN = `tok_${randomUUID().replace(/-/g, '')}`;
const HMAC_SECRET = `hmac-${randomUUID()}`;

type Payload = ReturnType<typeof documentedWebhook>;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json?: Record<string, unknown>;
}

interface Input {
  /** A string or Buffer is sent with its Content-Length; an array of Buffers is sent chunked, without one. */
  body?: string | Buffer | Buffer[];
  /** Default application/json; null sends no Content-Type. */
  contentType?: string | null;
  headers?: Record<string, string>;
  path?: string;
  method?: string;
}

/** A stand-in for an internal service: it counts every TCP connection it receives and closes it at once. */
class InternalTarget {
  connections = 0;
  private readonly server: NetServer = createServer((socket: Socket) => {
    this.connections += 1;
    socket.destroy();
  });

  async listen(host: '127.0.0.1' | '::1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** One HTTP exchange with full control over framing and headers (supertest would fix up what these tests break). */
function exchange(baseUrl: string, input: Input): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  const path = input.path ?? WEBHOOK;
  const chunked = Array.isArray(input.body);
  const headers: Record<string, string | number> = { ...input.headers };
  const contentType = input.contentType === undefined ? 'application/json' : input.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  if (!chunked && input.body !== undefined) headers['content-length'] = Buffer.byteLength(input.body as string);

  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method: input.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: jsonOf(text) });
        req.destroy();
      });
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${input.method ?? 'POST'} ${path}`)));
    // The server may answer (413) and close before every byte is written; the answer is what counts.
    req.on('error', (error) => (req.writableEnded ? undefined : reject(error)));
    if (Array.isArray(input.body)) Readable.from(input.body).pipe(req);
    else req.end(input.body);
  });
}

/** Bytes written as they are to a socket, for framing an HTTP client would refuse to produce; returns the status. */
function rawStatus(baseUrl: string, request: string): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setTimeout(15_000, () => socket.destroy(new Error('no answer to a raw request')));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (status !== null) {
        resolve(Number(status[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the connection closed without a status line: ${answer}`)));
    socket.end(request);
  });
}

function jsonOf(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let level = 0; level < depth; level += 1) value = { n: value };
  return value;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = target;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  node[last] = value;
}

/** What every answer is judged on: its status and, for an error from the app, Nest's JSON body and request id. */
function verdictOf(answer: Answer): { status: number; body: string } {
  if (answer.status < 400 || answer.status === 431) return { status: answer.status, body: 'not checked' };
  const json = answer.json;
  const wellFormed =
    json?.statusCode === answer.status &&
    json.requestId === answer.headers['x-request-id'] &&
    (typeof json.message === 'string' || Array.isArray(json.message));

  return { status: answer.status, body: wellFormed ? 'a JSON error naming a message' : answer.text.slice(0, 300) };
}

function verdictFor(status: number): { status: number; body: string } {
  return { status, body: status < 400 || status === 431 ? 'not checked' : 'a JSON error naming a message' };
}

/** What a link case expects to see: refused at intake naming the url field, or a url-not-allowed report-failed. */
function expectedRefusal(expectation: { intake: 400 } | { message: RegExp }): Record<string, unknown> {
  if ('intake' in expectation) return { intake: expect.stringContaining('url') };
  return { reason: 'url-not-allowed', message: expect.stringMatching(expectation.message), attempts: 1 };
}

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

function expectPrototypesUntouched(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_KEYS);
}

describe('webhook intake under hostile input (C18, C21)', () => {
  let connectly: ConnectlySimulator;
  let service: ServiceUnderTest;
  let events: EventCollector;
  let v4: InternalTarget;
  let v6: InternalTarget;
  let v4Port: number;
  let v6Port: number;

  beforeAll(async () => {
    v4 = new InternalTarget();
    v6 = new InternalTarget();
    v4Port = await v4.listen('127.0.0.1');
    v6Port = await v6.listen('::1');
    const simulator = await startSimulator(`key-${randomUUID()}`);
    connectly = simulator.connectly;
    // Loopback and private addresses refused: every link here must be refused before a byte leaves the service.
    service = await startService(
      isolatedEnv({
        ...simulator.env,
        // The listeners' ports are allowed, so that what refuses these links is the private-address check itself.
        DOWNLOAD_ALLOWED_HOSTS: ['localhost', '127.0.0.1', '0.0.0.0']
          .flatMap((host) => [`${host}:${v4Port}`, `${host}:${v6Port}`, `${host}:${simulator.connectly.port}`])
          .join(','),
        DOWNLOAD_ALLOW_PRIVATE_ADDRESSES: 'false',
        INGEST_MAX_ATTEMPTS: '2',
        ADMIN_TOKEN,
      }),
    );
    events = new EventCollector(service.env.KAFKA_BROKERS, [
      service.env.TOPIC_INBOX,
      service.env.TOPIC_REPORT_READY,
      service.env.TOPIC_REPORT_FAILED,
    ]);
    await events.start();
  });

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await connectly?.stop();
    await v4?.close();
    await v6?.close();
  });

  /** A link on the loopback listener: if any check lets it through, the listener counts the connection. */
  const trapLink = (): string => `https://localhost:${v4Port}/trap.csv`;
  const payload = (reportId: string, runId = 'run_1'): Payload => documentedWebhook(reportId, runId, trapLink());
  const body = (value: unknown): string => JSON.stringify(value);

  async function expectServiceAlive(): Promise<void> {
    const live = await fetch(`${service.baseUrl}/health/live`, { signal: AbortSignal.timeout(5000) });
    expect(live.status).toBe(200);
    expectPrototypesUntouched();
  }

  /** Sends one request, then checks the process is still alive and no prototype was touched. */
  async function answerTo(input: Input): Promise<Answer> {
    const answer = await exchange(service.baseUrl, input);
    await expectServiceAlive();
    return answer;
  }

  async function outcome(eventId: string): Promise<CollectedEvent> {
    const [event] = await events.waitFor(
      1,
      (candidate) => candidate.topic !== service.env.TOPIC_INBOX && withId(eventId)(candidate),
      30_000,
    );
    return event;
  }

  describe('bodies', () => {
    const oversize = (): string => body({ ...payload('rep_big'), pad: 'x'.repeat(70 * 1024) });
    const withResult = (reportId: string, field: 'url' | 'created_at' | 'expires_at', value: string): Payload => {
      const changed = payload(reportId);
      changed.report.last_run.result[field] = value;
      return changed;
    };

    const prototypeIn = (reportId: string, object: string, key: string): string =>
      body(payload(reportId)).replace(`"${object}":{`, `"${object}":{${key},`);
    const invalidUtf8InId = (): Buffer => {
      const [before, after] = body(payload('rep_utf8_')).split('rep_utf8_');
      return Buffer.concat([Buffer.from(`${before}rep_utf8_`), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
    };
    const PROTO = '"__proto__":{"polluted":true}';
    const CTOR = '"constructor":{"prototype":{"polluted":true}}';

    it.each<[string, () => Input, number]>([
      ['malformed JSON (cut short)', () => ({ body: '{"topic": "report",' }), 400],
      ['malformed JSON (trailing garbage)', () => ({ body: `${body(payload('rep_x'))} x` }), 400],
      ['malformed JSON (single quotes)', () => ({ body: "{'topic':'report'}" }), 400],
      ['malformed JSON (trailing comma)', () => ({ body: '{"topic":"report",}' }), 400],
      ['malformed JSON (NaN literal)', () => ({ body: '{"topic":NaN}' }), 400],
      ['malformed JSON (a comment)', () => ({ body: '{/* c */"topic":"report"}' }), 400],
      ['an empty body', () => ({ body: '' }), 400],
      ['a body of whitespace', () => ({ body: ' \n\t ' }), 400],
      ['JSON null', () => ({ body: 'null' }), 400],
      ['a JSON string', () => ({ body: '"report"' }), 400],
      ['a JSON number', () => ({ body: '42' }), 400],
      ['JSON true', () => ({ body: 'true' }), 400],
      ['an empty array', () => ({ body: '[]' }), 400],
      ['an array holding a valid webhook', () => ({ body: body([payload('rep_in_array')]) }), 400],
      ['text/plain', () => ({ body: body(payload('rep_plain')), contentType: 'text/plain' }), 415],
      ['a form', () => ({ body: 'topic=report', contentType: 'application/x-www-form-urlencoded' }), 415],
      [
        'multipart',
        () => ({
          body: '--b\r\nContent-Disposition: form-data; name="topic"\r\n\r\nreport\r\n--b--\r\n',
          contentType: 'multipart/form-data; boundary=b',
        }),
        415,
      ],
      ['no Content-Type', () => ({ body: body(payload('rep_no_type')), contentType: null }), 415],
      ['a +json media type', () => ({ body: body(payload('rep_vnd')), contentType: 'application/vnd.api+json' }), 415],
      [
        'application/json in capitals',
        () => ({ body: body(payload('rep_caps')), contentType: 'APPLICATION/JSON' }),
        202,
      ],
      [
        'a UTF-16 charset (read as UTF-8 whatever the charset)',
        () => ({
          body: Buffer.from(body(payload('rep_utf16')), 'utf16le'),
          contentType: 'application/json; charset=utf-16le',
        }),
        400,
      ],
      [
        'a gzip Content-Encoding (not decoded, so not JSON)',
        () => ({ body: Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]), headers: { 'content-encoding': 'gzip' } }),
        400,
      ],
      ['a body over the 64 KiB limit', () => ({ body: oversize() }), 413],
      [
        'a chunked body without length over the limit',
        () => ({ body: Array.from({ length: 6 }, () => Buffer.alloc(16 * 1024, 0x20)) }),
        413,
      ],
      ['a chunked body within the limit', () => ({ body: [Buffer.from(body(payload('rep_chunked')))] }), 202],
      ['nesting 17 levels deep', () => ({ body: body({ ...payload('rep_deep'), extra: nested(17, 1) }) }), 400],
      [
        'arrays nested 20,000 deep',
        () => ({ body: `{"topic":"report","extra":${'['.repeat(20_000)}${']'.repeat(20_000)}}` }),
        400,
      ],
      [
        'a 60 KB report name',
        () => ({
          body: body({ ...payload('rep_name'), report: { ...payload('rep_name').report, name: 'n'.repeat(60_000) } }),
        }),
        400,
      ],
      [
        'a 60 KB string in an unknown field',
        () => ({ body: body({ ...payload('rep_pad'), note: 'p'.repeat(60_000) }) }),
        202,
      ],
      [
        'a 3,000-character signed link (under the 8,192 documented)',
        () => ({ body: body(withResult('rep_long_url', 'url', `${trapLink()}?signature=${'a'.repeat(3000)}`)) }),
        202,
      ],
      [
        'a created_at that is an ISO week date',
        () => ({ body: body(withResult('rep_week', 'created_at', '2025-W18-3')) }),
        400,
      ],
      [
        'an expires_at that is an ISO ordinal date',
        () => ({ body: body(withResult('rep_ordinal', 'expires_at', '2025-120')) }),
        400,
      ],
      ['a __proto__ key at the top', () => ({ body: `{"topic":"report",${PROTO}}` }), 400],
      ['an escaped __proto__ key', () => ({ body: '{"topic":"report","\\u005f_proto__":{"polluted":true}}' }), 400],
      ['a __proto__ key in report', () => ({ body: prototypeIn('rep_p1', 'report', PROTO) }), 400],
      ['a __proto__ key in last_run', () => ({ body: prototypeIn('rep_p2', 'last_run', PROTO) }), 400],
      ['a __proto__ key in result', () => ({ body: prototypeIn('rep_p3', 'result', PROTO) }), 400],
      ['constructor.prototype at the top', () => ({ body: `{${CTOR}}` }), 400],
      ['constructor.prototype in report', () => ({ body: prototypeIn('rep_c1', 'report', CTOR) }), 400],
      ['constructor.prototype in last_run', () => ({ body: prototypeIn('rep_c2', 'last_run', CTOR) }), 400],
      ['constructor.prototype in result', () => ({ body: prototypeIn('rep_c3', 'result', CTOR) }), 400],
      [
        'a plain constructor key beside a valid webhook',
        () => ({ body: body({ ...payload('rep_ctor'), constructor: 1 }) }),
        202,
      ],
      [
        'Object.prototype names as keys',
        () => ({
          body: body({ ...payload('rep_names'), toString: 1, hasOwnProperty: 2, valueOf: 'x', __defineGetter__: [] }),
        }),
        202,
      ],
      ['a BOM before the JSON', () => ({ body: `\ufeff${body(payload('rep_bom'))}` }), 202],
      [
        'a timestamp of 1e400',
        () => ({ body: body(payload('rep_inf')).replace(/"timestamp":"[^"]*"/, '"timestamp":1e400') }),
        400,
      ],
      ['1e400 in an unknown field', () => ({ body: body(payload('rep_inf2')).replace('{', '{"big":1e400,') }), 202],
      ['invalid UTF-8 inside an id', () => ({ body: invalidUtf8InId() }), 400],
      ['invalid UTF-8 outside strings', () => ({ body: Buffer.from([0x7b, 0xff, 0x7d]) }), 400],
      [
        'an unpaired surrogate escape in an id',
        () => ({ body: body(payload('rep_surrogate_X')).replace('_X', '_\\ud800') }),
        400,
      ],
    ])('should answer %s with its status, never a 5xx', async (_label, input, status) => {
      expect(verdictOf(await answerTo(input()))).toEqual(verdictFor(status));
    });

    it('should refuse a declared length over the limit at once, without waiting for the body', async () => {
      const { hostname, port } = new URL(service.baseUrl);
      const started = Date.now();
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ hostname, port, path: WEBHOOK, method: 'POST', agent: false }, (res) =>
          resolve(res.statusCode ?? 0),
        );
        req.setHeader('content-type', 'application/json');
        req.setHeader('content-length', String(1024 * MiB));
        req.on('error', reject);
        req.flushHeaders();
      });

      expect(status).toBe(413);
      expect(Date.now() - started).toBeLessThan(5000);
      await expectServiceAlive();
    });

    it('should take the last of duplicate keys, as JSON.parse does, and say so in the event id', async () => {
      const first = body(payload('rep_dup_first').report);
      const last = body(payload('rep_dup_last').report);
      const answer = await answerTo({
        body: `{"topic":"report","timestamp":"2025-04-30T12:34:56Z","report":${first},"report":${last}}`,
      });
      expect(verdictOf(answer)).toEqual(verdictFor(202));

      expect(answer.json).toEqual({ status: 'accepted', eventId: 'rep_dup_last:run_1' });
    });

    it('should not spend long on a 60 KB link built to stall a URL validator', async () => {
      const hostile = payload('rep_redos');
      hostile.report.last_run.result.url = `https://${'a.'.repeat(30_000)}`;
      const started = Date.now();
      expect(verdictOf(await answerTo({ body: body(hostile) }))).toEqual(verdictFor(400));

      expect(Date.now() - started).toBeLessThan(2000);
    });

    it.each([
      ['a NUL', 'rep_\u0000nul'],
      ['a path traversal', '../../../etc/passwd'],
      ['a right-to-left override', 'rep_\u202egnp.exe'],
      ['an emoji', 'rep_\u{1f600}'],
      ['a backslash and percent escapes', 'rep\\..%2F..%2F'],
      ['a CR LF', 'rep\r\nforged: header'],
    ])('should accept an id with %s and carry it unchanged', async (_label, reportId) => {
      const answer = await answerTo({ body: body(payload(reportId, 'run_odd')) });
      expect(verdictOf(answer)).toEqual(verdictFor(202));
      const event = await outcome(`${reportId}:run_odd`);

      expect(answer.json).toEqual({ status: 'accepted', eventId: `${reportId}:run_odd` });
      expect(failedData(event).report.reportId).toBe(reportId);
      expect(failedData(event).reason).toBe('url-not-allowed');
    });
  });

  describe('fields of the wrong type', () => {
    const FIELDS = [
      'topic',
      'timestamp',
      'report',
      'report.id',
      'report.name',
      'report.type',
      'report.last_run',
      'report.last_run.id',
      'report.last_run.status',
      'report.last_run.result',
      'report.last_run.result.url',
      'report.last_run.result.expires_at',
      'report.last_run.result.created_at',
    ];
    const WRONG: Array<[string, unknown]> = [
      ['a number', 42],
      ['null', null],
      ['an array', ['x']],
      ['an object', { x: 1 }],
      ['a boolean', true],
    ];
    // report.type is optional, and class-validator's IsOptional takes null for absent.
    const statusOf = (field: string, value: unknown): number => (field === 'report.type' && value === null ? 202 : 400);
    const cases = FIELDS.flatMap((field) =>
      WRONG.map(([what, value]) => [statusOf(field, value), field, what, value] as const),
    );

    it.each(cases)('should answer %d when %s is %s', async (status, field, _what, value) => {
      const hostile = payload(`rep_type_${field}`) as unknown as Record<string, unknown>;
      setPath(hostile, field, value);
      const answer = await answerTo({ body: body(hostile) });
      expect(verdictOf(answer)).toEqual(verdictFor(status));
      const named = status === 400 ? (field.split('.').pop() as string) : '';

      expect(JSON.stringify(answer.json?.message ?? '')).toContain(named);
    });

    it.each([
      ['report', 'report'],
      ['last_run', 'report.last_run'],
      ['result', 'report.last_run.result'],
    ])('should answer 400 when %s is an array of the right object', async (_label, field) => {
      const hostile = payload(`rep_array_${field}`) as unknown as Record<string, unknown>;
      const inner = field.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], hostile);
      setPath(hostile, field, [inner]);

      expect(verdictOf(await answerTo({ body: body(hostile) }))).toEqual(verdictFor(400));
    });
  });

  describe('headers and framing', () => {
    it('should answer an oversize header with 431, from Node, before the app', async () => {
      expect(
        verdictOf(await answerTo({ body: body(payload('rep_hdr')), headers: { 'x-filler': 'f'.repeat(20 * 1024) } })),
      ).toEqual(verdictFor(431));
    });

    it.each([
      ['garbage', 'not-a-traceparent'],
      ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
      ['an all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
      ['capital hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
      ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
      ['a trace id one digit short', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
      ['two values', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01,00-1-2-01'],
    ])('should ignore a traceparent that is %s and start a new trace', async (label, traceparent) => {
      const reportId = `rep_trace_${label.replace(/\W+/g, '_')}`;
      expect(verdictOf(await answerTo({ body: body(payload(reportId)), headers: { traceparent } }))).toEqual(
        verdictFor(202),
      );
      const [record] = await events.waitFor(
        1,
        (event) => event.topic === service.env.TOPIC_INBOX && event.key === reportId,
      );

      expect(record.data.traceparent).toMatch(TRACEPARENT);
      expect(record.data.traceparent).not.toBe(traceparent);
      expect(String(record.data.traceparent)).not.toMatch(/^00-0{32}-/);
    });

    it.each([
      ['spaces', 'has spaces in it'],
      ['markup', '<script>alert(1)</script>'],
      ['129 characters', 'r'.repeat(129)],
      ['a JSON fragment', '","level":"fatal'],
      ['an empty value', ''],
    ])('should replace an x-request-id with %s by a fresh one', async (_label, requestId) => {
      const answer = await answerTo({ body: '{}', headers: { 'x-request-id': requestId } });
      expect(verdictOf(answer)).toEqual(verdictFor(400));

      expect(answer.headers['x-request-id']).toMatch(UUID);
      expect(answer.json?.requestId).toBe(answer.headers['x-request-id']);
    });

    it.each([
      [
        'Content-Length and Transfer-Encoding together (request smuggling)',
        `POST ${WEBHOOK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      ],
      [
        'two different Content-Lengths',
        `POST ${WEBHOOK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
      ],
      [
        'a malformed chunk size',
        `POST ${WEBHOOK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      ],
    ])('should refuse %s with 400 from Node', async (_label, request) => {
      expect(await rawStatus(service.baseUrl, request)).toBe(400);
      await expectServiceAlive();
    });

    it.each([
      ['a dot-dot path', `${WEBHOOK}/../connectly`, 'POST'],
      ['a sub-path', `${WEBHOOK}/x/y`, 'POST'],
      ['GET', WEBHOOK, 'GET'],
      ['PUT', WEBHOOK, 'PUT'],
    ])('should answer 404 to %s', async (_label, path, method) => {
      expect(verdictOf(await answerTo({ body: body(payload('rep_path')), path, method }))).toEqual(verdictFor(404));
    });
  });

  describe('links', () => {
    const refused = (message: RegExp) => ({ message });
    type Expectation = { intake: 400 } | { message: RegExp };

    /** The report-failed event of a run, reduced to what the link tests compare; credentials and query never in it. */
    async function refusalOf(eventId: string): Promise<Record<string, unknown>> {
      const failed = failedData(await outcome(eventId));
      expect(JSON.stringify(failed)).not.toMatch(/pw@|signature=abc|expires=1/);
      return { reason: failed.reason, message: failed.lastError.message, attempts: failed.attempts };
    }
    const LINKS: Array<[string, (v4: number, v6: number) => string, Expectation]> = [
      ['an http link', (p) => `http://127.0.0.1:${p}/x.csv`, { intake: 400 }],
      ['a file: link', () => 'file:///etc/passwd', { intake: 400 }],
      ['a gopher: link', (p) => `gopher://127.0.0.1:${p}/_x`, { intake: 400 }],
      ['loopback in decimal', (p) => `https://2130706433:${p}/x.csv`, { intake: 400 }],
      ['loopback in octal', (p) => `https://0177.0.0.1:${p}/x.csv`, { intake: 400 }],
      ['loopback in hex', (p) => `https://0x7f.0.0.1:${p}/x.csv`, { intake: 400 }],
      ['the metadata address', () => 'https://169.254.169.254/latest/meta-data/', refused(/host 169\.254\.169\.254/)],
      ['a private address', () => 'https://10.0.0.5/x.csv', refused(/host 10\.0\.0\.5/)],
      ['allowlisted literal loopback', (p) => `https://127.0.0.1:${p}/x.csv`, refused(/private/)],
      ['the unspecified address (reaches loopback)', (p) => `https://0.0.0.0:${p}/x.csv`, refused(/private/)],
      ['IPv6 loopback', (_p, p6) => `https://[::1]:${p6}/x.csv`, refused(/not allowed/)],
      ['the IPv6 unspecified address', (_p, p6) => `https://[::]:${p6}/x.csv`, refused(/not allowed/)],
      ['IPv4-mapped loopback', (p) => `https://[::ffff:127.0.0.1]:${p}/x.csv`, refused(/not allowed/)],
      ['credentials', (p) => `https://user:pw@localhost:${p}/x.csv`, refused(/credentials/)],
      [
        'a host outside the allowlist',
        () => 'https://evil.example.invalid/x.csv',
        refused(/host evil\.example\.invalid/),
      ],
      [
        'an allowlisted name as a sub-domain of another',
        () => 'https://localhost.evil.example.invalid/x.csv',
        refused(/host localhost\.evil\.example\.invalid/),
      ],
      [
        'a fragment that makes a validator see an allowlisted host',
        (p) => `https://evil.example.invalid#@localhost:${p}/x.csv`,
        refused(/host evil\.example\.invalid/),
      ],
      [
        'an allowlisted name that resolves to loopback',
        (p) => `https://localhost:${p}/x.csv?signature=abc&expires=1`,
        refused(/private/),
      ],
      ['an allowlisted name with a trailing dot', (p) => `https://LOCALHOST.:${p}/x.csv`, { intake: 400 }],
      [
        'a backslash that makes a validator see another host',
        (p) => `https://localhost:${p}\\@evil.example.invalid/x.csv`,
        refused(/private/),
      ],
      ['an IPv6 literal with a zone id', () => 'https://[fe80::1%25eth0]/x.csv', refused(/not allowed/)],
    ];

    it.each(LINKS)('should refuse %s and never connect', async (label, link, expectation) => {
      const reportId = `rep_link_${label.replace(/\W+/g, '_')}`;
      const hostile = payload(reportId);
      hostile.report.last_run.result.url = link(v4Port, v6Port);
      const atIntake = 'intake' in expectation;

      const answer = await answerTo({ body: body(hostile) });
      expect(verdictOf(answer)).toEqual(verdictFor(atIntake ? 400 : 202));
      const seen = atIntake ? { intake: JSON.stringify(answer.json?.message) } : await refusalOf(`${reportId}:run_1`);

      expect(seen).toEqual(expectedRefusal(expectation));
      expect({ v4: v4.connections, v6: v6.connections }).toEqual({ v4: 0, v6: 0 });
    });

    it('should check the fresh link the Reports API gives for an expired one, and fetch neither', async () => {
      const reportType = 'security.refresh-check';
      connectly.addRun({
        reportId: 'rep_link_refresh',
        reportName: 'Refresh check',
        reportType,
        runId: 'run_1',
        body: campaignCsvBuffer({ rows: 5 }),
      });
      const hostile = payload('rep_link_refresh');
      hostile.report.type = reportType;
      hostile.report.last_run.result.url = `https://127.0.0.1:${v4Port}/stale.csv`;
      hostile.report.last_run.result.expires_at = new Date(Date.now() - 60_000).toISOString();
      expect(verdictOf(await answerTo({ body: body(hostile) }))).toEqual(verdictFor(202));

      const refusal = await refusalOf('rep_link_refresh:run_1');
      const apiCalls = reportsApiCalls(connectly).filter((call) => call.query.type === reportType);

      expect(refusal).toEqual({ reason: 'url-not-allowed', message: expect.stringMatching(/private/), attempts: 1 });
      expect(apiCalls).toHaveLength(1);
      expect(downloadRequests(connectly, 'rep_link_refresh', 'run_1')).toEqual([]);
      expect({ v4: v4.connections, v6: v6.connections }).toEqual({ v4: 0, v6: 0 });
    });

    it('should pass a hostile report type to the Reports API as one query value, on the configured path', async () => {
      const reportType = 'x&type=campaign.daily.custom#/../../v1/other?y=1';
      const hostile = payload('rep_hostile_type');
      hostile.report.type = reportType;
      hostile.report.last_run.result.expires_at = new Date(Date.now() - 60_000).toISOString();
      expect(verdictOf(await answerTo({ body: body(hostile) }))).toEqual(verdictFor(202));

      const failed = failedData(await outcome('rep_hostile_type:run_1'));
      const calls = reportsApiCalls(connectly).filter((call) => call.query.type === reportType);

      expect(failed.reason).toBe('report-not-found');
      expect(calls.map((call) => call.path)).toEqual(['/v1/businesses/biz_e2e/reporting/reports']);
    });

    it('should have let no link through to a listener, nor been asked to download by any', () => {
      expect({ v4: v4.connections, v6: v6.connections }).toEqual({ v4: 0, v6: 0 });
      expect(connectly.requests().filter((request) => request.path.startsWith('/downloads/'))).toEqual([]);
    });
  });
  describe('operator endpoints', () => {
    it.each<[string, Record<string, string>]>([
      ['no Authorization header', {}],
      ['a wrong token', { authorization: 'Bearer wrong-token-0123456789abcdef' }],
      ['the token with its last character changed', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}x` }],
      ['the token without the Bearer scheme', { authorization: ADMIN_TOKEN }],
      [
        'the token as Basic credentials',
        { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      ],
      ['the token in another header', { 'x-api-key': ADMIN_TOKEN }],
    ])('should answer 401 to a redrive with %s', async (_label, headers) => {
      expect(verdictOf(await answerTo({ path: '/admin/redrive', headers, contentType: null }))).toEqual(
        verdictFor(401),
      );
    });

    it.each([
      ['an unknown reason', '/admin/redrive?reason=__proto__'],
      ['an id over 256 characters', `/admin/redrive?reportId=${'r'.repeat(300)}`],
      ['a day that is not a day', '/admin/reannounce?from=yesterday'],
      ['a repeated filter', '/admin/reannounce?reportId=a&reportId=b'],
    ])('should answer 400 to an authorised call with %s, and do nothing', async (_label, path) => {
      expect(
        verdictOf(await answerTo({ path, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, contentType: null })),
      ).toEqual(verdictFor(400));
    });

    it('should show no link query, credential or key on the unauthenticated /health/dependencies', async () => {
      const answer = await answerTo({ path: '/health/dependencies', method: 'GET', contentType: null });
      expect(verdictOf(answer)).toEqual(verdictFor(200));

      expect(answer.text).not.toMatch(/signature=|expires=|pw@|user:/);
      expect(answer.text).not.toContain(service.env.CONNECTLY_API_KEY);
      expect(answer.text).not.toContain(ADMIN_TOKEN);
    });
  });
});

describe('caller checks under hostile requests', () => {
  let service: ServiceUnderTest;
  let events: EventCollector;
  let v4: InternalTarget;
  let v4Port: number;

  beforeAll(async () => {
    v4 = new InternalTarget();
    v4Port = await v4.listen('127.0.0.1');
    service = await startService(
      isolatedEnv({
        NODE_ENV: 'production',
        WEBHOOK_PATH_TOKEN: PATH_TOKEN,
        WEBHOOK_HMAC_SECRET: HMAC_SECRET,
        DOWNLOAD_ALLOWED_HOSTS: 'localhost',
        DOWNLOAD_ALLOW_PRIVATE_ADDRESSES: 'false',
        CONNECTLY_API_BASE_URL: `https://localhost:${v4Port}`,
        INGEST_MAX_ATTEMPTS: '1',
      }),
    );
    events = new EventCollector(service.env.KAFKA_BROKERS, [service.env.TOPIC_INBOX]);
    await events.start();
  });

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await v4?.close();
  });

  const signedHeaders = (raw: string, timestamp = String(Math.floor(Date.now() / 1000)), secret = HMAC_SECRET) => ({
    'x-signature': `sha256=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`,
    'x-signature-timestamp': timestamp,
  });
  const raw = (reportId: string): string =>
    JSON.stringify(documentedWebhook(reportId, 'run_1', `https://localhost:${v4Port}/trap.csv`));

  async function answer(input: Input): Promise<Answer> {
    const result = await exchange(service.baseUrl, input);
    const live = await fetch(`${service.baseUrl}/health/live`, { signal: AbortSignal.timeout(5000) });
    expect(live.status).toBe(200);
    return result;
  }

  it.each([
    ['the token in the query string', `${WEBHOOK}?token=${PATH_TOKEN}`],
    ['no token, with a trailing slash', `${WEBHOOK}/`],
    ['no token, in capitals', WEBHOOK.toUpperCase()],
    ['the token with a trailing slash', `${WEBHOOK}/${PATH_TOKEN}/`],
    ['the token and a sub-path', `${WEBHOOK}/${PATH_TOKEN}/x`],
    ['a doubled slash before the token', `${WEBHOOK}//${PATH_TOKEN}`],
    ['a dot segment before the token', `${WEBHOOK}/./${PATH_TOKEN}`],
    ['the token cut short', `${WEBHOOK}/${PATH_TOKEN.slice(0, -1)}`],
    ['the token with a NUL', `${WEBHOOK}/${PATH_TOKEN}%00`],
    ['a matrix parameter', `${WEBHOOK};${PATH_TOKEN}`],
  ])('should never accept a correctly signed body at %s', async (label, path) => {
    const reportId = `rep_path_${label.replace(/\W+/g, '_')}`;
    const body = raw(reportId);
    const result = await answer({ path, body, headers: signedHeaders(body) });

    expect([401, 404]).toContain(result.status);
    expect(result.json).toMatchObject({ statusCode: result.status });
  });

  it.each<[string, (body: string) => Record<string, string>, number]>([
    ['the signature in capital hex', (body) => upper(signedHeaders(body)), 202],
    ['the signature without its sha256= prefix', (body) => unprefixed(signedHeaders(body)), 202],
    [
      'a sha1= prefix',
      (body) => ({
        ...signedHeaders(body),
        'x-signature': signedHeaders(body)['x-signature'].replace('sha256', 'sha1'),
      }),
      401,
    ],
    [
      'a signature one digit short',
      (body) => ({ ...signedHeaders(body), 'x-signature': signedHeaders(body)['x-signature'].slice(0, -1) }),
      401,
    ],
    ['an empty signature', (body) => ({ ...signedHeaders(body), 'x-signature': '' }), 401],
    ['a timestamp in milliseconds', (body) => signedHeaders(body, String(Date.now())), 401],
    ['a timestamp ten minutes ahead', (body) => signedHeaders(body, String(Math.floor(Date.now() / 1000) + 600)), 401],
    ['a negative timestamp', (body) => signedHeaders(body, '-1'), 401],
    ['a fractional timestamp', (body) => signedHeaders(body, `${Math.floor(Date.now() / 1000)}.5`), 401],
    ['a signature over the body with a trailing newline', (body) => signedHeaders(`${body}\n`), 401],
    ['a signature made with the path token as key', (body) => signedHeaders(body, undefined, PATH_TOKEN), 401],
  ])('should answer a webhook with %s with its status', async (label, headersFor, status) => {
    const reportId = `rep_sig_${label.replace(/\W+/g, '_')}`;
    const body = raw(reportId);
    const result = await answer({ path: `${WEBHOOK}/${PATH_TOKEN}`, body, headers: headersFor(body) });

    expect(result.status).toBe(status);
    expect(JSON.stringify(result.json)).not.toContain(HMAC_SECRET);
  });

  it('should answer 401 before reading a body that is over the limit', async () => {
    const result = await answer({ path: WEBHOOK, body: 'x'.repeat(200 * 1024) });

    expect(result.status).toBe(401);
  });

  it('should accept a replay of a signed webhook inside the window, as the same event', async () => {
    const body = raw('rep_replayed');
    const headers = signedHeaders(body);
    const first = await answer({ path: `${WEBHOOK}/${PATH_TOKEN}`, body, headers });
    const second = await answer({ path: `${WEBHOOK}/${PATH_TOKEN}`, body, headers });

    expect([first.json, second.json]).toEqual([
      { status: 'accepted', eventId: 'rep_replayed:run_1' },
      { status: 'accepted', eventId: 'rep_replayed:run_1' },
    ]);
    expect(v4.connections).toBe(0);
  });
});

function upper(headers: Record<string, string>): Record<string, string> {
  return { ...headers, 'x-signature': `sha256=${headers['x-signature'].slice(7).toUpperCase()}` };
}

function unprefixed(headers: Record<string, string>): Record<string, string> {
  return { ...headers, 'x-signature': headers['x-signature'].slice(7) };
}

describe('downloads from an allowlisted host that misbehaves (C21 redirects, size caps)', () => {
  let connectly: ConnectlySimulator;
  let service: ServiceUnderTest;
  let events: EventCollector;
  let s3: S3Client;
  let v4: InternalTarget;
  let v4Port: number;

  beforeAll(async () => {
    v4 = new InternalTarget();
    v4Port = await v4.listen('127.0.0.1');
    const simulator = await startSimulator(`key-${randomUUID()}`);
    connectly = simulator.connectly;
    // The simulator is on loopback, so private addresses are allowed here; no link below names a non-loopback
    // address, and the one foreign host name is refused by the allowlist before any DNS lookup.
    service = await startService(
      isolatedEnv({
        ...simulator.env,
        DOWNLOAD_ALLOW_PRIVATE_ADDRESSES: 'true',
        DOWNLOAD_MAX_BYTES: String(MiB),
        INGEST_MAX_ATTEMPTS: '2',
      }),
    );
    events = await collectOutcomes(service.env);
    s3 = testS3Client();
  });

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await connectly?.stop();
    await v4?.close();
    s3?.destroy();
  });

  async function run(reportId: string, fault: DownloadFault | null, body: RunBody = campaignCsvBuffer({ rows: 20 })) {
    addCampaignRun(connectly, reportId, 'run_1', body);
    connectly.setDownloadFault(reportId, 'run_1', fault);
    const response = await connectly.sendWebhook(
      `${service.baseUrl}${WEBHOOK}`,
      connectly.webhookPayload(reportId, 'run_1'),
    );
    expect(response.status).toBe(202);
    const [event] = await events.waitFor(1, withId(`${reportId}:run_1`), 60_000);
    return event;
  }

  it.each<[string, (port: number) => string, RegExp]>([
    ['a host outside the allowlist', () => 'https://evil.example.invalid/x.csv', /host evil\.example\.invalid/],
    ['http on an allowlisted host', (port) => `http://localhost:${port}/x.csv`, /scheme http:/],
    ['credentials on an allowlisted host', (port) => `https://user:pw@localhost:${port}/x.csv`, /credentials/],
    ['a loopback literal not in the allowlist', (port) => `https://127.0.0.1:${port}/x.csv`, /host 127\.0\.0\.1/],
    ['a file: URL', () => 'file:///etc/passwd', /scheme file:/],
  ])('should refuse a redirect to %s and never follow it', async (label, location, message) => {
    const reportId = `rep_redirect_${label.replace(/\W+/g, '_')}`;
    const event = await run(reportId, { kind: 'redirect', location: location(v4Port) });

    expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
    expect(failedData(event)).toMatchObject({ reason: 'url-not-allowed', attempts: 1 });
    expect(failedData(event).lastError.message).toMatch(message);
    expect(JSON.stringify(event.data)).not.toContain('pw@');
    expect(v4.connections).toBe(0);
  });

  it('should stop following redirects after three hops', async () => {
    addCampaignRun(connectly, 'rep_redirect_loop', 'run_1', campaignCsvBuffer({ rows: 2 }));
    const self = connectly.signedUrl('rep_redirect_loop', 'run_1', 5 * 60_000);
    const event = await run('rep_redirect_loop', {
      kind: 'times',
      count: 10,
      fault: { kind: 'redirect', location: self },
    });

    expect(failedData(event)).toMatchObject({ reason: 'url-not-allowed' });
    expect(failedData(event).lastError.message).toMatch(/redirected more than 3 times/);
    expect(downloadRequests(connectly, 'rep_redirect_loop', 'run_1')).toHaveLength(4);
  });

  it('should refuse a gzip bomb once the decoded bytes pass DOWNLOAD_MAX_BYTES, and store nothing', async () => {
    const zeros = (): Readable =>
      Readable.from(
        (function* () {
          for (let i = 0; i < 64; i += 1) yield Buffer.alloc(MiB, 0x30);
        })(),
      );
    const event = await run('rep_gzip_bomb', { kind: 'gzip', contentLength: 'none' }, zeros);

    expect(failedData(event)).toMatchObject({ reason: 'too-large' });
    expect(await listKeys(s3, service.env.S3_BUCKET, `${service.env.S3_PREFIX}/`)).not.toContainEqual(
      expect.stringContaining('report=rep_gzip_bomb'),
    );
    expect(await transferLeftovers(s3, service.env)).toEqual({ openUploads: 0, objects: [] });
  });

  it('should refuse an endless chunked body at DOWNLOAD_MAX_BYTES, and store nothing', async () => {
    const endless = (): Readable =>
      new Readable({
        read() {
          this.push(Buffer.alloc(64 * 1024, 0x31));
        },
      });
    const event = await run('rep_endless', null, endless);

    expect(failedData(event)).toMatchObject({ reason: 'too-large' });
    expect(connectly.bytesWritten('rep_endless', 'run_1')).toBeLessThan(64 * MiB);
    expect(await transferLeftovers(s3, service.env)).toEqual({ openUploads: 0, objects: [] });
  });

  it('should never announce one run archived under another run whose id differs only by an unpaired surrogate', async () => {
    const first = await run('rep_sur\ufffd', null);
    const firstKey = readyData(first).archive.key;
    const second = connectly.webhookPayload('rep_sur\ufffd', 'run_1') as unknown as Payload;
    second.report.id = 'rep_sur\ud800';
    second.report.last_run.result.url = `https://localhost:${v4Port}/never-fetched.csv`;
    const response = await connectly.sendWebhook(`${service.baseUrl}${WEBHOOK}`, JSON.stringify(second));

    const announced =
      response.status === 202
        ? await events.waitFor(1, (event) => (event.data.report as { reportId?: string }).reportId === 'rep_sur\ud800')
        : [];
    const keys = announced.map((event) => (event.data.archive as { key?: string } | undefined)?.key);

    expect(keys).not.toContain(firstKey);
  });

  it('should archive a run with hostile ids under the prefix, each id in its own encoded segment', async () => {
    const reportId = '../../..\\x\u0000/dt=1999-01-01';
    const runId = '..';
    addCampaignRun(connectly, reportId, runId, campaignCsvBuffer({ rows: 3 }));
    expect(DownloadLinks.parsePath(DownloadLinks.path(reportId, runId))).toEqual({ reportId, runId });
    const response = await connectly.sendWebhook(
      `${service.baseUrl}${WEBHOOK}`,
      connectly.webhookPayload(reportId, runId),
    );
    expect(response.status).toBe(202);

    const [event] = await events.waitFor(1, withId(`${reportId}:${runId}`), 60_000);
    const key = readyData(event).archive.key;

    expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
    expect(key.startsWith(`${service.env.S3_PREFIX}/type=`)).toBe(true);
    expect(key.slice(service.env.S3_PREFIX.length + 1).split('/')).toEqual([
      'type=campaign.daily.custom',
      'report=..%2F..%2F..%5Cx%00%2Fdt%3D1999-01-01',
      'dt=2025-04-30',
      'run=...csv',
    ]);
    expect(await listKeys(s3, service.env.S3_BUCKET, key)).toEqual([key]);
  });
});
