import { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { campaignCsvBuffer } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { DownloadFault, downloadFaults } from '../simulator/download-fault';
import { s3ErrorXml } from '../simulator/http-io';
import {
  addCampaignRun,
  archiveKeyOf,
  downloadRequests,
  failedData,
  readyData,
  REPORT_TYPE,
  reportObjects,
  reportsApiCalls,
  sha256,
  signatureOf,
  startSimulator,
} from '../support/delivery-kit';
import { CollectedEvent, collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { waitForInboxDrained } from '../support/kafka-offsets';
import { isolatedEnv, readObject, ServiceUnderTest, startService, testS3Client } from '../support/service-harness';

const API_URL_TTL_MS = 10 * 60_000;
const MAX_ATTEMPTS = 3;

describe('signed link refresh through the Reports API (C16)', () => {
  let connectly: ConnectlySimulator;
  let service: ServiceUnderTest;
  let events: EventCollector;
  let s3: S3Client;
  let apiKey: string;

  beforeAll(async () => {
    apiKey = `key-${randomUUID()}`;
    const simulator = await startSimulator(apiKey, API_URL_TTL_MS);
    connectly = simulator.connectly;
    service = await startService(isolatedEnv({ ...simulator.env, INGEST_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }));
    events = await collectOutcomes(service.env);
    s3 = testS3Client();
  });

  beforeEach(() => connectly.reset());

  afterAll(async () => {
    await events?.stop();
    await service?.close();
    await connectly?.stop();
    s3?.destroy();
  });

  const webhookUrl = (): string => `${service.baseUrl}/webhooks/connectly`;

  async function send(reportId: string, runId: string, ttlMs?: number): Promise<string> {
    const payload = connectly.webhookPayload(reportId, runId, { ttlMs });
    const response = await connectly.sendWebhook(webhookUrl(), payload);
    expect(response.status).toBe(202);
    return payload.report.last_run.result?.url ?? '';
  }

  async function outcome(reportId: string, runId: string): Promise<CollectedEvent> {
    const [event] = await events.waitFor(1, withId(`${reportId}:${runId}`));
    return event;
  }

  /** Once the inbox is committed every event is out; the run must have exactly one. */
  async function onlyOutcome(reportId: string, runId: string): Promise<CollectedEvent> {
    await outcome(reportId, runId);
    await waitForInboxDrained(service.env);
    const all = events.events.filter(withId(`${reportId}:${runId}`));
    expect(all).toHaveLength(1);
    return all[0];
  }

  async function expectNothingArchived(reportId: string): Promise<void> {
    expect(await reportObjects(s3, service.env, reportId)).toEqual([]);
  }

  describe('when the webhook link has already expired', () => {
    it('should fetch a fresh link first and never request the stale one', async () => {
      const source = campaignCsvBuffer({ rows: 30 });
      addCampaignRun(connectly, 'rep_past', 'run_1', source);
      const staleUrl = await send('rep_past', 'run_1', -60_000);

      const event = await onlyOutcome('rep_past', 'run_1');
      const downloads = downloadRequests(connectly, 'rep_past', 'run_1');
      const [apiCall] = reportsApiCalls(connectly);

      expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
      expect(downloads).toHaveLength(1);
      expect(downloads[0].query.signature).not.toBe(signatureOf(staleUrl));
      expect(reportsApiCalls(connectly)).toHaveLength(1);
      expect(apiCall.headers['x-api-key']).toBe(apiKey);
      expect(apiCall.at.getTime()).toBeLessThanOrEqual(downloads[0].at.getTime());
      expect(readyData(event).provenance).toMatchObject({ urlRefreshed: true, downloadAttempts: 1 });
      expect(
        (await readObject(s3, service.env.S3_BUCKET, archiveKeyOf(service.env, 'rep_past', 'run_1'))).equals(source),
      ).toBe(true);
    });
  });

  describe('when the download refuses a link that has not expired yet', () => {
    it.each<[string, DownloadFault]>([
      ['403 AccessDenied "Request has expired"', downloadFaults.expired()],
      ['400 ExpiredRequest', downloadFaults.expiredRequest()],
      ['401', { kind: 'status', status: 401, body: s3ErrorXml('AccessDenied', 'Request has expired') }],
      ['410 Gone', downloadFaults.gone()],
    ])('should ask the Reports API once after %s and archive the fresh download', async (label, fault) => {
      const reportId = `rep_refused_${label.replace(/\W+/g, '_')}`;
      const source = campaignCsvBuffer({ rows: 40, seed: 3 });
      addCampaignRun(connectly, reportId, 'run_1', source);
      connectly.setDownloadFault(reportId, 'run_1', { kind: 'once', fault });
      const webhookLink = await send(reportId, 'run_1');

      const event = await onlyOutcome(reportId, 'run_1');
      const downloads = downloadRequests(connectly, reportId, 'run_1');
      const apiCalls = reportsApiCalls(connectly);

      expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
      expect(apiCalls).toHaveLength(1);
      expect(apiCalls[0].headers['x-api-key']).toBe(apiKey);
      expect(downloads).toHaveLength(2);
      expect(downloads[0].query.signature).toBe(signatureOf(webhookLink));
      expect(downloads[1].query.signature).not.toBe(signatureOf(webhookLink));
      expect(readyData(event).provenance).toMatchObject({ urlRefreshed: true, downloadAttempts: 2 });
      expect(readyData(event).archive.checksum.value).toBe(sha256(source));
      expect(await reportObjects(s3, service.env, reportId)).toEqual([archiveKeyOf(service.env, reportId, 'run_1')]);
    });
  });

  describe('when the Reports API lists several reports', () => {
    it('should pick the report by id and the run by lastRun.id, and take expiresAt from the camelCase answer', async () => {
      const source = campaignCsvBuffer({ rows: 25, seed: 11 });
      addCampaignRun(connectly, 'rep_neighbour_a', 'run_7', campaignCsvBuffer({ rows: 3, seed: 1 }));
      addCampaignRun(connectly, 'rep_camel', 'run_1', source);
      addCampaignRun(connectly, 'rep_neighbour_b', 'run_1', campaignCsvBuffer({ rows: 4, seed: 2 }));
      await send('rep_camel', 'run_1', -60_000);

      const event = await onlyOutcome('rep_camel', 'run_1');
      const [download] = downloadRequests(connectly, 'rep_camel', 'run_1');
      const [apiCall] = reportsApiCalls(connectly);
      const provenance = readyData(event).provenance;

      expect(apiCall.query).toMatchObject({ type: REPORT_TYPE });
      expect(downloadRequests(connectly, 'rep_neighbour_a', 'run_7')).toEqual([]);
      expect(downloadRequests(connectly, 'rep_neighbour_b', 'run_1')).toEqual([]);
      expect(readyData(event).archive.checksum.value).toBe(sha256(source));
      expect(Date.parse(provenance.sourceUrlExpiresAt)).toBe(Number(download.query.expires) * 1000);
      expect(Date.parse(provenance.sourceUrlExpiresAt) - apiCall.at.getTime()).toBeGreaterThan(API_URL_TTL_MS - 2000);
    });
  });

  describe('when the Reports API fails', () => {
    it('should end as report-failed refresh-refused when it refuses the API key (401)', async () => {
      addCampaignRun(connectly, 'rep_api_401', 'run_1', campaignCsvBuffer({ rows: 5 }));
      connectly.setApiFault({
        status: 401,
        body: { error: { code: 'UNAUTHENTICATED', message: 'missing or invalid X-API-Key' } },
      });
      await send('rep_api_401', 'run_1', -60_000);

      const event = await onlyOutcome('rep_api_401', 'run_1');

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(failedData(event)).toMatchObject({ reason: 'refresh-refused', attempts: 1 });
      expect(failedData(event).lastError.message).toMatch(/401/);
      expect(downloadRequests(connectly, 'rep_api_401', 'run_1')).toEqual([]);
      await expectNothingArchived('rep_api_401');
    });

    it('should retry a 500 and archive once the API answers', async () => {
      addCampaignRun(connectly, 'rep_api_500', 'run_1', campaignCsvBuffer({ rows: 5 }));
      connectly.setApiFault({ status: 500, once: true });
      await send('rep_api_500', 'run_1', -60_000);

      const event = await onlyOutcome('rep_api_500', 'run_1');

      expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
      expect(reportsApiCalls(connectly)).toHaveLength(2);
      expect(downloadRequests(connectly, 'rep_api_500', 'run_1')).toHaveLength(1);
      expect(readyData(event).provenance).toMatchObject({ urlRefreshed: true, downloadAttempts: 1 });
    });

    it('should wait out Retry-After on a 429 before asking again', async () => {
      addCampaignRun(connectly, 'rep_api_429', 'run_1', campaignCsvBuffer({ rows: 5 }));
      connectly.setApiFault({ status: 429, headers: { 'retry-after': '1' }, once: true });
      await send('rep_api_429', 'run_1', -60_000);

      const event = await onlyOutcome('rep_api_429', 'run_1');
      const [refused, answered] = reportsApiCalls(connectly);
      const gapMs = answered.at.getTime() - refused.at.getTime();

      expect(event.topic).toBe(service.env.TOPIC_REPORT_READY);
      expect(reportsApiCalls(connectly)).toHaveLength(2);
      expect(gapMs).toBeGreaterThanOrEqual(950);
      expect(gapMs).toBeLessThan(4000);
    });
  });

  describe('when the run in hand can no longer be fetched', () => {
    it('should end as report-failed run-superseded naming run_2 when a newer run replaced it', async () => {
      addCampaignRun(connectly, 'rep_superseded', 'run_1', campaignCsvBuffer({ rows: 5 }));
      const payload = connectly.webhookPayload('rep_superseded', 'run_1', { ttlMs: -60_000 });
      addCampaignRun(connectly, 'rep_superseded', 'run_2', campaignCsvBuffer({ rows: 6 }));
      expect((await connectly.sendWebhook(webhookUrl(), payload)).status).toBe(202);

      const event = await onlyOutcome('rep_superseded', 'run_1');

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(failedData(event)).toMatchObject({ reason: 'run-superseded', supersededByRunId: 'run_2' });
      expect(downloadRequests(connectly, 'rep_superseded', 'run_1')).toEqual([]);
      expect(downloadRequests(connectly, 'rep_superseded', 'run_2')).toEqual([]);
      await expectNothingArchived('rep_superseded');
    });

    it('should end as report-failed run-failed when Connectly reports the run as failed', async () => {
      addCampaignRun(connectly, 'rep_run_failed', 'run_1', campaignCsvBuffer({ rows: 5 }));
      const payload = connectly.webhookPayload('rep_run_failed', 'run_1', { ttlMs: -60_000 });
      addCampaignRun(connectly, 'rep_run_failed', 'run_1', campaignCsvBuffer({ rows: 5 }), 'failed');
      expect((await connectly.sendWebhook(webhookUrl(), payload)).status).toBe(202);

      const event = await onlyOutcome('rep_run_failed', 'run_1');

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(failedData(event)).toMatchObject({ reason: 'run-failed', attempts: 1 });
      await expectNothingArchived('rep_run_failed');
    });

    it('should end as report-failed report-not-found when the API does not know the report', async () => {
      addCampaignRun(connectly, 'rep_known', 'run_1', campaignCsvBuffer({ rows: 5 }));
      const known = connectly.webhookPayload('rep_known', 'run_1', { ttlMs: -60_000 });
      const payload = { ...known, report: { ...known.report, id: 'rep_unknown' } };
      expect((await connectly.sendWebhook(webhookUrl(), payload)).status).toBe(202);

      const event = await onlyOutcome('rep_unknown', 'run_1');

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(failedData(event)).toMatchObject({ reason: 'report-not-found', attempts: 1 });
      expect(downloadRequests(connectly, 'rep_known', 'run_1')).toEqual([]);
      await expectNothingArchived('rep_unknown');
    });

    it('should end as report-failed run-not-ready after every attempt found the run processing', async () => {
      addCampaignRun(connectly, 'rep_processing', 'run_1', campaignCsvBuffer({ rows: 5 }));
      const payload = connectly.webhookPayload('rep_processing', 'run_1', { ttlMs: -60_000 });
      addCampaignRun(connectly, 'rep_processing', 'run_1', campaignCsvBuffer({ rows: 5 }), 'processing');
      expect((await connectly.sendWebhook(webhookUrl(), payload)).status).toBe(202);

      const event = await onlyOutcome('rep_processing', 'run_1');

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(failedData(event)).toMatchObject({ reason: 'run-not-ready', attempts: MAX_ATTEMPTS });
      expect(reportsApiCalls(connectly)).toHaveLength(MAX_ATTEMPTS);
      await expectNothingArchived('rep_processing');
    });

    it('should end as report-failed link-expired when even the fresh links are refused as expired', async () => {
      addCampaignRun(connectly, 'rep_always_expired', 'run_1', campaignCsvBuffer({ rows: 5 }));
      connectly.setDownloadFault('rep_always_expired', 'run_1', downloadFaults.expired());
      await send('rep_always_expired', 'run_1');

      const event = await onlyOutcome('rep_always_expired', 'run_1');

      expect(event.topic).toBe(service.env.TOPIC_REPORT_FAILED);
      expect(failedData(event)).toMatchObject({ reason: 'link-expired', attempts: MAX_ATTEMPTS });
      expect(reportsApiCalls(connectly)).toHaveLength(MAX_ATTEMPTS - 1);
      expect(JSON.stringify(event.data)).not.toContain('signature=');
      await expectNothingArchived('rep_always_expired');
    });
  });
});
