import { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { ReportFailedData, ReportReadyData } from '../../src/events/report-event.types';
import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { DownloadLinks } from '../simulator/download-links';
import type { RunBody, RunStatus } from '../simulator/report-catalog';
import type { RecordedRequest } from '../simulator/request-log';
import { SimulatedApi } from '../simulator/simulated-api';
import { ensureTestTls } from '../simulator/tls';
import type { CollectedEvent } from './event-collector';
import { listKeys, openMultipartUploads } from './service-harness';

export const REPORT_TYPE = 'campaign.daily.custom';
export const RUN_CREATED_AT = '2025-04-30T12:00:00Z';

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export const readyData = (event: CollectedEvent): ReportReadyData => event.data as unknown as ReportReadyData;
export const failedData = (event: CollectedEvent): ReportFailedData => event.data as unknown as ReportFailedData;

/** A simulated Connectly whose Reports API hands out links valid for `apiUrlTtlMs`, and the env that trusts it. */
export async function startSimulator(
  apiKey: string,
  apiUrlTtlMs = 5 * 60_000,
): Promise<{ connectly: ConnectlySimulator; env: Record<string, string> }> {
  const tls = await ensureTestTls();
  const connectly = new ConnectlySimulator({ businessId: 'biz_e2e', apiKey, apiUrlTtlMs });
  await connectly.start();

  return {
    connectly,
    env: {
      CONNECTLY_API_BASE_URL: connectly.baseUrl,
      DOWNLOAD_CA_FILE: tls.caFile,
      DOWNLOAD_ALLOWED_HOSTS: `localhost:${connectly.port}`,
      CONNECTLY_API_KEY: apiKey,
    },
  };
}

/** A campaign report run, created at RUN_CREATED_AT so its archive key is known in advance. */
export function addCampaignRun(
  connectly: ConnectlySimulator,
  reportId: string,
  runId: string,
  body: RunBody,
  status: RunStatus = 'completed',
): void {
  connectly.addRun({
    reportId,
    reportName: `Report ${reportId}`,
    reportType: REPORT_TYPE,
    runId,
    status,
    body,
    createdAt: new Date(RUN_CREATED_AT),
  });
}

export function archiveKeyOf(env: Record<string, string>, reportId: string, runId: string): string {
  return `${reportPrefixOf(env, reportId)}run=${runId}.csv`;
}

export function reportPrefixOf(env: Record<string, string>, reportId: string): string {
  return `${env.S3_PREFIX}/type=${REPORT_TYPE}/report=${reportId}/dt=${RUN_CREATED_AT.slice(0, 10)}/`;
}

/** Every archived object of a report, whatever its run. */
export function reportObjects(s3: S3Client, env: Record<string, string>, reportId: string): Promise<string[]> {
  return listKeys(s3, env.S3_BUCKET, `${env.S3_PREFIX}/type=${REPORT_TYPE}/report=${reportId}/`);
}

/**
 * What an interrupted transfer could leave behind: multipart uploads still open under the service instance's
 * archive prefix, and manifests with no archive object beside them.
 */
export async function transferLeftovers(
  s3: S3Client,
  env: Record<string, string>,
): Promise<{ openUploads: number; objects: string[] }> {
  const archived = new Set(await listKeys(s3, env.S3_BUCKET, `${env.S3_PREFIX}/`));
  const manifests = await listKeys(s3, env.S3_BUCKET, `${env.S3_MANIFEST_PREFIX}/`);
  const orphans = manifests.filter(
    (key) => !archived.has(`${env.S3_PREFIX}/${key.slice(env.S3_MANIFEST_PREFIX.length + 1).replace(/\.json$/, '')}`),
  );

  return { openUploads: await openMultipartUploads(s3, env.S3_BUCKET, `${env.S3_PREFIX}/`), objects: orphans };
}

export function reportsApiCalls(connectly: ConnectlySimulator): RecordedRequest[] {
  return connectly.requests().filter((request) => SimulatedApi.isReportsCall(request.method, request.path));
}

/** Every request for a run's download path, refused ones included, oldest first. */
export function downloadRequests(connectly: ConnectlySimulator, reportId: string, runId: string): RecordedRequest[] {
  const path = DownloadLinks.path(reportId, runId);
  return connectly.requests().filter((request) => request.path === path);
}

export function signatureOf(url: string): string | null {
  return new URL(url).searchParams.get('signature');
}
