import { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { campaignCsvBuffer, estimateCampaignCsvRows } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { ChildExit, ChildService, startChildService } from '../support/child-service';
import {
  addCampaignRun,
  downloadRequests,
  readyData,
  REPORT_TYPE,
  reportObjects,
  reportsApiCalls,
  sha256,
  signatureOf,
  transferLeftovers,
  startSimulator,
} from '../support/delivery-kit';
import { CollectedEvent, collectOutcomes, EventCollector, withId } from '../support/event-collector';
import { eventually } from '../support/eventually';
import { topicRecordCount, waitForInboxDrained } from '../support/kafka-offsets';
import { isolatedEnv, listKeys, openMultipartUploads, testS3Client } from '../support/service-harness';

const MiB = 1024 * 1024;
const BUILD_AND_RESTART_MS = 300_000;

describe('crashes and shutdowns of the service process (C20, C01, C28)', () => {
  let connectly: ConnectlySimulator;
  let simulatorEnv: Record<string, string>;
  let s3: S3Client;
  const children: ChildService[] = [];
  const collectors: EventCollector[] = [];

  beforeAll(async () => {
    const simulator = await startSimulator(`key-${randomUUID()}`);
    connectly = simulator.connectly;
    simulatorEnv = simulator.env;
    s3 = testS3Client();
  });

  afterAll(async () => {
    for (const child of children) await child?.stop();
    for (const collector of collectors) await collector?.stop();
    await connectly?.stop();
    s3?.destroy();
  });

  async function start(env: Record<string, string>, name: string): Promise<ChildService> {
    const child = await startChildService(env, { name });
    children.push(child);
    return child;
  }

  async function collect(env: Record<string, string>): Promise<EventCollector> {
    const collector = await collectOutcomes(env);
    collectors.push(collector);
    return collector;
  }

  async function send(child: ChildService, reportId: string, ttlMs?: number): Promise<string> {
    const payload = connectly.webhookPayload(reportId, 'run_1', { ttlMs });
    const response = await connectly.sendWebhook(`${child.baseUrl}/webhooks/connectly`, payload);
    expect(response.status).toBe(202);
    return payload.report.last_run.result?.url ?? '';
  }

  const eventCounts = async (env: Record<string, string>): Promise<{ ready: number; failed: number }> => ({
    ready: await topicRecordCount(env.KAFKA_BROKERS, env.TOPIC_REPORT_READY),
    failed: await topicRecordCount(env.KAFKA_BROKERS, env.TOPIC_REPORT_FAILED),
  });

  async function bytesServed(reportId: string, atLeast: number): Promise<void> {
    await eventually(
      `${atLeast} bytes of ${reportId} to be served`,
      () => (connectly.bytesWritten(reportId, 'run_1') >= atLeast ? true : undefined),
      60_000,
    );
  }

  async function multipartUploadOpen(env: Record<string, string>): Promise<void> {
    await eventually('a multipart upload to be open under the archive prefix', async () =>
      (await openMultipartUploads(s3, env.S3_BUCKET, `${env.S3_PREFIX}/`)) > 0 ? true : undefined,
    );
  }

  describe('an HTML error page served with 200', () => {
    it('should end as report-failed unexpected-content and keep the process running', async () => {
      const env = isolatedEnv({ ...simulatorEnv, INGEST_MAX_ATTEMPTS: '2' });
      const child = await start(env, 'crash-html-page');
      const events = await collect(env);
      addCampaignRun(connectly, 'rep_html_page', 'run_1', campaignCsvBuffer({ rows: 5 }));
      connectly.setDownloadFault('rep_html_page', 'run_1', {
        kind: 'content',
        contentType: 'text/html; charset=utf-8',
        body: '<!doctype html><html><body><h1>Service temporarily unavailable</h1></body></html>',
      });
      await send(child, 'rep_html_page');

      await eventually('report-failed, or the process to exit', () =>
        child.exited !== undefined || events.events.some(withId('rep_html_page:run_1')) ? true : undefined,
      );

      expect(child.exited).toBeUndefined();
      expect(events.events.filter(withId('rep_html_page:run_1')).map((event) => event.data.reason)).toEqual([
        'unexpected-content',
      ]);
      expect(await reportObjects(s3, env, 'rep_html_page')).toEqual([]);
    });
  });

  describe('SIGKILL in the middle of a large download', () => {
    const source = campaignCsvBuffer({ rows: estimateCampaignCsvRows(8 * MiB), seed: 31 });
    let env: Record<string, string>;
    let events: EventCollector;
    let webhookLink: string;
    let announced: CollectedEvent;

    it(
      'should complete the run after a restart past the link expiry: one object, one report-ready, urlRefreshed',
      async () => {
        env = isolatedEnv({ ...simulatorEnv, LINK_EXPIRY_MARGIN_SECONDS: '0' });
        const first = await start(env, 'crash-sigkill-download');
        events = await collect(env);
        addCampaignRun(connectly, 'rep_killed', 'run_1', source);
        connectly.setDownloadFault('rep_killed', 'run_1', {
          kind: 'once',
          fault: { kind: 'throttle', bytesPerSecond: MiB },
        });
        webhookLink = await send(first, 'rep_killed', 4000);
        const expiresAt = Number(new URL(webhookLink).searchParams.get('expires')) * 1000;

        await bytesServed('rep_killed', 6 * MiB);
        await multipartUploadOpen(env);
        first.kill('SIGKILL');
        expect(await first.waitForExit(10_000)).toMatchObject<Partial<ChildExit>>({ signal: 'SIGKILL' });
        await eventually('the webhook link to expire', () => (Date.now() > expiresAt ? true : undefined));

        await start(env, 'crash-sigkill-download-restarted');
        [announced] = await events.waitFor(1, withId('rep_killed:run_1'), 90_000);
        await waitForInboxDrained(env);
        const downloads = downloadRequests(connectly, 'rep_killed', 'run_1');

        expect(announced.topic).toBe(env.TOPIC_REPORT_READY);
        expect(readyData(announced).archive.checksum.value).toBe(sha256(source));
        expect(readyData(announced).provenance.urlRefreshed).toBe(true);
        expect(downloads).toHaveLength(2);
        expect(downloads[0].query.signature).toBe(signatureOf(webhookLink));
        expect(downloads[1].query.signature).not.toBe(signatureOf(webhookLink));
        expect(reportsApiCalls(connectly).length).toBeGreaterThanOrEqual(1);
        expect(await eventCounts(env)).toEqual({ ready: 1, failed: 0 });
        expect(await reportObjects(s3, env, 'rep_killed')).toHaveLength(1);
      },
      BUILD_AND_RESTART_MS,
    );

    it('should leave no multipart upload or orphan manifest behind from the killed process', async () => {
      expect(announced).toBeDefined();
      expect(await transferLeftovers(s3, env)).toEqual({ openUploads: 0, objects: [] });
    });
  });

  describe('SIGKILL with 50 acknowledged webhooks that the worker could not finish', () => {
    it(
      'should archive and announce every one exactly once after the restart',
      async () => {
        const ids = Array.from({ length: 50 }, (_, index) => `rep_backlog_${String(index).padStart(2, '0')}`);
        for (const [index, id] of ids.entries()) {
          addCampaignRun(connectly, id, 'run_1', campaignCsvBuffer({ rows: 10 + index, seed: index + 100 }));
        }
        const env = isolatedEnv({ ...simulatorEnv });
        const first = await start(env, 'crash-sigkill-backlog');
        const events = await collect(env);
        connectly.setGlobalDownloadFault({ kind: 'stall', afterBytes: 100 });

        for (const id of ids) await send(first, id);
        await eventually('the worker to be stuck on stalled downloads', () =>
          ids.some((id) => connectly.downloads(id, 'run_1').length > 0) ? true : undefined,
        );
        first.kill('SIGKILL');
        await first.waitForExit(10_000);
        connectly.setGlobalDownloadFault(null);

        await start(env, 'crash-sigkill-backlog-restarted');
        const isBacklog = (event: CollectedEvent): boolean => event.headers.ce_id?.startsWith('rep_backlog_') ?? false;
        await events.waitFor(50, isBacklog, 120_000);
        await waitForInboxDrained(env, 60_000);
        const announced = events.events.filter(isBacklog);

        expect(new Set(announced.map((event) => event.headers.ce_id)).size).toBe(50);
        expect(announced.filter((event) => event.topic !== env.TOPIC_REPORT_READY)).toEqual([]);
        expect(await eventCounts(env)).toEqual({ ready: 50, failed: 0 });
        expect(
          await listKeys(s3, env.S3_BUCKET, `${env.S3_PREFIX}/type=${REPORT_TYPE}/report=rep_backlog_`),
        ).toHaveLength(50);
      },
      BUILD_AND_RESTART_MS,
    );
  });

  describe('SIGTERM while a run is in flight', () => {
    const source = campaignCsvBuffer({ rows: estimateCampaignCsvRows(2 * MiB), seed: 41 });
    const graceMs = 10_000;
    let env: Record<string, string>;
    let events: EventCollector;
    let exit: ChildExit | undefined;
    let exitedAfterMs: number;

    it(
      'should finish the run and exit 0 within the grace period',
      async () => {
        env = isolatedEnv({ ...simulatorEnv, SHUTDOWN_GRACE_MS: String(graceMs) });
        const child = await start(env, 'crash-sigterm-drain');
        events = await collect(env);
        addCampaignRun(connectly, 'rep_drained', 'run_1', source);
        connectly.setDownloadFault('rep_drained', 'run_1', {
          kind: 'once',
          fault: { kind: 'throttle', bytesPerSecond: MiB },
        });
        await send(child, 'rep_drained');
        await bytesServed('rep_drained', 256 * 1024);

        const signalledAt = Date.now();
        child.kill('SIGTERM');
        exit = await child.waitForExit(graceMs + 10_000);
        exitedAfterMs = Date.now() - signalledAt;
        const announced = await events.waitFor(1, withId('rep_drained:run_1'), 10_000).then(
          ([event]) => event,
          () => undefined,
        );

        expect(announced?.topic).toBe(env.TOPIC_REPORT_READY);
        expect(announced && readyData(announced).archive.checksum.value).toBe(sha256(source));
        expect(exitedAfterMs).toBeLessThan(graceMs);
        expect(exit).toEqual({ code: 0, signal: null });
      },
      BUILD_AND_RESTART_MS,
    );

    it(
      'should neither lose nor archive the run twice after a restart',
      async () => {
        expect(exit).toBeDefined();
        await start(env, 'crash-sigterm-drain-restarted');
        await waitForInboxDrained(env);

        expect(await eventCounts(env)).toEqual({ ready: 1, failed: 0 });
        expect(connectly.downloadCount('rep_drained', 'run_1')).toBe(1);
        expect(await reportObjects(s3, env, 'rep_drained')).toHaveLength(1);
        expect(await transferLeftovers(s3, env)).toEqual({ openUploads: 0, objects: [] });
        expect(events.events.filter(withId('rep_drained:run_1'))).toHaveLength(1);
      },
      BUILD_AND_RESTART_MS,
    );
  });

  describe('SIGTERM while a download that cannot finish within the grace period is in flight', () => {
    const source = campaignCsvBuffer({ rows: estimateCampaignCsvRows(12 * MiB), seed: 51 });
    const graceMs = 3000;
    let env: Record<string, string>;
    let events: EventCollector;
    let exit: ChildExit | undefined;

    it(
      'should abort the upload after the grace period, leave no parts behind, and exit 0',
      async () => {
        env = isolatedEnv({ ...simulatorEnv, SHUTDOWN_GRACE_MS: String(graceMs) });
        const child = await start(env, 'crash-sigterm-abort');
        events = await collect(env);
        addCampaignRun(connectly, 'rep_cut_off', 'run_1', source);
        connectly.setDownloadFault('rep_cut_off', 'run_1', {
          kind: 'once',
          fault: { kind: 'throttle', bytesPerSecond: MiB },
        });
        await send(child, 'rep_cut_off');
        await bytesServed('rep_cut_off', 6 * MiB);
        await multipartUploadOpen(env);

        const signalledAt = Date.now();
        child.kill('SIGTERM');
        exit = await child.waitForExit(graceMs + 15_000);
        const exitedAfterMs = Date.now() - signalledAt;

        expect(events.events.filter(withId('rep_cut_off:run_1'))).toEqual([]);
        expect(await transferLeftovers(s3, env)).toEqual({ openUploads: 0, objects: [] });
        expect(exitedAfterMs).toBeLessThan(graceMs + 5000);
        expect(exit).toEqual({ code: 0, signal: null });
      },
      BUILD_AND_RESTART_MS,
    );

    it(
      'should complete the run exactly once after a restart',
      async () => {
        expect(exit).toBeDefined();
        await start(env, 'crash-sigterm-abort-restarted');
        const [announced] = await events.waitFor(1, withId('rep_cut_off:run_1'), 90_000);
        await waitForInboxDrained(env);

        expect(readyData(announced).archive.checksum.value).toBe(sha256(source));
        expect(await eventCounts(env)).toEqual({ ready: 1, failed: 0 });
        expect(await reportObjects(s3, env, 'rep_cut_off')).toHaveLength(1);
        expect(await transferLeftovers(s3, env)).toEqual({ openUploads: 0, objects: [] });
      },
      BUILD_AND_RESTART_MS,
    );
  });
});
