import { Body, Controller, HttpCode, HttpStatus, Post, Req, ServiceUnavailableException } from '@nestjs/common';
import { Request } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { requestIdOf } from '../common/logging';
import { traceparentFrom } from '../common/trace-context';
import { ConnectlyWebhookDto } from './connectly-webhook.dto';
import { WebhookOutcome, WebhookService } from './webhook.service';

/** The public intake. Its path comes from configuration (see WebhookModule.forRoot). */
@Controller()
export class WebhookController {
  constructor(
    private readonly webhooks: WebhookService,
    @InjectPinoLogger(WebhookController.name) private readonly logger: PinoLogger,
  ) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async receive(@Body() webhook: ConnectlyWebhookDto, @Req() req: Request): Promise<WebhookOutcome> {
    const requestId = requestIdOf(req);
    try {
      return await this.webhooks.accept(webhook, { requestId, traceparent: traceparentFrom(req.headers.traceparent) });
    } catch (error) {
      this.logger.warn({ requestId, err: error }, 'Could not queue a webhook; asking the sender to retry');
      throw new ServiceUnavailableException('The webhook could not be queued; retry later');
    }
  }
}
