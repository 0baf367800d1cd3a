import { ForbiddenException, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4 } from 'node:net';
import { Request } from 'express';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';

const SIGNATURE = /^(?:sha256=)?([0-9a-f]{64})$/i;

/**
 * The caller checks of the webhook, each on only if configured: source network, secret path token, and an
 * HMAC-SHA256 signature over `{timestamp}.{raw body}`. Failures say nothing about which part was wrong.
 */
@Injectable()
export class WebhookAuthenticator {
  private readonly sources?: BlockList;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    this.sources = cidrList(config.webhookAuth.allowedCidrs);
  }

  /** Runs before the body is read, so that strangers cost no more than a header parse. */
  checkCaller(req: Request): void {
    this.checkSource(req.ip ?? '');
    this.checkPathToken(req.originalUrl);
  }

  checkSignature(req: Request, rawBody: Buffer): void {
    const hmac = this.config.webhookAuth.hmac;
    if (hmac === undefined) return;

    const signature = SIGNATURE.exec(String(req.headers[hmac.header] ?? ''))?.[1];
    const timestamp = String(req.headers[hmac.timestampHeader] ?? '');
    if (signature === undefined || !this.isFresh(timestamp, hmac.toleranceMs)) throw unauthorized();

    const expected = createHmac('sha256', hmac.secret).update(`${timestamp}.`).update(rawBody).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) throw unauthorized();
  }

  private checkSource(ip: string): void {
    if (this.sources === undefined) return;

    const address = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    if (!this.sources.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')) throw new ForbiddenException('Forbidden');
  }

  private checkPathToken(originalUrl: string): void {
    const path = originalUrl.split('?')[0];
    const rest = path.slice(this.config.http.webhookPath.length).replace(/^\//, '');
    const token = this.config.webhookAuth.pathToken;

    if (token === undefined) {
      if (rest !== '') throw new NotFoundException(`Cannot POST ${this.config.http.webhookPath}/…`);
      return;
    }
    if (!sameSecret(decodeSafely(rest), token)) throw unauthorized();
  }

  private isFresh(timestamp: string, toleranceMs: number): boolean {
    if (!/^\d{1,12}$/.test(timestamp)) return false;
    return Math.abs(this.clock.now().getTime() - Number(timestamp) * 1000) <= toleranceMs;
  }
}

function unauthorized(): UnauthorizedException {
  return new UnauthorizedException('Unauthorized');
}

/** Compares digests, so neither the length nor the content of the secret leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function decodeSafely(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function cidrList(cidrs: string[]): BlockList | undefined {
  if (cidrs.length === 0) return undefined;

  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/');
    list.addSubnet(network, Number(prefix), isIPv4(network) ? 'ipv4' : 'ipv6');
  }
  return list;
}
