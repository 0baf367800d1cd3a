import { Inject, Injectable } from '@nestjs/common';
import { IHeaders, Message } from 'kafkajs';
import { AppConfig } from '../config/app-config';
import { IngestError } from '../common/ingest-errors';
import { redactUrl } from '../common/redact';
import { InboxRecord } from '../ingest/inbox-record';
import {
  CloudEventAttributes,
  EVENT_SCHEMA_VERSION,
  ProducerInfo,
  REPORT_FAILED_TYPE,
  REPORT_READY_TYPE,
  ReportFailedData,
  ReportReadyData,
  ReportRef,
  RunRef,
} from './report-event.types';

export const PRODUCER_INFO = Symbol('PRODUCER_INFO');

export const READY_SCHEMA = 'urn:connectly-report-ingest:schema:report-ready:1';
export const FAILED_SCHEMA = 'urn:connectly-report-ingest:schema:report-failed:1';

/** Builds the Kafka records of the report-ready and report-failed topics as binary-mode CloudEvents. */
@Injectable()
export class ReportEventBuilder {
  constructor(
    private readonly config: AppConfig,
    @Inject(PRODUCER_INFO) private readonly producer: ProducerInfo,
  ) {}

  ready(record: InboxRecord, data: Omit<ReportReadyData, 'schemaVersion' | 'producer'>): Message {
    const full: ReportReadyData = { schemaVersion: EVENT_SCHEMA_VERSION, ...data, producer: this.producer };
    const attributes = this.attributes(
      record,
      REPORT_READY_TYPE,
      READY_SCHEMA,
      data.provenance.archivedAt,
      data.archive.key,
    );

    return this.message({ ...attributes, dataref: data.archive.uri }, full);
  }

  failed(record: InboxRecord, error: IngestError, attempts: number, failedAt: Date): Message {
    const data: ReportFailedData = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      ...refsOf(record),
      reason: error.reason,
      attempts,
      lastError: { message: error.message },
      supersededByRunId: error.supersededByRunId,
      webhook: withoutCredentials(record),
      failedAt: failedAt.toISOString(),
      producer: this.producer,
    };
    const subject = `${record.webhook.report.id}/${record.webhook.report.last_run.id}`;

    return this.message(this.attributes(record, REPORT_FAILED_TYPE, FAILED_SCHEMA, data.failedAt, subject), data);
  }

  private attributes(
    record: InboxRecord,
    type: string,
    schema: string,
    time: string,
    subject: string,
  ): CloudEventAttributes {
    return {
      specversion: '1.0',
      id: record.eventId,
      source: `/connectly-report-ingest/businesses/${encodeURIComponent(this.config.connectly.businessId)}`,
      type,
      time,
      subject,
      datacontenttype: 'application/json',
      dataschema: schema,
      partitionkey: record.webhook.report.id,
      traceparent: record.traceparent,
    };
  }

  private message(attributes: CloudEventAttributes, data: object): Message {
    const { datacontenttype, ...rest } = attributes;
    const headers: IHeaders = { 'content-type': datacontenttype };
    for (const [name, value] of Object.entries(rest)) {
      if (value !== undefined) headers[`ce_${name}`] = String(value);
    }

    return { key: attributes.partitionkey, value: JSON.stringify(data), headers };
  }
}

export function refsOf(record: InboxRecord): { report: ReportRef; run: RunRef } {
  const report = record.webhook.report;

  return {
    report: { reportId: report.id, reportName: report.name, reportType: report.type },
    run: { runId: report.last_run.id, runCreatedAt: report.last_run.result.created_at },
  };
}

function withoutCredentials(record: InboxRecord): unknown {
  const webhook = structuredClone(record.webhook);
  webhook.report.last_run.result.url = redactUrl(webhook.report.last_run.result.url);

  return webhook;
}
