import { Body, Controller, HttpCode, HttpStatus, Post, Req, ServiceUnavailableException } from '@nestjs/common';
import { LifecycleState } from '../common/lifecycle.state';
import { MetricsService } from '../metrics/metrics.service';
import { Request } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { eventIdOnResponse, requestIdOf } from '../common/logging';
import { traceparentFrom } from '../common/trace-context';
import { ConnectlyWebhookDto } from './connectly-webhook.dto';
import { WebhookOutcome, WebhookService } from './webhook.service';

/** The public intake. Its path comes from configuration (see WebhookModule.forRoot). */
@Controller()
export class WebhookController {
  constructor(
    private readonly webhooks: WebhookService,
    private readonly lifecycle: LifecycleState,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(WebhookController.name) private readonly logger: PinoLogger,
  ) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  receive(@Body() webhook: ConnectlyWebhookDto, @Req() req: Request): Promise<WebhookOutcome> {
    return this.queue(webhook, req);
  }

  /** The same intake behind a secret path token, which the intake middleware has already checked. */
  @Post(':token')
  @HttpCode(HttpStatus.ACCEPTED)
  receiveWithToken(@Body() webhook: ConnectlyWebhookDto, @Req() req: Request): Promise<WebhookOutcome> {
    return this.queue(webhook, req);
  }

  private async queue(webhook: ConnectlyWebhookDto, req: Request): Promise<WebhookOutcome> {
    const requestId = requestIdOf(req);
    if (this.lifecycle.draining) throw new ServiceUnavailableException('The service is shutting down; retry later');
    try {
      const outcome = await this.webhooks.accept(webhook, {
        requestId,
        traceparent: traceparentFrom(req.headers.traceparent),
      });
      this.metrics.webhooks.inc({ outcome: outcome.status });
      if (outcome.status === 'accepted' && req.res !== undefined) eventIdOnResponse(req.res, outcome.eventId);
      return outcome;
    } catch (error) {
      this.logger.warn({ err: error }, 'Could not queue a webhook; asking the sender to retry');
      throw new ServiceUnavailableException('The webhook could not be queued; retry later');
    }
  }
}
