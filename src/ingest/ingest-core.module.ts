import { Module } from '@nestjs/common';
import { ConnectlyModule } from '../connectly/connectly.module';
import { EventsModule } from '../events/events.module';
import { StorageModule } from '../storage/storage.module';
import { IngestService } from './ingest.service';

/** The business steps of a run, without the inbox consumer: shared by the service and the replay command. */
@Module({
  imports: [EventsModule, StorageModule, ConnectlyModule],
  providers: [IngestService],
  exports: [IngestService, StorageModule, EventsModule],
})
export class IngestCoreModule {}
