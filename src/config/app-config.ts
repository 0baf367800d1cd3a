import { plainToInstance } from 'class-transformer';
import { accessSync, constants, statSync } from 'node:fs';
import { validateSync, ValidationError } from 'class-validator';
import { EnvironmentVariables } from './environment';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
export type ServiceRole = 'all' | 'intake' | 'worker';

/** The service's configuration, validated and grouped by the part of the service it drives. */
export class AppConfig {
  readonly env!: 'production' | 'development' | 'test';
  /** Which halves run in this process: the webhook intake, the inbox worker, or both. */
  readonly role!: ServiceRole;
  readonly http!: { host: string; port: number; webhookPath: string; bodyLimitBytes: number; trustedProxies: string[] };
  readonly webhookAuth!: {
    pathToken?: string;
    hmac?: { secret: string; header: string; timestampHeader: string; toleranceMs: number };
    allowedCidrs: string[];
    allowUnauthenticated: boolean;
  };
  readonly logLevel!: string;
  readonly kafka!: {
    brokers: string[];
    clientId: string;
    groupId: string;
    ssl: boolean;
    sasl?: { mechanism: SaslMechanism; username: string; password: string };
    publishTimeoutMs: number;
  };
  readonly topics!: { inbox: string; reportReady: string; reportFailed: string };
  readonly s3!: {
    bucket: string;
    prefix: string;
    manifestPrefix: string;
    region: string;
    endpoint?: string;
    forcePathStyle: boolean;
    checksums: 'when_supported' | 'when_required';
    partSizeBytes: number;
    queueSize: number;
  };
  readonly connectly!: { apiBaseUrl: string; businessId: string; apiKey: string };
  readonly download!: {
    allowedHosts: string[];
    caFile?: string;
    allowPrivateAddresses: boolean;
    connectTimeoutMs: number;
    readTimeoutMs: number;
    maxBytes: number;
    expiryMarginMs: number;
  };
  readonly ingest!: {
    concurrency: number;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxMs: number;
    runDeadlineMs: number;
  };
  readonly shutdownGraceMs!: number;
  readonly adminToken?: string;
  readonly tracing!: { otlpEndpoint?: string; serviceName: string };
}

/** Whether this process answers webhooks. */
export function runsIntake(config: Pick<AppConfig, 'role'>): boolean {
  return config.role !== 'worker';
}

/** Whether this process consumes the inbox and archives runs. */
export function runsWorker(config: Pick<AppConfig, 'role'>): boolean {
  return config.role !== 'intake';
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Reads and validates the environment. Throws ConfigValidationError naming each bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv): AppConfig {
  const env = plainToInstance(EnvironmentVariables, withoutBlanks(source));
  const errors = validateSync(env, { forbidUnknownValues: false });
  if (errors.length > 0) throw new ConfigValidationError(errors.map(describeProblem));

  const config = toAppConfig(env);
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return config;
}

function withoutBlanks(source: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
}

function describeProblem(error: ValidationError): string {
  const rules = Object.values(error.constraints ?? {}).map((rule) => rule.replace(/^an instance of \w+ /, ''));
  return `${error.property}: ${rules.join('; ')}`;
}

function crossFieldProblems(config: AppConfig): string[] {
  const { prefix, manifestPrefix } = config.s3;
  if (`${manifestPrefix}/`.startsWith(`${prefix}/`) || `${prefix}/`.startsWith(`${manifestPrefix}/`))
    return ['S3_MANIFEST_PREFIX: must not be inside S3_PREFIX, nor contain it: manifests are not archive objects'];

  const caFile = config.download.caFile;
  if (caFile !== undefined && !isReadableFile(caFile)) return ['DOWNLOAD_CA_FILE: must name a readable PEM file'];

  const auth = config.webhookAuth;
  const checked = auth.pathToken !== undefined || auth.hmac !== undefined || auth.allowedCidrs.length > 0;
  if (config.env !== 'production' || !runsIntake(config) || checked || auth.allowUnauthenticated) return [];

  return [
    'WEBHOOK_PATH_TOKEN / WEBHOOK_HMAC_SECRET / WEBHOOK_ALLOWED_CIDRS: production needs at least one caller check; ' +
      'set WEBHOOK_ALLOW_UNAUTHENTICATED=true to run without one',
  ];
}

function toAppConfig(env: EnvironmentVariables): AppConfig {
  const customEndpoint = env.S3_ENDPOINT !== undefined;

  return {
    env: env.NODE_ENV as AppConfig['env'],
    role: env.SERVICE_ROLE as ServiceRole,
    http: {
      host: env.HOST,
      port: env.PORT,
      webhookPath: env.WEBHOOK_PATH,
      bodyLimitBytes: env.WEBHOOK_BODY_LIMIT_BYTES,
      trustedProxies: listOf(env.TRUSTED_PROXY_CIDRS),
    },
    webhookAuth: {
      pathToken: env.WEBHOOK_PATH_TOKEN,
      hmac:
        env.WEBHOOK_HMAC_SECRET === undefined
          ? undefined
          : {
              secret: env.WEBHOOK_HMAC_SECRET,
              header: env.WEBHOOK_HMAC_HEADER,
              timestampHeader: env.WEBHOOK_HMAC_TIMESTAMP_HEADER,
              toleranceMs: env.WEBHOOK_HMAC_TOLERANCE_SECONDS * 1000,
            },
      allowedCidrs: listOf(env.WEBHOOK_ALLOWED_CIDRS),
      allowUnauthenticated: env.WEBHOOK_ALLOW_UNAUTHENTICATED,
    },
    logLevel: env.LOG_LEVEL,
    kafka: {
      brokers: env.KAFKA_BROKERS.split(','),
      clientId: env.KAFKA_CLIENT_ID,
      groupId: env.KAFKA_GROUP_ID,
      ssl: env.KAFKA_SSL,
      sasl:
        env.KAFKA_SASL_MECHANISM === 'none'
          ? undefined
          : {
              mechanism: env.KAFKA_SASL_MECHANISM as SaslMechanism,
              username: env.KAFKA_SASL_USERNAME ?? '',
              password: env.KAFKA_SASL_PASSWORD ?? '',
            },
      publishTimeoutMs: env.KAFKA_PUBLISH_TIMEOUT_MS,
    },
    topics: { inbox: env.TOPIC_INBOX, reportReady: env.TOPIC_REPORT_READY, reportFailed: env.TOPIC_REPORT_FAILED },
    s3: {
      bucket: env.S3_BUCKET,
      prefix: trimSlashes(env.S3_PREFIX),
      manifestPrefix: trimSlashes(env.S3_MANIFEST_PREFIX),
      region: env.S3_REGION,
      endpoint: env.S3_ENDPOINT,
      // Custom endpoints (MinIO, S3Proxy, Ceph) rarely resolve bucket sub-domains; see CASES C11.
      forcePathStyle: env.S3_FORCE_PATH_STYLE ?? customEndpoint,
      // S3-compatible stores often refuse the SDK's default CRC32 trailers; see CASES C07.
      checksums: env.S3_CHECKSUMS ?? (customEndpoint ? 'when_required' : 'when_supported'),
      partSizeBytes: env.S3_PART_SIZE_MB * 1024 * 1024,
      queueSize: env.S3_QUEUE_SIZE,
    },
    connectly: {
      apiBaseUrl: env.CONNECTLY_API_BASE_URL.replace(/\/+$/, ''),
      businessId: env.CONNECTLY_BUSINESS_ID,
      apiKey: env.CONNECTLY_API_KEY,
    },
    download: {
      allowedHosts: env.DOWNLOAD_ALLOWED_HOSTS.toLowerCase().split(','),
      caFile: env.DOWNLOAD_CA_FILE,
      allowPrivateAddresses: env.DOWNLOAD_ALLOW_PRIVATE_ADDRESSES,
      connectTimeoutMs: env.DOWNLOAD_CONNECT_TIMEOUT_MS,
      readTimeoutMs: env.DOWNLOAD_READ_TIMEOUT_MS,
      maxBytes: env.DOWNLOAD_MAX_BYTES,
      expiryMarginMs: env.LINK_EXPIRY_MARGIN_SECONDS * 1000,
    },
    ingest: {
      concurrency: env.INGEST_CONCURRENCY,
      maxAttempts: env.INGEST_MAX_ATTEMPTS,
      retryBaseMs: env.INGEST_RETRY_BASE_MS,
      retryMaxMs: env.INGEST_RETRY_MAX_MS,
      runDeadlineMs: env.INGEST_RUN_DEADLINE_MS,
    },
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    adminToken: env.ADMIN_TOKEN,
    tracing: { otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME },
  };
}

function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function listOf(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((item) => item.trim());
}

function trimSlashes(value: string): string {
  return value.replace(/^\/+|\/+$/g, '');
}
