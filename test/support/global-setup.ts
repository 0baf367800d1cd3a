import { stackStatus, stackUp } from '../../scripts/stack/stack';
import { ensureServiceBuilt } from './build-once';

/**
 * Starts the embedded Kafka broker and S3 server unless the environment names external ones
 * (E2E_KAFKA_BROKERS and E2E_S3_ENDPOINT), and hands their addresses to the test workers.
 * A stack that was already running is reused and left running.
 */
export default async function globalSetup(): Promise<void> {
  // Tests that run the service as a child process (crash and shutdown tests) use this build.
  await ensureServiceBuilt();
  if (process.env.E2E_KAFKA_BROKERS !== undefined && process.env.E2E_S3_ENDPOINT !== undefined) return;

  const before = await stackStatus();
  const endpoints = await stackUp({ log: (line) => process.stderr.write(`[stack] ${line}\n`) });
  process.env.E2E_KAFKA_BROKERS = endpoints.kafkaBrokers;
  process.env.E2E_S3_ENDPOINT = endpoints.s3Endpoint;
  process.env.E2E_S3_REGION = endpoints.s3Region;
  process.env.E2E_S3_BUCKET = endpoints.bucket;
  process.env.AWS_ACCESS_KEY_ID = endpoints.s3AccessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = endpoints.s3SecretAccessKey;
  process.env.E2E_STACK_STARTED = before.kafka && before.s3 ? 'false' : 'true';
}
