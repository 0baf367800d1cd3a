import { Clock } from '../../src/common/clock';
import { ConfigValidationError, loadConfig } from '../../src/config/app-config';
import { archiveKey } from '../../src/storage/archive-key';
import { WebhookAuthenticator } from '../../src/webhook/webhook-authenticator';

const required = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  S3_BUCKET: 'connectly-reports',
  CONNECTLY_BUSINESS_ID: 'biz_1',
  CONNECTLY_API_KEY: 'key-0123456789',
  WEBHOOK_ALLOW_UNAUTHENTICATED: 'true',
};

/** loadConfig's verdict: a ConfigValidationError naming the variable, or the config it accepted. */
function verdict(env: Record<string, string>) {
  try {
    return { config: loadConfig({ ...required, ...env }) };
  } catch (error) {
    if (error instanceof ConfigValidationError) return { problems: error.problems };
    throw error;
  }
}

/** How the service's start would go: refused by validation, started, or crashed building the caller checks. */
function startUp(env: Record<string, string>): string {
  const result = verdict(env);
  if (result.problems !== undefined) return `refused: ${result.problems.join('; ')}`;
  try {
    new WebhookAuthenticator(result.config, new Clock());
    return 'starts';
  } catch (error) {
    return `crashes: ${error instanceof Error ? error.message : String(error)}`;
  }
}

describe('loadConfig', () => {
  describe('with source networks the service could not build', () => {
    it.each([
      ['an IPv4 octet over 255', '999.1.1.1/8'],
      ['an IPv4 prefix over 32', '10.0.0.0/99'],
      ['an IPv6 prefix over 128', 'cafe::/200'],
      ['a malformed IPv6 address', 'f:::f/64'],
    ])('should refuse WEBHOOK_ALLOWED_CIDRS with %s at validation, not crash at start-up', (_label, cidrs) => {
      expect(startUp({ WEBHOOK_ALLOWED_CIDRS: cidrs })).toMatch(/^refused: WEBHOOK_ALLOWED_CIDRS/);
    });
  });

  describe('with an S3_PREFIX that is not a plain, short key path', () => {
    it('should refuse a prefix so long that archive keys can pass the 1024-byte S3 limit', () => {
      const longest = archiveKey('p'.repeat(900), {
        reportType: 't'.repeat(256),
        reportId: 'r'.repeat(256),
        runId: 'u'.repeat(256),
        runCreatedAt: '2025-04-30T12:00:00Z',
      });

      expect(Buffer.byteLength(longest)).toBeGreaterThan(1024);
      expect(verdict({ S3_PREFIX: 'p'.repeat(900) }).problems?.join('\n')).toContain('S3_PREFIX');
    });

    it.each(['..', 'a/../b', 'a//b'])('should refuse the prefix %s', (prefix) => {
      expect(verdict({ S3_PREFIX: prefix }).problems?.join('\n')).toContain('S3_PREFIX');
    });
  });

  describe('with secrets that are only white space', () => {
    it.each([
      ['CONNECTLY_API_KEY', '   '],
      ['WEBHOOK_HMAC_SECRET', ' '.repeat(16)],
      ['KAFKA_SASL_PASSWORD', '  '],
    ])('should refuse %s', (name, value) => {
      const result = verdict({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
        [name]: value,
      });

      expect(result.problems?.join('\n')).toContain(name);
    });
  });
});
