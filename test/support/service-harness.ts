import { INestApplication } from '@nestjs/common';
import { ListMultipartUploadsCommand, ListObjectsV2Command, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { createApp } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { createTopics } from '../../scripts/stack/stack';
import { eventually } from './eventually';
import { stackFromEnv } from './stack-env';

export interface ServiceUnderTest {
  app: INestApplication;
  config: AppConfig;
  baseUrl: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Environment for one service instance with its own topics, consumer group and key prefix. */
export function isolatedEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const stack = stackFromEnv();
  const run = randomUUID().slice(0, 8);

  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    KAFKA_BROKERS: stack.brokers,
    KAFKA_CLIENT_ID: `e2e-${run}`,
    KAFKA_GROUP_ID: `e2e-${run}`,
    TOPIC_INBOX: `e2e-${run}.report-webhooks`,
    TOPIC_REPORT_READY: `e2e-${run}.report-ready`,
    TOPIC_REPORT_FAILED: `e2e-${run}.report-failed`,
    S3_BUCKET: stack.bucket,
    S3_ENDPOINT: stack.s3Endpoint,
    S3_REGION: stack.region,
    S3_PREFIX: `e2e/${run}/reports`,
    S3_MANIFEST_PREFIX: `e2e/${run}/manifests`,
    S3_PART_SIZE_MB: '5',
    CONNECTLY_BUSINESS_ID: 'biz_e2e',
    CONNECTLY_API_KEY: `api-key-${run}`,
    DOWNLOAD_ALLOWED_HOSTS: 'localhost',
    DOWNLOAD_ALLOW_PRIVATE_ADDRESSES: 'true',
    INGEST_MAX_ATTEMPTS: '6',
    INGEST_RETRY_BASE_MS: '50',
    INGEST_RETRY_MAX_MS: '500',
    SHUTDOWN_GRACE_MS: '10000',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? '',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    ...overrides,
  };
}

/** Creates the env's topics, starts the service in-process on a free port, and waits until it is ready. */
export async function startService(env: Record<string, string>): Promise<ServiceUnderTest> {
  await createTopics(env.KAFKA_BROKERS, [env.TOPIC_INBOX, env.TOPIC_REPORT_READY, env.TOPIC_REPORT_FAILED]);
  const config = loadConfig(env);
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  await eventually(
    'the service to be ready',
    async () => ((await fetch(`${baseUrl}/health/ready`)).ok ? true : undefined),
    60_000,
  );

  return { app, config, baseUrl, env, close: () => app.close() };
}

export function testS3Client(): S3Client {
  const stack = stackFromEnv();
  return new S3Client({
    endpoint: stack.s3Endpoint,
    region: stack.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

export async function openMultipartUploads(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (listed.Uploads ?? []).length;
}
