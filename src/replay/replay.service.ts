import { Inject, Injectable } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { traceparentFrom } from '../common/trace-context';
import { AppConfig } from '../config/app-config';
import { KAFKA } from '../events/kafka.client';
import { KafkaProducer } from '../events/kafka-producer.service';
import { ReportFailedData } from '../events/report-event.types';
import { InboxRecord } from '../ingest/inbox-record';
import { IngestService } from '../ingest/ingest.service';
import { keyPart } from '../storage/archive-key';
import { ArchiveStore } from '../storage/archive.store';
import { readTopicToEnd } from './topic-reader';

export interface ReannounceFilter {
  reportId?: string;
  /** First and last day (YYYY-MM-DD, from the run's created_at) to include. */
  from?: string;
  to?: string;
}

export interface RedriveFilter {
  reportId?: string;
  reason?: string;
}

/** An expiry in the past makes the worker ask the Reports API for a fresh link before anything else. */
const FORCE_REFRESH = '1970-01-01T00:00:00.000Z';

/** Operator tools: re-announce archived runs from the archive alone, and send failed runs through again. */
@Injectable()
export class ReplayService {
  constructor(
    private readonly archive: ArchiveStore,
    private readonly ingest: IngestService,
    private readonly producer: KafkaProducer,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @InjectPinoLogger(ReplayService.name) private readonly logger: PinoLogger,
  ) {}

  /** Publishes report-ready again (same ids, `reason: replay`) for every archived run the filter selects. */
  async reannounce(filter: ReannounceFilter): Promise<{ announced: number }> {
    let announced = 0;
    for await (const key of this.archive.listArchive()) {
      if (!selects(key, filter)) continue;
      const object = await this.archive.find(key);
      if (object === undefined) continue;

      await this.ingest.reannounce(object);
      announced += 1;
    }
    this.logger.info({ ...filter, announced }, 'Re-announced archived runs');
    return { announced };
  }

  /** Writes the runs of report-failed events back to the inbox, the newest failure of each run once. */
  async redrive(filter: RedriveFilter): Promise<{ requeued: number }> {
    const failures = await this.latestFailures(filter);
    for (const failure of failures) {
      const record = this.inboxRecordOf(failure);
      await this.producer.send(this.config.topics.inbox, [
        { key: record.webhook.report.id, value: JSON.stringify(record), headers: { 'event-id': record.eventId } },
      ]);
    }
    this.logger.info({ ...filter, requeued: failures.length }, 'Sent failed runs through again');
    return { requeued: failures.length };
  }

  private async latestFailures(filter: RedriveFilter): Promise<ReportFailedData[]> {
    const latest = new Map<string, ReportFailedData>();
    const groupId = `${this.config.kafka.groupId}.redrive.${randomUUID()}`;
    await readTopicToEnd(this.kafka, this.config.topics.reportFailed, groupId, (value) => {
      const data = JSON.parse(value) as ReportFailedData;
      if (filter.reportId !== undefined && data.report.reportId !== filter.reportId) return;
      if (filter.reason !== undefined && data.reason !== filter.reason) return;
      latest.set(`${data.report.reportId}:${data.run.runId}`, data);
    });

    return [...latest.values()];
  }

  private inboxRecordOf(failure: ReportFailedData): InboxRecord {
    const webhook = structuredClone(failure.webhook) as InboxRecord['webhook'];
    webhook.report.last_run.result.expires_at = FORCE_REFRESH;

    return {
      version: 1,
      eventId: `${failure.report.reportId}:${failure.run.runId}`,
      receivedAt: this.clock.now().toISOString(),
      requestId: 'redrive',
      traceparent: traceparentFrom(undefined),
      webhook,
    };
  }
}

function selects(key: string, filter: ReannounceFilter): boolean {
  const segments = key.split('/');
  if (filter.reportId !== undefined && !segments.includes(`report=${keyPart(filter.reportId)}`)) return false;

  const day = segments.find((segment) => segment.startsWith('dt='))?.slice(3) ?? '';
  if (filter.from !== undefined && day < filter.from) return false;
  return filter.to === undefined || day <= filter.to;
}
