import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig, runsWorker } from '../config/app-config';
import { TerminusModule } from '@nestjs/terminus';
import { EventsModule } from '../events/events.module';
import { IngestModule } from '../ingest/ingest.module';
import { StorageModule } from '../storage/storage.module';
import { HealthController } from './health.controller';
import { KafkaHealthIndicator } from './kafka.health';
import { StorageHealthIndicator } from './storage.health';

/** Probes for what this process runs: an intake-only process neither consumes the inbox nor writes to S3. */
@Module({})
export class HealthModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: HealthModule,
      imports: [
        TerminusModule.forRoot({ logger: false, gracefulShutdownTimeoutMs: 0 }),
        EventsModule,
        StorageModule,
        ...(runsWorker(config) ? [IngestModule] : []),
      ],
      controllers: [HealthController],
      providers: [KafkaHealthIndicator, StorageHealthIndicator],
    };
  }
}
