import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { KafkaHealthIndicator } from './kafka.health';
import { LifecycleState } from '../common/lifecycle.state';
import { StorageHealthIndicator } from './storage.health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly kafka: KafkaHealthIndicator,
    private readonly storage: StorageHealthIndicator,
    private readonly lifecycle: LifecycleState,
  ) {}

  /** Liveness checks no dependency: a broken broker must not get pods restarted. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicators.check('process').up({ pid: process.pid })]);
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.intake(), () => this.kafka.check(), () => this.storage.check()]);
  }

  private intake() {
    const indicator = this.indicators.check('intake');
    return this.lifecycle.draining ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }
}
