import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';

/**
 * Flips to draining the moment shutdown begins: readiness fails and new webhooks get 503 while runs in
 * flight finish, before any client closes (CASES C28).
 */
@Injectable()
export class LifecycleState implements BeforeApplicationShutdown {
  private drainingValue = false;

  get draining(): boolean {
    return this.drainingValue;
  }

  startDraining(): void {
    this.drainingValue = true;
  }

  beforeApplicationShutdown(): void {
    this.startDraining();
  }
}
