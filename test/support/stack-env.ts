/** Addresses of the broker and S3 server that the jest global setup started (or that the environment named). */
export function stackFromEnv(): { brokers: string; s3Endpoint: string; region: string; bucket: string } {
  const brokers = process.env.E2E_KAFKA_BROKERS;
  const s3Endpoint = process.env.E2E_S3_ENDPOINT;
  if (brokers === undefined || s3Endpoint === undefined) {
    throw new Error(
      'E2E_KAFKA_BROKERS and E2E_S3_ENDPOINT are unset: run e2e tests through jest (global setup starts the stack)',
    );
  }

  return {
    brokers,
    s3Endpoint,
    region: process.env.E2E_S3_REGION ?? 'us-east-1',
    bucket: process.env.E2E_S3_BUCKET ?? 'connectly-reports',
  };
}
