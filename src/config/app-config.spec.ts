import { ConfigValidationError, loadConfig } from './app-config';

const required = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  S3_BUCKET: 'connectly-reports',
  CONNECTLY_BUSINESS_ID: 'biz_1',
  CONNECTLY_API_KEY: 'key-do-not-print-0123',
  WEBHOOK_ALLOW_UNAUTHENTICATED: 'true',
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('should apply the documented defaults', () => {
    const config = loadConfig(required);

    expect(config.http).toEqual({
      host: '0.0.0.0',
      port: 3000,
      webhookPath: '/webhooks/connectly',
      bodyLimitBytes: 65536,
      trustedProxies: [],
    });
    expect(config.topics).toEqual({
      inbox: 'connectly.report-webhooks.v1',
      reportReady: 'connectly.report-ready.v1',
      reportFailed: 'connectly.report-failed.v1',
    });
    expect(config.s3).toMatchObject({
      prefix: 'connectly/reports',
      region: 'us-east-1',
      forcePathStyle: false,
      checksums: 'when_supported',
    });
    expect(config.download.allowedHosts).toEqual(['reports.connectly.ai']);
  });

  it('should turn on path-style addressing and required-only checksums for a custom endpoint', () => {
    const config = loadConfig({ ...required, S3_ENDPOINT: 'http://minio:9000' });

    expect(config.s3).toMatchObject({
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      checksums: 'when_required',
    });
  });

  it('should let the operator override both for a custom endpoint', () => {
    const config = loadConfig({
      ...required,
      S3_ENDPOINT: 'http://minio:9000',
      S3_FORCE_PATH_STYLE: 'false',
      S3_CHECKSUMS: 'when_supported',
    });

    expect(config.s3).toMatchObject({ forcePathStyle: false, checksums: 'when_supported' });
  });

  it('should name every missing required variable', () => {
    const names = problemsOf({}).map((problem) => problem.split(':')[0]);

    expect(names).toEqual(
      expect.arrayContaining(['KAFKA_BROKERS', 'S3_BUCKET', 'CONNECTLY_BUSINESS_ID', 'CONNECTLY_API_KEY']),
    );
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['KAFKA_BROKERS', 'localhost'],
    ['KAFKA_SSL', 'maybe'],
    ['S3_ENDPOINT', 'minio:9000'],
    ['DOWNLOAD_ALLOWED_HOSTS', 'https://reports.connectly.ai'],
    ['WEBHOOK_PATH', 'webhooks'],
  ])('should name %s when its value (%s) breaks the rule', (name, value) => {
    expect(problemsOf({ ...required, [name]: value }).map((problem) => problem.split(':')[0])).toEqual([name]);
  });

  it('should require SASL credentials once a mechanism is chosen', () => {
    const names = problemsOf({ ...required, KAFKA_SASL_MECHANISM: 'scram-sha-512' }).map(
      (problem) => problem.split(':')[0],
    );

    expect(names).toEqual(['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']);
  });

  it('should never print a value in its message', () => {
    const secret = 'sup3r-secret-value';
    const problems = problemsOf({
      ...required,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: secret,
      PORT: secret,
      KAFKA_BROKERS: secret,
    });

    expect(problems.join('\n')).not.toContain(secret);
  });
});

describe('loadConfig caller checks', () => {
  it('should refuse production without any caller check', () => {
    expect(
      problemsOf({ ...required, NODE_ENV: 'production', WEBHOOK_ALLOW_UNAUTHENTICATED: 'false' }).join('\n'),
    ).toContain('WEBHOOK_ALLOW_UNAUTHENTICATED');
  });

  it.each([
    ['a path token', { WEBHOOK_PATH_TOKEN: 'tok_0123456789abcdefghijklmn' }],
    ['an HMAC secret', { WEBHOOK_HMAC_SECRET: 'hmac-secret-0123456789' }],
    ['source networks', { WEBHOOK_ALLOWED_CIDRS: '10.0.0.0/8,2001:db8::/32' }],
    ['the explicit opt-out', { WEBHOOK_ALLOW_UNAUTHENTICATED: 'true' }],
  ])('should start production with %s', (_label, env) => {
    expect(problemsOf({ ...required, NODE_ENV: 'production', WEBHOOK_ALLOW_UNAUTHENTICATED: 'false', ...env })).toEqual(
      [],
    );
  });

  it.each([
    ['WEBHOOK_PATH_TOKEN', 'short'],
    ['WEBHOOK_HMAC_SECRET', 'short'],
    ['WEBHOOK_ALLOWED_CIDRS', '10.0.0.0'],
    ['TRUSTED_PROXY_CIDRS', 'proxy.internal'],
  ])('should name %s when its value breaks the rule', (name, value) => {
    expect(
      problemsOf({ ...required, NODE_ENV: 'test', [name]: value }).map((problem) => problem.split(':')[0]),
    ).toEqual([name]);
  });
});

describe('loadConfig roles and prefixes', () => {
  const productionWithoutCheck = { ...required, NODE_ENV: 'production', WEBHOOK_ALLOW_UNAUTHENTICATED: 'false' };

  it('should run intake and worker together by default', () => {
    expect(loadConfig(required).role).toBe('all');
  });

  it('should start a production worker without a webhook caller check, which it does not serve', () => {
    expect(problemsOf({ ...productionWithoutCheck, SERVICE_ROLE: 'worker' })).toEqual([]);
    expect(problemsOf({ ...productionWithoutCheck, SERVICE_ROLE: 'intake' }).join('\n')).toContain(
      'WEBHOOK_ALLOW_UNAUTHENTICATED',
    );
  });

  it('should name SERVICE_ROLE when it is not a role', () => {
    expect(problemsOf({ ...required, SERVICE_ROLE: 'both' }).map((problem) => problem.split(':')[0])).toEqual([
      'SERVICE_ROLE',
    ]);
  });

  it.each([
    ['inside the archive prefix', { S3_PREFIX: 'connectly/reports', S3_MANIFEST_PREFIX: 'connectly/reports/facts' }],
    ['containing the archive prefix', { S3_PREFIX: 'archive/reports', S3_MANIFEST_PREFIX: 'archive' }],
    ['equal to the archive prefix', { S3_PREFIX: 'connectly/reports', S3_MANIFEST_PREFIX: 'connectly/reports' }],
  ])('should refuse a manifest prefix %s', (_label, env) => {
    expect(problemsOf({ ...required, ...env }).map((problem) => problem.split(':')[0])).toEqual(['S3_MANIFEST_PREFIX']);
  });

  it('should accept sibling prefixes that only share a beginning', () => {
    expect(
      problemsOf({ ...required, S3_PREFIX: 'connectly/reports', S3_MANIFEST_PREFIX: 'connectly/reports-facts' }),
    ).toEqual([]);
  });
});
