/**
 * A small downstream consumer of the report-ready topic: routes on the CloudEvents headers without parsing,
 * deduplicates on ce_id, and reads the archived CSV from S3, checking its SHA-256 against the event.
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 S3_ENDPOINT=http://127.0.0.1:19000 npx tsx examples/report-ready-consumer.ts
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Kafka } from 'kafkajs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReportReadyData } from '../src/events/report-event.types';

const seen = new Set<string>(); // a real consumer keeps this in its own database, next to what it does with the file

async function main(): Promise<void> {
  const kafka = new Kafka({
    clientId: 'report-ready-example',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
  });
  const s3 = new S3Client({
    endpoint: process.env.S3_ENDPOINT,
    forcePathStyle: process.env.S3_ENDPOINT !== undefined,
    region: 'us-east-1',
  });
  const consumer = kafka.consumer({ groupId: process.env.GROUP_ID ?? 'report-ready-example' });

  await consumer.connect();
  await consumer.subscribe({ topic: process.env.TOPIC ?? 'connectly.report-ready.v1', fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = message.headers?.ce_id?.toString();
      if (message.headers?.ce_type?.toString() !== 'ai.connectly.report.ready.v1' || id === undefined || seen.has(id))
        return;

      const data = JSON.parse(message.value?.toString('utf8') ?? '{}') as ReportReadyData;
      const sha256 = await sha256Of(s3, data.archive.bucket, data.archive.key);
      const verdict = sha256 === data.archive.checksum.value ? 'checksum ok' : 'CHECKSUM MISMATCH';
      console.log(
        `${id}: ${data.content.rowCount} rows, ${data.archive.sizeBytes} bytes at ${data.archive.uri} (${verdict})`,
      );
      seen.add(id);
    },
  });
  process.once('SIGINT', () => void consumer.disconnect().then(() => process.exit(0)));
}

async function sha256Of(s3: S3Client, bucket: string, key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

void main();
