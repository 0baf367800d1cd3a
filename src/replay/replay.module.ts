import { Module } from '@nestjs/common';
import { IngestCoreModule } from '../ingest/ingest-core.module';
import { ReplayService } from './replay.service';

@Module({
  imports: [IngestCoreModule],
  providers: [ReplayService],
  exports: [ReplayService],
})
export class ReplayModule {}
