import { Controller, Get, Header } from '@nestjs/common';
import { InboxLagProbe } from './inbox-lag.probe';
import { MetricsService } from './metrics.service';

@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly lag: InboxLagProbe,
  ) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    await this.lag.refresh();
    return this.metrics.registry.metrics();
  }
}
