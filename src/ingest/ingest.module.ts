import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { InboxConsumer } from './inbox.consumer';
import { IngestCoreModule } from './ingest-core.module';

@Module({
  imports: [IngestCoreModule, EventsModule],
  providers: [InboxConsumer],
  exports: [InboxConsumer],
})
export class IngestModule {}
