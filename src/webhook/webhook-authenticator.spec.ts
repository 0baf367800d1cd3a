import { ForbiddenException, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { Request } from 'express';
import { createHmac } from 'node:crypto';
import { Clock } from '../common/clock';
import { loadConfig } from '../config/app-config';
import { WebhookAuthenticator } from './webhook-authenticator';

const NOW = new Date('2025-04-30T12:00:00Z');
const clock = { now: () => NOW } as Clock;
const TOKEN = 'tok_0123456789abcdefghijklmn';
const SECRET = 'hmac-secret-0123456789';

function authenticator(env: Record<string, string>): WebhookAuthenticator {
  const config = loadConfig({
    KAFKA_BROKERS: 'k:9092',
    S3_BUCKET: 'bucket',
    CONNECTLY_BUSINESS_ID: 'b',
    CONNECTLY_API_KEY: 'k',
    NODE_ENV: 'test',
    ...env,
  });
  return new WebhookAuthenticator(config, clock);
}

function request(parts: { url?: string; ip?: string; headers?: Record<string, string> }): Request {
  return {
    originalUrl: parts.url ?? '/webhooks/connectly',
    ip: parts.ip ?? '203.0.113.9',
    headers: parts.headers ?? {},
  } as Request;
}

function sign(body: string, timestamp: number, secret = SECRET): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

describe(WebhookAuthenticator.name, () => {
  describe('checkCaller', () => {
    it('should accept anyone on the bare path when nothing is configured', () => {
      expect(() => authenticator({}).checkCaller(request({}))).not.toThrow();
    });

    it('should answer 404 for a path token nobody configured', () => {
      expect(() => authenticator({}).checkCaller(request({ url: '/webhooks/connectly/guess' }))).toThrow(
        NotFoundException,
      );
    });

    it('should accept the configured path token and refuse any other with 401', () => {
      const auth = authenticator({ WEBHOOK_PATH_TOKEN: TOKEN });

      expect(() => auth.checkCaller(request({ url: `/webhooks/connectly/${TOKEN}?x=1` }))).not.toThrow();
      expect(() => auth.checkCaller(request({ url: '/webhooks/connectly' }))).toThrow(UnauthorizedException);
      expect(() => auth.checkCaller(request({ url: `/webhooks/connectly/${TOKEN}x` }))).toThrow(UnauthorizedException);
      expect(() => auth.checkCaller(request({ url: `/webhooks/connectly/${TOKEN.slice(1)}` }))).toThrow(
        UnauthorizedException,
      );
    });

    it('should accept sources inside the allowed networks only, IPv4-mapped forms included', () => {
      const auth = authenticator({ WEBHOOK_ALLOWED_CIDRS: '198.51.100.0/24,2001:db8::/32' });

      expect(() => auth.checkCaller(request({ ip: '198.51.100.7' }))).not.toThrow();
      expect(() => auth.checkCaller(request({ ip: '::ffff:198.51.100.7' }))).not.toThrow();
      expect(() => auth.checkCaller(request({ ip: '2001:db8::1' }))).not.toThrow();
      expect(() => auth.checkCaller(request({ ip: '198.51.101.7' }))).toThrow(ForbiddenException);
      expect(() => auth.checkCaller(request({ ip: '' }))).toThrow(ForbiddenException);
    });
  });

  describe('checkSignature', () => {
    const auth = authenticator({ WEBHOOK_HMAC_SECRET: SECRET });
    const body = '{"topic":"report", "name":"caf\\u00e9 é"}\n';
    const now = NOW.getTime() / 1000;
    const headers = (signature: string, timestamp: number) => ({
      'x-signature': signature,
      'x-signature-timestamp': String(timestamp),
    });

    it('should accept a signature over the exact bytes, with or without the sha256= prefix', () => {
      expect(() =>
        auth.checkSignature(request({ headers: headers(sign(body, now), now) }), Buffer.from(body)),
      ).not.toThrow();
      expect(() =>
        auth.checkSignature(request({ headers: headers(`sha256=${sign(body, now)}`, now) }), Buffer.from(body)),
      ).not.toThrow();
    });

    it.each([
      ['one changed byte', (b: string) => b.replace('é', 'e'), 0, SECRET],
      ['another secret', (b: string) => b, 0, 'another-secret-0123456'],
      ['a timestamp outside the tolerance', (b: string) => b, -301, SECRET],
      ['a timestamp in the future beyond tolerance', (b: string) => b, 301, SECRET],
    ])('should refuse %s with 401', (_label, tamper, skew, secret) => {
      const timestamp = now + skew;
      const signature = sign(body, timestamp, secret);

      expect(() =>
        auth.checkSignature(request({ headers: headers(signature, timestamp) }), Buffer.from(tamper(body))),
      ).toThrow(UnauthorizedException);
    });

    it.each([
      ['no signature', {}],
      ['a signature that is not hex', { 'x-signature': 'zz', 'x-signature-timestamp': String(now) }],
      ['no timestamp', { 'x-signature': sign(body, now) }],
      ['a timestamp that is not a number', { 'x-signature': sign(body, now), 'x-signature-timestamp': 'now' }],
    ])('should refuse %s with 401', (_label, given) => {
      expect(() => auth.checkSignature(request({ headers: given }), Buffer.from(body))).toThrow(UnauthorizedException);
    });
  });
});
