import { redactUrl, withoutSecret } from './redact';

describe('redactUrl', () => {
  it('should keep origin and path and drop the query string', () => {
    expect(redactUrl('https://reports.connectly.ai/a/b.csv?X-Amz-Signature=abc&expires=1')).toBe(
      'https://reports.connectly.ai/a/b.csv?[redacted]',
    );
  });
});

describe('withoutSecret', () => {
  it.each([
    ['another letter case', '/WEBHOOKS/connectly/TOK_ABC-123', 'tok_abc-123'],
    ['a doubled slash in a 404 message', 'Cannot POST //webhooks/connectly/tok_abc-123', 'tok_abc-123'],
    ['a percent-encoded form', '/webhooks/connectly/tok%2Babc', 'tok+abc'],
  ])('should hide the secret in %s', (_label, text, secret) => {
    expect(withoutSecret(text, secret)).toContain('[redacted]');
    expect(withoutSecret(text, secret).toLowerCase()).not.toContain(secret.toLowerCase());
  });

  it('should leave the text alone when there is no secret', () => {
    expect(withoutSecret('/webhooks/connectly', undefined)).toBe('/webhooks/connectly');
  });
});
