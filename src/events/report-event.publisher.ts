import { Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { IngestError } from '../common/ingest-errors';
import { InboxRecord } from '../ingest/inbox-record';
import { KafkaProducer } from './kafka-producer.service';
import { ReportEventBuilder } from './report-event.builder';
import { ReportReadyData } from './report-event.types';

const EVENT_PUBLISH_TIMEOUT_MS = 30_000;

/** Announces the end of a run. Resolves only once Kafka has acknowledged the event. */
@Injectable()
export class ReportEventPublisher {
  constructor(
    private readonly producer: KafkaProducer,
    private readonly builder: ReportEventBuilder,
    private readonly config: AppConfig,
    @InjectPinoLogger(ReportEventPublisher.name) private readonly logger: PinoLogger,
  ) {}

  async ready(record: InboxRecord, data: Omit<ReportReadyData, 'schemaVersion' | 'producer'>): Promise<void> {
    await this.producer.send(
      this.config.topics.reportReady,
      [this.builder.ready(record, data)],
      EVENT_PUBLISH_TIMEOUT_MS,
    );
    this.logger.info(
      { eventId: record.eventId, key: data.archive.key, rows: data.content.rowCount, bytes: data.archive.sizeBytes },
      'Published report-ready',
    );
  }

  async failed(record: InboxRecord, error: IngestError, attempts: number, failedAt: Date): Promise<void> {
    const message = this.builder.failed(record, error, attempts, failedAt);
    await this.producer.send(this.config.topics.reportFailed, [message], EVENT_PUBLISH_TIMEOUT_MS);
    this.logger.warn({ eventId: record.eventId, reason: error.reason, attempts }, 'Published report-failed');
  }
}
