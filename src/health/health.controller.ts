import { Controller, Get } from '@nestjs/common';
import { AppConfig, runsWorker } from '../config/app-config';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { KafkaHealthIndicator } from './kafka.health';
import { DependencyLog, DependencyOutcome } from '../common/dependency-log';
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
    private readonly dependencyLog: DependencyLog,
    private readonly config: AppConfig,
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
    const storage = runsWorker(this.config) ? [() => this.storage.check()] : [];
    return this.health.check([() => this.intake(), () => this.kafka.check(), ...storage]);
  }

  /** For people, not probes: each dependency with its latency and last error; always answers 200. */
  @Get('dependencies')
  async dependencies(): Promise<{ status: 'up' | 'degraded' | 'down'; dependencies: DependencyOutcome[] }> {
    const checks = [this.timed('kafka', () => this.kafka.check('kafka'))];
    if (runsWorker(this.config)) checks.push(this.timed('object-store', () => this.storage.check('object-store')));
    const live = await Promise.all(checks);
    const dependencies = [...live, ...this.dependencyLog.snapshot()];
    const down = dependencies.filter((dependency) => dependency.status === 'down').length;

    return { status: down === 0 ? 'up' : down === dependencies.length ? 'down' : 'degraded', dependencies };
  }

  private async timed(name: string, check: () => Promise<HealthIndicatorResult>): Promise<DependencyOutcome> {
    const started = performance.now();
    const result = (await check())[name] as { status: 'up' | 'down'; message?: string } & Record<string, unknown>;
    const { status, message, ...detail } = result;

    return { name, status, latencyMs: Math.round(performance.now() - started), lastError: message, detail };
  }

  private intake() {
    const indicator = this.indicators.check('intake');
    return this.lifecycle.draining ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }
}
