import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';

import { campaignCsvBuffer } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from './connectly-simulator';
import { downloadFaults } from './download-fault';
import { probe, type ProbeOptions, type ProbeResult } from './https-probe';
import type { AddRunInput } from './report-catalog';
import type { ReportsListing } from './reports-listing';
import type { DownloadRecord } from './request-log';
import { waitFor } from './wait-for';

const apiKey = 'test-api-key';
const businessId = 'biz_test';
const csv = campaignCsvBuffer({ rows: 40, seed: 3 });

describe(ConnectlySimulator.name, () => {
  let simulator: ConnectlySimulator;

  beforeEach(async () => {
    simulator = new ConnectlySimulator({ businessId, apiKey });
    await simulator.start();
  });

  afterEach(async () => {
    await simulator.stop();
  });

  function addRun(overrides: Partial<AddRunInput> = {}): void {
    simulator.addRun({
      reportId: 'rep_A',
      reportName: 'Daily Campaign Report',
      reportType: 'campaign.daily.custom',
      runId: 'run_1',
      body: csv,
      ...overrides,
    });
  }

  function get(url: string, options: Omit<ProbeOptions, 'ca'> = {}): Promise<ProbeResult> {
    return probe(url, { ca: simulator.ca, ...options });
  }

  function download(options: Omit<ProbeOptions, 'ca'> = {}): Promise<ProbeResult> {
    return get(simulator.signedUrl('rep_A', 'run_1', 60_000), options);
  }

  function latestDownload(): DownloadRecord | undefined {
    return simulator.downloads('rep_A', 'run_1').at(-1);
  }

  function reportsApi(query = '', headers: IncomingHttpHeaders = { 'x-api-key': apiKey }): Promise<ProbeResult> {
    return get(`${simulator.baseUrl}/v1/businesses/${businessId}/reporting/reports${query}`, { headers });
  }

  describe('start', () => {
    it('should listen on a random port with a certificate for localhost signed by the test CA', async () => {
      const result = await get(`${simulator.baseUrl}/nowhere`);

      expect(simulator.port).toBeGreaterThan(0);
      expect(simulator.baseUrl).toBe(`https://localhost:${simulator.port}`);
      expect(result.error).toBeUndefined();
      expect(result.status).toBe(404);
    });
  });

  describe('signedUrl', () => {
    it('should serve the run as text/csv with its Content-Length', async () => {
      addRun();

      const result = await download();

      expect(result.status).toBe(200);
      expect(result.headers['content-type']).toBe('text/csv');
      expect(result.headers['content-length']).toBe(String(csv.length));
      expect(result.body.equals(csv)).toBe(true);
    });

    it('should refuse a tampered signature with S3 AccessDenied', async () => {
      addRun();
      const url = new URL(simulator.signedUrl('rep_A', 'run_1', 60_000));
      const signature = url.searchParams.get('signature') ?? '';
      url.searchParams.set('signature', `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`);

      const result = await get(url.toString());

      expect(result.status).toBe(403);
      expect(result.body.toString()).toContain('<Code>AccessDenied</Code><Message>Signature does not match</Message>');
    });

    it('should refuse a URL whose expiry was pushed back or whose signature is missing', async () => {
      addRun();
      const extended = new URL(simulator.signedUrl('rep_A', 'run_1', 60_000));
      extended.searchParams.set('expires', String(Number(extended.searchParams.get('expires')) + 3600));
      const unsigned = new URL(extended);
      unsigned.searchParams.delete('signature');

      const results = await Promise.all([get(extended.toString()), get(unsigned.toString())]);

      for (const result of results) {
        expect(result.status).toBe(403);
        expect(result.body.toString()).toContain('Signature does not match');
      }
    });

    it('should stop working once the URL expires', async () => {
      addRun();
      const url = simulator.signedUrl('rep_A', 'run_1', 1_500);

      const first = await get(url);
      const later = await waitFor(async () => {
        const result = await get(url);
        return result.status === 403 && result;
      }, 'the URL to expire');

      expect(first.status).toBe(200);
      expect(later.body.toString()).toContain('<Code>AccessDenied</Code><Message>Request has expired</Message>');
    });

    it('should answer 404 NoSuchKey for a validly signed URL of an unknown run', async () => {
      const result = await get(simulator.signedUrl('rep_A', 'run_missing', 60_000));

      expect(result.status).toBe(404);
      expect(result.body.toString()).toContain('<Code>NoSuchKey</Code>');
    });
  });

  describe('constructor', () => {
    it('should sign and expire URLs on the clock it is given', async () => {
      let clock = Date.now();
      const skewed = new ConnectlySimulator({ businessId, apiKey, now: () => clock });
      await skewed.start();
      try {
        skewed.addRun({ reportId: 'rep_A', reportName: 'r', reportType: 't', runId: 'run_1', body: csv });
        const url = skewed.signedUrl('rep_A', 'run_1', 60_000);
        clock += 61_000;

        const result = await probe(url, { ca: skewed.ca });

        expect(result.body.toString()).toContain('Request has expired');
      } finally {
        await skewed.stop();
      }
    });
  });

  describe('addRun', () => {
    let dir: string;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'simulator-spec-'));
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('should stream a file body with its size', async () => {
      const file = join(dir, 'run.csv');
      await writeFile(file, csv);
      addRun({ body: { file } });

      const result = await download();

      expect(result.headers['content-length']).toBe(String(csv.length));
      expect(result.body.equals(csv)).toBe(true);
    });

    it('should send a stream body with chunked encoding', async () => {
      addRun({ body: () => Readable.from([csv.subarray(0, 100), csv.subarray(100)]) });

      const result = await download();

      expect(result.headers['transfer-encoding']).toBe('chunked');
      expect(result.headers['content-length']).toBeUndefined();
      expect(result.body.equals(csv)).toBe(true);
    });

    it('should replace a run added again under the same id', async () => {
      addRun();
      addRun({ body: Buffer.from('id\n1\n') });

      const result = await download();

      expect(result.body.toString()).toBe('id\n1\n');
    });
  });

  describe('webhookPayload', () => {
    it('should build the documented snake_case payload with a working URL', async () => {
      const createdAt = new Date('2025-04-30T12:00:00Z');
      addRun({ createdAt });
      const before = Date.now();

      const payload = simulator.webhookPayload('rep_A', 'run_1', { ttlMs: 120_000 });
      const result = payload.report.last_run.result;
      const downloaded = await get(result?.url ?? '');

      expect(payload).toEqual({
        topic: 'report',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) as string,
        report: {
          id: 'rep_A',
          name: 'Daily Campaign Report',
          type: 'campaign.daily.custom',
          last_run: {
            id: 'run_1',
            status: 'completed',
            result: {
              url: expect.stringContaining('/downloads/rep_A/run_1.csv?') as string,
              expires_at: expect.any(String) as string,
              created_at: '2025-04-30T12:00:00Z',
            },
          },
        },
      });
      expect(Date.parse(result?.expires_at ?? '') - before).toBeGreaterThan(115_000);
      expect(downloaded.body.equals(csv)).toBe(true);
    });

    it('should put type last or leave it out when asked', () => {
      addRun();

      const typeLast = simulator.webhookPayload('rep_A', 'run_1', { fieldOrder: 'type-last' });
      const untyped = simulator.webhookPayload('rep_A', 'run_1', { omitType: true });

      expect(Object.keys(typeLast.report)).toEqual(['id', 'name', 'last_run', 'type']);
      expect(Object.keys(untyped.report)).toEqual(['id', 'name', 'last_run']);
    });

    it('should leave out the result of a run that is still processing', () => {
      addRun({ status: 'processing' });

      const payload = simulator.webhookPayload('rep_A', 'run_1');

      expect(payload.report.last_run).toEqual({ id: 'run_1', status: 'processing' });
    });

    it('should carry an already expired URL when given a negative ttl', async () => {
      addRun();

      const payload = simulator.webhookPayload('rep_A', 'run_1', { ttlMs: -60_000 });
      const result = await get(payload.report.last_run.result?.url ?? '');

      expect(Date.parse(payload.report.last_run.result?.expires_at ?? '')).toBeLessThan(Date.now());
      expect(result.body.toString()).toContain('Request has expired');
    });
  });

  describe('sendWebhook', () => {
    let receiver: Server;
    let received: { headers: IncomingHttpHeaders; body: string }[];

    beforeEach(async () => {
      received = [];
      receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
          res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    });

    afterEach(async () => {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    });

    function receiverUrl(): string {
      return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/connectly`;
    }

    it('should POST the payload as JSON and return the answer', async () => {
      addRun();
      const payload = simulator.webhookPayload('rep_A', 'run_1');

      const response = await simulator.sendWebhook(receiverUrl(), payload, { 'x-test': 'yes' });

      expect(response).toMatchObject({ status: 202, body: '{"accepted":true}' });
      expect(JSON.parse(received[0].body)).toEqual(payload);
      expect(received[0].headers).toMatchObject({ 'content-type': 'application/json', 'x-test': 'yes' });
    });

    it('should send a raw body byte for byte', async () => {
      const raw = '{ "topic" : "report" }';

      await simulator.sendWebhook(receiverUrl(), raw);

      expect(received[0].body).toBe(raw);
    });
  });

  describe('GET /v1/businesses/:businessId/reporting/reports', () => {
    it('should refuse a missing or wrong X-API-Key with 401 JSON', async () => {
      const missing = await reportsApi('', {});
      const wrong = await reportsApi('', { 'x-api-key': 'nope' });

      for (const result of [missing, wrong]) {
        expect(result.status).toBe(401);
        expect(result.headers['content-type']).toBe('application/json');
      }
    });

    it('should list only the latest run of each report, camelCase, with a fresh working URL', async () => {
      addRun({ runId: 'run_1', body: Buffer.from('old\n') });
      addRun({ runId: 'run_2', createdAt: new Date('2025-05-01T00:00:00Z') });
      const before = Date.now();

      const result = await reportsApi();
      const listing = JSON.parse(result.body.toString()) as ReportsListing;
      const lastRun = listing.data[0].lastRun;
      const downloaded = await get(lastRun.result?.url ?? '');

      expect(listing.data).toHaveLength(1);
      expect(listing.data[0]).toMatchObject({
        id: 'rep_A',
        name: 'Daily Campaign Report',
        type: 'campaign.daily.custom',
      });
      expect(lastRun).toMatchObject({
        id: 'run_2',
        status: 'completed',
        result: { createdAt: '2025-05-01T00:00:00Z' },
      });
      expect(Date.parse(lastRun.result?.expiresAt ?? '') - before).toBeGreaterThan(290_000);
      expect(downloaded.body.equals(csv)).toBe(true);
    });

    it('should hand out a working URL after the webhook URL has expired', async () => {
      addRun();
      const stale = simulator.webhookPayload('rep_A', 'run_1', { ttlMs: -1_000 }).report.last_run.result?.url ?? '';

      const listing = JSON.parse((await reportsApi()).body.toString()) as ReportsListing;
      const fresh = listing.data[0].lastRun.result?.url ?? '';

      expect((await get(stale)).status).toBe(403);
      expect((await get(fresh)).status).toBe(200);
    });

    it('should filter by type and give no result for runs not completed', async () => {
      addRun();
      addRun({ reportId: 'rep_B', reportType: 'campaign.weekly.custom', status: 'failed' });

      const listing = JSON.parse((await reportsApi('?type=campaign.weekly.custom')).body.toString()) as ReportsListing;

      expect(listing.data).toEqual([
        {
          id: 'rep_B',
          name: 'Daily Campaign Report',
          type: 'campaign.weekly.custom',
          lastRun: { id: 'run_1', status: 'failed' },
        },
      ]);
    });
  });

  describe('POST /v1/businesses/:businessId/create/webhooks', () => {
    function register(body: unknown, key = apiKey): Promise<ProbeResult> {
      return get(`${simulator.baseUrl}/v1/businesses/${businessId}/create/webhooks`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    }

    it('should register an https address and answer 201', async () => {
      const result = await register({
        topic: 'report',
        address: 'https://ingest.example.test/webhooks/connectly',
        type: 'custom',
      });

      expect(result.status).toBe(201);
      expect(simulator.registeredWebhooks()).toEqual([JSON.parse(result.body.toString()) as unknown]);
      expect(simulator.registeredWebhooks()[0]).toMatchObject({
        topic: 'report',
        address: 'https://ingest.example.test/webhooks/connectly',
      });
    });

    it('should refuse an address that is not https', async () => {
      const result = await register({ topic: 'report', address: 'http://ingest.example.test/hook', type: 'custom' });

      expect(result.status).toBe(400);
      expect(simulator.registeredWebhooks()).toEqual([]);
    });

    it('should refuse a body that is not JSON', async () => {
      const result = await get(`${simulator.baseUrl}/v1/businesses/${businessId}/create/webhooks`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: '{"topic":',
      });

      expect(result.status).toBe(400);
    });

    it('should refuse a wrong API key', async () => {
      const result = await register(
        { topic: 'report', address: 'https://ingest.example.test/hook', type: 'custom' },
        'nope',
      );

      expect(result.status).toBe(401);
    });
  });

  describe('setDownloadFault', () => {
    beforeEach(() => addRun());

    it('should answer with the status, headers and body given', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', downloadFaults.slowDown(7));

      const result = await download();

      expect(result.status).toBe(429);
      expect(result.headers['retry-after']).toBe('7');
      expect(result.body.toString()).toContain('<Code>SlowDown</Code>');
    });

    it.each([
      ['expired', downloadFaults.expired(), 403, '<Code>AccessDenied</Code><Message>Request has expired</Message>'],
      ['expiredRequest', downloadFaults.expiredRequest(), 400, '<Code>ExpiredRequest</Code>'],
      ['gone', downloadFaults.gone(), 410, '<Code>Gone</Code>'],
      ['serverError', downloadFaults.serverError(), 500, '<Code>InternalError</Code>'],
    ])('should answer the %s preset as an S3 error', async (_name, fault, status, text) => {
      simulator.setDownloadFault('rep_A', 'run_1', fault);

      const result = await download();

      expect(result.status).toBe(status);
      expect(result.headers['content-type']).toBe('application/xml');
      expect(result.body.toString()).toContain(text);
    });

    it('should cut a body short of its Content-Length with a clean close', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'truncate', afterBytes: 600, mode: 'fin' });

      const result = await download();

      expect(result.headers['content-length']).toBe(String(csv.length));
      expect(result.body.length).toBe(600);
      expect(result.complete).toBe(false);
      expect(result.connectionEnd).toBe('fin');
    });

    it('should cut a body short of its Content-Length with a TCP reset', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'truncate', afterBytes: 600, mode: 'reset' });

      const result = await download();

      expect(result.headers['content-length']).toBe(String(csv.length));
      expect(result.body.length).toBeLessThanOrEqual(600);
      expect(result.complete).toBe(false);
      expect(result.connectionEnd).toBe('reset');
      expect(result.error).toBe('ECONNRESET');
    });

    it('should declare the Content-Length it is given', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', {
        kind: 'truncate',
        afterBytes: 600,
        mode: 'fin',
        contentLength: 1000,
      });

      const result = await download();

      expect(result.headers['content-length']).toBe('1000');
      expect(result.body.length).toBe(600);
    });

    it('should end a chunked body without its final chunk', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'chunked-truncate', afterBytes: 600 });

      const result = await download();

      expect(result.headers['transfer-encoding']).toBe('chunked');
      expect(result.body.length).toBe(600);
      expect(result.complete).toBe(false);
    });

    it('should pace a throttled body to its rate', async () => {
      const body = csv.subarray(0, 8_000);
      addRun({ body });
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'throttle', bytesPerSecond: 10_000 });
      const startedAt = Date.now();

      const result = await download();
      const writes = simulator.writeTimes('rep_A', 'run_1');

      expect(result.body.equals(body)).toBe(true);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(650);
      expect(writes.length).toBeGreaterThan(10);
      expect(writes[writes.length - 1] - writes[0]).toBeGreaterThanOrEqual(650);
    });

    it('should stall after some bytes and hold the connection until the client gives up', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'stall', afterBytes: 100 });

      const result = await download({ idleTimeoutMs: 300 });
      const record = await waitFor(() => latestDownload()?.closedAt && latestDownload(), 'the client to leave');

      expect(result.body.length).toBe(100);
      expect(result.error).toBe('idle timeout');
      expect(record).toMatchObject({ bytesWritten: 100, finished: false });
    });

    it('should gzip with the compressed Content-Length', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'gzip', contentLength: 'compressed' });

      const result = await download();

      expect(result.headers['content-encoding']).toBe('gzip');
      expect(result.headers['content-length']).toBe(String(result.body.length));
      expect(result.complete).toBe(true);
      expect(gunzipSync(result.body).equals(csv)).toBe(true);
    });

    it('should gzip under the uncompressed Content-Length and close after the compressed bytes', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'gzip', contentLength: 'uncompressed' });

      const result = await download();

      expect(result.headers['content-length']).toBe(String(csv.length));
      expect(result.body.length).toBeLessThan(csv.length);
      expect(result.complete).toBe(false);
      expect(gunzipSync(result.body).equals(csv)).toBe(true);
    });

    it('should send a truncated gzip stream inside consistent framing', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', {
        kind: 'gzip',
        contentLength: 'compressed',
        truncateCompressedAt: 500,
      });

      const result = await download();

      expect(result.headers['content-length']).toBe('500');
      expect(result.complete).toBe(true);
      expect(() => gunzipSync(result.body)).toThrow('unexpected end of file');
    });

    it('should gzip chunked when no Content-Length is wanted', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'gzip', contentLength: 'none' });

      const result = await download();

      expect(result.headers['transfer-encoding']).toBe('chunked');
      expect(result.body.equals(gzipSync(csv))).toBe(true);
    });

    it('should redirect to the location given', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'redirect', location: 'https://127.0.0.1:1/elsewhere.csv' });

      const result = await download();

      expect(result.status).toBe(302);
      expect(result.headers.location).toBe('https://127.0.0.1:1/elsewhere.csv');
    });

    it('should serve other content in place of the CSV', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', {
        kind: 'content',
        contentType: 'text/html',
        body: '<html>Oops</html>',
      });

      const result = await download();

      expect(result.status).toBe(200);
      expect(result.headers['content-type']).toBe('text/html');
      expect(result.body.toString()).toBe('<html>Oops</html>');
    });

    it('should hold the headers back for a delay fault', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'delay', ms: 300 });
      const startedAt = Date.now();

      const result = await download();

      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
      expect(result.body.equals(csv)).toBe(true);
    });

    it('should write the body in pieces of the size given', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'split', writeSize: 1_000 });

      const result = await download();

      expect(result.body.equals(csv)).toBe(true);
      expect(simulator.downloads('rep_A', 'run_1')[0].writes).toHaveLength(Math.ceil(csv.length / 1_000));
    });

    it('should apply a once fault to the next download only', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'once', fault: downloadFaults.serverError() });

      const first = await download();
      const second = await download();

      expect([first.status, second.status]).toEqual([500, 200]);
      expect(simulator.downloadCount('rep_A', 'run_1')).toBe(2);
    });

    it('should apply a times fault to that many downloads', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'times', count: 2, fault: downloadFaults.expired() });

      const statuses = [(await download()).status, (await download()).status, (await download()).status];

      expect(statuses).toEqual([403, 403, 200]);
    });

    it('should lift a fault set to null', async () => {
      simulator.setDownloadFault('rep_A', 'run_1', downloadFaults.serverError());
      simulator.setDownloadFault('rep_A', 'run_1', null);

      const result = await download();

      expect(result.status).toBe(200);
    });
  });

  describe('setGlobalDownloadFault', () => {
    it('should apply to every run without a fault of its own', async () => {
      addRun();
      addRun({ runId: 'run_2' });
      simulator.setGlobalDownloadFault(downloadFaults.serverError());
      simulator.setDownloadFault('rep_A', 'run_2', downloadFaults.gone());

      const first = await download();
      const second = await get(simulator.signedUrl('rep_A', 'run_2', 60_000));

      expect([first.status, second.status]).toEqual([500, 410]);
    });
  });

  describe('setApiFault', () => {
    it('should answer every API call with the fault until lifted', async () => {
      simulator.setApiFault({ status: 500 });

      const faulted = await reportsApi();
      simulator.setApiFault(null);
      const normal = await reportsApi();

      expect([faulted.status, normal.status]).toEqual([500, 200]);
    });

    it('should lift a once fault after one call', async () => {
      simulator.setApiFault({ status: 503, headers: { 'retry-after': '1' }, once: true });

      const first = await reportsApi();
      const second = await reportsApi();

      expect(first.headers['retry-after']).toBe('1');
      expect([first.status, second.status]).toEqual([503, 200]);
    });
  });

  describe('requests', () => {
    it('should record every request with its method, path, query and headers', async () => {
      addRun();

      await download({ headers: { 'x-trace': 'abc' } });
      await reportsApi('?type=campaign.daily.custom');

      expect(simulator.requests()).toEqual([
        expect.objectContaining({
          method: 'GET',
          path: '/downloads/rep_A/run_1.csv',
          headers: expect.objectContaining({ 'x-trace': 'abc' }) as unknown,
        }),
        expect.objectContaining({
          path: `/v1/businesses/${businessId}/reporting/reports`,
          query: { type: 'campaign.daily.custom' },
        }),
      ]);
      expect(simulator.downloadCount('rep_A', 'run_1')).toBe(1);
      expect(simulator.apiCallCount()).toBe(1);
    });
  });

  describe('bytesWritten', () => {
    it('should show the server held back by a client that does not read', async () => {
      const big = Buffer.alloc(32 * 1024 * 1024, 'a');
      addRun({ body: big });
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));

      const pending = download({ holdReadingUntil: held });
      const record = await waitFor(() => latestDownload()?.awaitingDrain && latestDownload(), 'the server to wait');
      const writtenWhileHeld = simulator.bytesWritten('rep_A', 'run_1');
      release();
      const result = await pending;

      expect(record.drainWaits).toBeGreaterThan(0);
      expect(writtenWhileHeld).toBeLessThan(big.length);
      expect(result.body.length).toBe(big.length);
      expect(simulator.bytesWritten('rep_A', 'run_1')).toBe(big.length);
    });
  });

  describe('reset', () => {
    it('should forget runs, faults and records', async () => {
      addRun();
      simulator.setGlobalDownloadFault(downloadFaults.serverError());
      await download();

      simulator.reset();
      addRun();
      const result = await download();

      expect(result.status).toBe(200);
      expect(simulator.requests()).toHaveLength(1);
    });
  });

  describe('stop', () => {
    it('should close stalled connections and resolve', async () => {
      addRun();
      simulator.setDownloadFault('rep_A', 'run_1', { kind: 'stall', afterBytes: 100 });
      const pending = download();
      await waitFor(() => simulator.bytesWritten('rep_A', 'run_1') === 100, 'the first bytes');

      await simulator.stop();
      const result = await pending;

      expect(result.body.length).toBe(100);
      expect(result.complete).toBe(false);
    });
  });
});
