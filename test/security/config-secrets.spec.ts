import { getMetadataStorage } from 'class-validator';
import fc from 'fast-check';
import { inspect } from 'node:util';
import { ConfigValidationError, loadConfig } from '../../src/config/app-config';
import { EnvironmentVariables } from '../../src/config/environment';

const MARKER = 'Mk7qZ';

const valid: Record<string, string> = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  S3_BUCKET: 'connectly-reports',
  CONNECTLY_BUSINESS_ID: 'biz_1',
  CONNECTLY_API_KEY: 'api-key-valid-0123456789',
  WEBHOOK_ALLOW_UNAUTHENTICATED: 'true',
};

/** Everything a failed loadConfig can show: the message, the stack, the problems, and how a logger would print it. */
function errorText(env: Record<string, string>): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    return [error.message, String(error), error.stack ?? '', JSON.stringify(error), inspect(error, { depth: 5 })].join(
      '\n',
    );
  }
}

/** Every variable the environment class validates, read from class-validator's own metadata. */
function validatedVariables(): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false);
  return [...new Set(metadata.map((entry) => entry.propertyName))].sort();
}

/**
 * For each secret: a value containing the marker that breaks the variable's rule, and what else the env needs
 * for the rule to apply. Variables that accept any non-empty string have no invalid value; see the next table.
 */
const INVALID_SECRETS: Array<[string, string, string, Record<string, string>]> = [
  ['WEBHOOK_PATH_TOKEN', 'too short', `${MARKER}-too-short`, {}],
  ['WEBHOOK_PATH_TOKEN', 'not URL-safe', `${MARKER}/not/url-safe/0123456789abcdef`, {}],
  ['WEBHOOK_PATH_TOKEN', 'too long', `${MARKER}${'x'.repeat(300)}`, {}],
  ['WEBHOOK_HMAC_SECRET', 'too short', MARKER, {}],
  ['ADMIN_TOKEN', 'too short', MARKER, {}],
  ['ADMIN_TOKEN', 'holding a space', `${MARKER} 0123456789abcdefghijklmnop`, {}],
  ['S3_ENDPOINT', 'credentials in an ftp URL', `ftp://user:${MARKER}@minio:9000`, {}],
  ['S3_ENDPOINT', 'credentials without a scheme', `user:${MARKER}@minio:9000`, {}],
  ['CONNECTLY_API_BASE_URL', 'credentials in an ftp URL', `ftp://user:${MARKER}@api.connectly.test`, {}],
  ['CONNECTLY_API_BASE_URL', 'credentials and no host', `https://user:${MARKER}@`, {}],
  ['KAFKA_BROKERS', 'credentials in a broker address', `user:${MARKER}@broker`, {}],
  ['KAFKA_SASL_MECHANISM', 'a password pasted after the mechanism', `plain:${MARKER}`, { KAFKA_SASL_USERNAME: 'u' }],
];

/** Secrets any non-empty value satisfies: they must stay out of the errors other variables cause. */
const FREE_FORM_SECRETS = [
  'CONNECTLY_API_KEY',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SASL_USERNAME',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];

describe('loadConfig', () => {
  describe('with an invalid secret', () => {
    it.each(INVALID_SECRETS)(
      'should name %s but never print its value when it is %s',
      (name, _what, value, context) => {
        const text = errorText({ ...valid, ...context, [name]: value });

        expect(text).toBeDefined();
        expect(text).toContain(name);
        expect(text).not.toContain(MARKER);
      },
    );
  });

  describe('with a valid secret beside an invalid variable', () => {
    it.each(FREE_FORM_SECRETS)('should keep %s out of the error', (name) => {
      const text = errorText({
        ...valid,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'user',
        KAFKA_SASL_PASSWORD: 'password',
        [name]: `${MARKER}-secret-value-0123456789`,
        PORT: 'not-a-port',
        WEBHOOK_HMAC_SECRET: 'short',
      });

      expect(text).toContain('PORT');
      expect(text).not.toContain(MARKER);
    });
  });

  describe('with arbitrary values in every variable', () => {
    it('should never print a value, whichever variable it breaks', () => {
      const names = validatedVariables();
      expect(names).toEqual(
        expect.arrayContaining(['ADMIN_TOKEN', 'CONNECTLY_API_KEY', 'WEBHOOK_HMAC_SECRET', 'WEBHOOK_PATH_TOKEN']),
      );

      fc.assert(
        fc.property(
          fc.constantFrom(...names),
          fc.string({ maxLength: 12 }),
          fc.string({ maxLength: 12 }),
          (name, before, after) => {
            const text = errorText({ ...valid, KAFKA_SASL_MECHANISM: 'plain', [name]: `${before}${MARKER}${after}` });

            expect(text ?? '').not.toContain(MARKER);
          },
        ),
        { numRuns: 1500 },
      );
    });
  });
});
