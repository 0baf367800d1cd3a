import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopics, stackUp, type StackEndpoints } from '../../scripts/stack/stack';

/** Names that belong to one benchmark run only, so runs and other people's tests never see each other's data. */
export interface Isolation {
  readonly runId: string;
  readonly topics: { inbox: string; reportReady: string; reportFailed: string };
  readonly groupId: string;
  readonly prefix: string;
}

/** Starts the embedded stack, or reuses the one that runs; never stops it, since others may be using it. */
export async function benchStack(): Promise<StackEndpoints> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return stackUp({ log: (line) => process.stderr.write(`[stack] ${line}\n`) });
}

export function isolation(name: string): Isolation {
  const runId = `bench-${name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  return {
    runId,
    topics: {
      inbox: `${runId}.report-webhooks`,
      reportReady: `${runId}.report-ready`,
      reportFailed: `${runId}.report-failed`,
    },
    groupId: runId,
    prefix: `bench/${runId}`,
  };
}

export async function createIsolatedTopics(
  stack: StackEndpoints,
  names: Isolation,
  extra: string[] = [],
): Promise<void> {
  const { inbox, reportReady, reportFailed } = names.topics;
  await createTopics(stack.kafkaBrokers, [inbox, reportReady, reportFailed, ...extra]);
}

/** Removes what a run left in Kafka and S3: its topics, its consumer groups and every object under its prefix. */
export async function cleanUp(stack: StackEndpoints, names: Isolation, extraTopics: string[] = []): Promise<void> {
  await Promise.allSettled([dropKafkaState(stack, names, extraTopics), deletePrefix(stack, `${names.prefix}/`)]);
}

async function dropKafkaState(stack: StackEndpoints, names: Isolation, extraTopics: string[]): Promise<void> {
  const admin = new Kafka({
    clientId: `${names.runId}-cleanup`,
    brokers: [stack.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [...Object.values(names.topics), ...extraTopics] }).catch(() => undefined);
    await deleteGroups(admin, names.runId);
  } finally {
    await admin.disconnect();
  }
}

/**
 * A member that was killed rather than stopped stays in its group until its session times out (30 s for the
 * service), and Kafka refuses to delete a group with members: one more try after that long.
 */
async function deleteGroups(admin: Admin, runId: string): Promise<void> {
  for (let attempt = 1; attempt <= 2; attempt++) {
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter((id) => id.startsWith(runId));
    if (groups.length === 0) return;
    const deleted = await admin.deleteGroups(groups).then(
      () => true,
      () => false,
    );
    if (deleted) return;
    if (attempt === 1) await sleep(31_000);
  }
}

export function benchS3Client(stack: StackEndpoints): S3Client {
  return new S3Client({
    endpoint: stack.s3Endpoint,
    region: stack.s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.s3AccessKeyId, secretAccessKey: stack.s3SecretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Deletes every object under the prefix, a thousand at a time; bounded, since each page is deleted before the next. */
export async function deletePrefix(stack: StackEndpoints, prefix: string): Promise<number> {
  const s3 = benchS3Client(stack);
  let deleted = 0;
  try {
    for (let page = 0; page < 10_000; page++) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix, MaxKeys: 1000 }));
      const keys = (listed.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [{ Key: object.Key }]));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: stack.bucket, Delete: { Objects: keys, Quiet: true } }));
      deleted += keys.length;
    }
  } finally {
    s3.destroy();
  }
  return deleted;
}
