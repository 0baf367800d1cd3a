/**
 * The big-file baseline: the same download (same simulated Connectly, same TLS, an undici Agent with the service's
 * timeouts) piped straight into the same @aws-sdk/lib-storage multipart upload (same S3 client settings, part size
 * and queue), with nothing in between: no length check, no re-blocking, no hashing, no CSV inspection, no manifest.
 *
 * Env: PIPE_URL, PIPE_CA_FILE, S3_ENDPOINT, S3_REGION, S3_BUCKET, PIPE_KEY, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * S3_PART_SIZE_MB (5), S3_QUEUE_SIZE (2), PIPE_RESULT_FILE: where the JSON result is written.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const agent = new Agent({
    connect: { ca: readFileSync(required('PIPE_CA_FILE')), timeout: 5000 },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const s3 = new S3Client({
    region: required('S3_REGION'),
    endpoint: required('S3_ENDPOINT'),
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  const started = performance.now();
  const response = await request(required('PIPE_URL'), {
    dispatcher: agent,
    headers: { accept: 'text/csv, text/plain;q=0.5, */*;q=0.1', 'accept-encoding': 'gzip, deflate, identity' },
  });
  if (response.statusCode !== 200) throw new Error(`the download was answered ${response.statusCode}`);

  const upload = new Upload({
    client: s3,
    params: { Bucket: required('S3_BUCKET'), Key: required('PIPE_KEY'), Body: response.body, ContentType: 'text/csv' },
    partSize: Number(process.env.S3_PART_SIZE_MB ?? 5) * 1024 * 1024,
    queueSize: Number(process.env.S3_QUEUE_SIZE ?? 2),
    leavePartsOnError: false,
  });
  await upload.done();
  const ms = performance.now() - started;
  writeFileSync(
    required('PIPE_RESULT_FILE'),
    JSON.stringify({ ms, contentLength: Number(response.headers['content-length']) }),
  );
  s3.destroy();
  await agent.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
