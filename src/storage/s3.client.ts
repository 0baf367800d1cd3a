import { S3Client } from '@aws-sdk/client-s3';
import { AppConfig } from '../config/app-config';

export const S3 = Symbol('S3');

/** One S3 client for the service; the SDK's default chain supplies credentials (env, IRSA, instance role). */
export function createS3Client(config: AppConfig): S3Client {
  const checksums = config.s3.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';

  return new S3Client({
    region: config.s3.region,
    endpoint: config.s3.endpoint,
    forcePathStyle: config.s3.forcePathStyle,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    maxAttempts: 3,
  });
}
