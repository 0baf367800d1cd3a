import { Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { SpanKind } from '@opentelemetry/api';
import { KafkaProducer } from '../events/kafka-producer.service';
import { TracingService } from '../tracing/tracing.service';
import { eventIdOf, InboxRecord } from '../ingest/inbox-record';
import { CompletedRunWebhook, ConnectlyWebhookDto } from './connectly-webhook.dto';

export type WebhookOutcome = { status: 'accepted'; eventId: string } | { status: 'ignored'; reason: string };

export interface DeliveryContext {
  requestId: string;
  traceparent: string;
}

/** Decides whether a valid webhook is ours, and if so makes it durable in the inbox topic. */
@Injectable()
export class WebhookService {
  constructor(
    private readonly producer: KafkaProducer,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly tracing: TracingService,
    @InjectPinoLogger(WebhookService.name) private readonly logger: PinoLogger,
  ) {}

  /** Resolves once Kafka has acknowledged the inbox record; rejects (and nothing is promised) otherwise. */
  async accept(webhook: ConnectlyWebhookDto, context: DeliveryContext): Promise<WebhookOutcome> {
    const ignored = ignoreReason(webhook);
    if (ignored !== undefined) {
      this.logger.info({ reason: ignored }, 'Ignored a webhook that is not a completed run');
      return { status: 'ignored', reason: ignored };
    }

    const completed = webhook as unknown as CompletedRunWebhook;
    const step = this.tracing.start('webhook.receive', SpanKind.SERVER, context.traceparent, {
      'connectly.report_id': completed.report.id,
      'connectly.run_id': completed.report.last_run.id,
    });
    const record = this.toRecord(completed, { ...context, traceparent: step.traceparent });
    try {
      await this.producer.send(this.config.topics.inbox, [
        { key: record.webhook.report.id, value: JSON.stringify(record), headers: { 'event-id': record.eventId } },
      ]);
    } catch (error) {
      this.tracing.end(step, error);
      throw error;
    }
    this.tracing.end(step);

    return { status: 'accepted', eventId: record.eventId };
  }

  private toRecord(webhook: CompletedRunWebhook, context: DeliveryContext): InboxRecord {
    const { id, name, type, last_run: run } = webhook.report;

    return {
      version: 1,
      eventId: eventIdOf(id, run.id),
      receivedAt: this.clock.now().toISOString(),
      requestId: context.requestId,
      traceparent: context.traceparent,
      webhook: {
        topic: 'report',
        timestamp: webhook.timestamp,
        report: {
          id,
          name,
          type: type ?? undefined,
          last_run: {
            id: run.id,
            status: 'completed',
            result: { url: run.result.url, expires_at: run.result.expires_at, created_at: run.result.created_at },
          },
        },
      },
    };
  }
}

function ignoreReason(webhook: ConnectlyWebhookDto): string | undefined {
  if (webhook.topic !== 'report') return `topic ${webhook.topic} is not handled`;
  if (webhook.report.last_run.status !== 'completed')
    return `run status ${webhook.report.last_run.status} is not completed`;

  return undefined;
}
