import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';

/** `Authorization: Bearer {ADMIN_TOKEN}`, compared in constant time. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const given = /^Bearer (.+)$/.exec(header)?.[1] ?? '';
    const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

    if (this.config.adminToken === undefined || !timingSafeEqual(digest(given), digest(this.config.adminToken))) {
      throw new UnauthorizedException('Unauthorized');
    }
    return true;
  }
}
