import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';

/** Flips to draining the moment shutdown begins, so readiness fails before any client closes. */
@Injectable()
export class LifecycleState implements BeforeApplicationShutdown {
  private drainingValue = false;

  get draining(): boolean {
    return this.drainingValue;
  }

  beforeApplicationShutdown(): void {
    this.drainingValue = true;
  }
}
