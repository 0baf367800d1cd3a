import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ArchiveStore } from '../storage/archive.store';
import { withTimeout } from './with-timeout';

const CHECK_TIMEOUT_MS = 2000;

/** Readiness of the archive: the bucket answers HeadBucket with this service's credentials. */
@Injectable()
export class StorageHealthIndicator {
  constructor(
    private readonly archive: ArchiveStore,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'storage'): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    try {
      await withTimeout(this.archive.checkBucket(), CHECK_TIMEOUT_MS, 'The object store');
      return indicator.up({ bucket: this.archive.bucket });
    } catch (error) {
      const message = error instanceof Error ? error.name : String(error);
      return indicator.down({ bucket: this.archive.bucket, message });
    }
  }
}
