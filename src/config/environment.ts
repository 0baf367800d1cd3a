import { Transform } from 'class-transformer';
import { isIP } from 'node:net';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  buildMessage,
} from 'class-validator';

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const normalised = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalised)) return true;
  if (['false', '0', 'no', 'off', ''].includes(normalised)) return false;
  return value;
};

const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const BROKER_LIST = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const HEADER_NAME = /^[a-z0-9-]{1,64}$/;
const SAFE_PREFIX = /^(?:[A-Za-z0-9!_*'()=-][A-Za-z0-9!_.*'()=-]*)(?:\/[A-Za-z0-9!_*'()=-][A-Za-z0-9!_.*'()=-]*)*$/;

/** A comma-separated list of CIDRs whose addresses parse and whose prefix fits the address family. */
function IsCidrList(): PropertyDecorator {
  return ValidateBy({
    name: 'isCidrList',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && value.split(',').every((cidr) => isCidr(cidr.trim())),
      defaultMessage: buildMessage(() => '$property must be a comma-separated list of CIDRs such as 10.0.0.0/8'),
    },
  });
}

function isCidr(cidr: string): boolean {
  const [network, prefix, ...rest] = cidr.split('/');
  const family = isIP(network ?? '');
  if (family === 0 || rest.length > 0 || !/^\d{1,3}$/.test(prefix ?? '')) return false;

  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Every environment variable the service reads, with its rule and default.
 * Validation errors name the variable and the rule, never the value.
 */
export class EnvironmentVariables {
  @IsIn(['production', 'development', 'test'])
  NODE_ENV = 'production';

  /** 0 picks a free port (tests). */
  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @IsNotEmpty()
  HOST = '0.0.0.0';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** all: intake and worker in one process; intake: the webhook only; worker: the inbox consumer only. */
  @IsIn(['all', 'intake', 'worker'])
  SERVICE_ROLE = 'all';

  @Matches(BROKER_LIST, { message: 'KAFKA_BROKERS must be a comma-separated list of host:port' })
  KAFKA_BROKERS!: string;

  @IsString()
  @IsNotEmpty()
  KAFKA_CLIENT_ID = 'connectly-report-ingest';

  @IsString()
  @IsNotEmpty()
  KAFKA_GROUP_ID = 'connectly-report-ingest';

  @Transform(toBoolean)
  @IsBoolean()
  KAFKA_SSL = false;

  @IsIn(['none', 'plain', 'scram-sha-256', 'scram-sha-512'])
  KAFKA_SASL_MECHANISM = 'none';

  @ValidateIf((env: EnvironmentVariables) => env.KAFKA_SASL_MECHANISM !== 'none')
  @IsString()
  @IsNotEmpty({ message: 'KAFKA_SASL_USERNAME is required when KAFKA_SASL_MECHANISM is set' })
  KAFKA_SASL_USERNAME?: string;

  @ValidateIf((env: EnvironmentVariables) => env.KAFKA_SASL_MECHANISM !== 'none')
  @IsString()
  @Matches(/\S/, { message: 'KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is set' })
  KAFKA_SASL_PASSWORD?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(60000)
  KAFKA_PUBLISH_TIMEOUT_MS = 3000;

  @Matches(TOPIC_NAME)
  TOPIC_INBOX = 'connectly.report-webhooks.v1';

  @Matches(TOPIC_NAME)
  TOPIC_REPORT_READY = 'connectly.report-ready.v1';

  @Matches(TOPIC_NAME)
  TOPIC_REPORT_FAILED = 'connectly.report-failed.v1';

  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'S3_BUCKET must be a valid bucket name' })
  S3_BUCKET!: string;

  @MaxLength(256)
  @Matches(SAFE_PREFIX, {
    message: 'S3_PREFIX must be safe key characters in non-empty segments, none starting with a dot',
  })
  S3_PREFIX = 'connectly/reports';

  @MaxLength(256)
  @Matches(SAFE_PREFIX, {
    message: 'S3_MANIFEST_PREFIX must be safe key characters in non-empty segments, none starting with a dot',
  })
  S3_MANIFEST_PREFIX = 'connectly/manifests';

  @Matches(/^[a-z0-9-]+$/, { message: 'S3_REGION must look like a region name, such as us-east-1' })
  S3_REGION = 'us-east-1';

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  S3_ENDPOINT?: string;

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  S3_FORCE_PATH_STYLE?: boolean;

  @IsOptional()
  @IsIn(['when_supported', 'when_required'])
  S3_CHECKSUMS?: 'when_supported' | 'when_required';

  @Transform(toInteger)
  @IsInt()
  @Min(5)
  @Max(512)
  S3_PART_SIZE_MB = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(32)
  S3_QUEUE_SIZE = 2;

  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  CONNECTLY_API_BASE_URL = 'https://api.connectly.ai';

  @IsString()
  @IsNotEmpty()
  CONNECTLY_BUSINESS_ID!: string;

  @IsString()
  @Matches(/\S/, { message: 'CONNECTLY_API_KEY must not be blank' })
  CONNECTLY_API_KEY!: string;

  @Matches(/^(\*\.)?[a-z0-9.-]+(:\d+)?(,(\*\.)?[a-z0-9.-]+(:\d+)?)*$/i, {
    message: 'DOWNLOAD_ALLOWED_HOSTS must be a comma-separated list of host names or *.suffix patterns',
  })
  DOWNLOAD_ALLOWED_HOSTS = 'reports.connectly.ai';

  @IsOptional()
  @IsString()
  DOWNLOAD_CA_FILE?: string;

  @Transform(toBoolean)
  @IsBoolean()
  DOWNLOAD_ALLOW_PRIVATE_ADDRESSES = false;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  DOWNLOAD_CONNECT_TIMEOUT_MS = 5000;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  DOWNLOAD_READ_TIMEOUT_MS = 30000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(5 * 1024 ** 3)
  DOWNLOAD_MAX_BYTES = 5 * 1024 ** 3;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  LINK_EXPIRY_MARGIN_SECONDS = 15;

  @Matches(/^\/[A-Za-z0-9/_-]*$/, { message: 'WEBHOOK_PATH must be an absolute path' })
  WEBHOOK_PATH = '/webhooks/connectly';

  @Transform(toInteger)
  @IsInt()
  @Min(1024)
  @Max(16 * 1024 * 1024)
  WEBHOOK_BODY_LIMIT_BYTES = 64 * 1024;

  /** A secret path segment: the webhook is then served at `{WEBHOOK_PATH}/{token}` only. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{24,256}$/, { message: 'WEBHOOK_PATH_TOKEN must be 24 to 256 URL-safe characters' })
  WEBHOOK_PATH_TOKEN?: string;

  /** Shared secret of the HMAC-SHA256 signature over `{timestamp}.{raw body}`. */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'WEBHOOK_HMAC_SECRET must be at least 16 characters' })
  @Matches(/^\S(.*\S)?$/, { message: 'WEBHOOK_HMAC_SECRET must not start or end with spaces' })
  WEBHOOK_HMAC_SECRET?: string;

  @Matches(HEADER_NAME)
  WEBHOOK_HMAC_HEADER = 'x-signature';

  @Matches(HEADER_NAME)
  WEBHOOK_HMAC_TIMESTAMP_HEADER = 'x-signature-timestamp';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3600)
  WEBHOOK_HMAC_TOLERANCE_SECONDS = 300;

  /** Source networks allowed to call the webhook (comma-separated CIDRs); empty allows any source. */
  @IsOptional()
  @IsCidrList()
  WEBHOOK_ALLOWED_CIDRS?: string;

  /** Proxies whose X-Forwarded-For is believed (comma-separated CIDRs); empty trusts none. */
  @IsOptional()
  @IsCidrList()
  TRUSTED_PROXY_CIDRS?: string;

  /** Bearer token of the admin endpoints (replay, redrive); they are not served at all when unset. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._~+/=-]{24,256}$/, { message: 'ADMIN_TOKEN must be 24 to 256 token characters' })
  ADMIN_TOKEN?: string;

  /** OTLP/HTTP endpoint of an OpenTelemetry collector; tracing stays off when unset. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @IsString()
  @IsNotEmpty()
  OTEL_SERVICE_NAME = 'connectly-report-ingest';

  /** The explicit opt-out that lets production run with no caller check at all. */
  @Transform(toBoolean)
  @IsBoolean()
  WEBHOOK_ALLOW_UNAUTHENTICATED = false;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(64)
  INGEST_CONCURRENCY = 4;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100)
  INGEST_MAX_ATTEMPTS = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(10)
  INGEST_RETRY_BASE_MS = 1000;

  @Transform(toInteger)
  @IsInt()
  @Min(10)
  INGEST_RETRY_MAX_MS = 60000;

  /** No new attempt of a run starts after this long; it then ends as report-failed. */
  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  INGEST_RUN_DEADLINE_MS = 15 * 60 * 1000;

  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  SHUTDOWN_GRACE_MS = 25000;
}
