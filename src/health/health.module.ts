import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EventsModule } from '../events/events.module';
import { IngestModule } from '../ingest/ingest.module';
import { StorageModule } from '../storage/storage.module';
import { HealthController } from './health.controller';
import { KafkaHealthIndicator } from './kafka.health';
import { StorageHealthIndicator } from './storage.health';

@Module({
  imports: [
    TerminusModule.forRoot({ logger: false, gracefulShutdownTimeoutMs: 0 }),
    EventsModule,
    StorageModule,
    IngestModule,
  ],
  controllers: [HealthController],
  providers: [KafkaHealthIndicator, StorageHealthIndicator],
})
export class HealthModule {}
