import { Module } from '@nestjs/common';
import { ConnectlyModule } from '../connectly/connectly.module';
import { EventsModule } from '../events/events.module';
import { StorageModule } from '../storage/storage.module';
import { InboxConsumer } from './inbox.consumer';
import { IngestService } from './ingest.service';

@Module({
  imports: [EventsModule, StorageModule, ConnectlyModule],
  providers: [IngestService, InboxConsumer],
  exports: [InboxConsumer],
})
export class IngestModule {}
