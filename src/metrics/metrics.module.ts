import { Global, Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { InboxLagProbe } from './inbox-lag.probe';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({
  imports: [EventsModule],
  controllers: [MetricsController],
  providers: [MetricsService, InboxLagProbe],
  exports: [MetricsService],
})
export class MetricsModule {}
