import { Injectable } from '@nestjs/common';
import { backOff } from 'exponential-backoff';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createInflate } from 'node:zlib';
import { Clock } from '../common/clock';
import { asIngestError, IngestError } from '../common/ingest-errors';
import { urlHost } from '../common/redact';
import { traceparentFrom } from '../common/trace-context';
import { AppConfig } from '../config/app-config';
import { DownloadResponse, ReportDownloadClient } from '../connectly/report-download.client';
import { ReportsApiClient } from '../connectly/reports-api.client';
import { ReportEventPublisher } from '../events/report-event.publisher';
import { refsOf } from '../events/report-event.builder';
import { ContentInfo } from '../events/report-event.types';
import { SpanKind } from '@opentelemetry/api';
import { MetricsService } from '../metrics/metrics.service';
import { TracingService } from '../tracing/tracing.service';
import { archiveKey } from '../storage/archive-key';
import { ArchiveMetadata } from '../storage/archive-metadata';
import { ArchivedObject, ArchivedRunRef, ArchiveStore, CSV_CONTENT_TYPE } from '../storage/archive.store';
import { BLOCK_BYTES, DeclaredLengthCheck, SizeCap } from './byte-counter';
import { CsvContentError, CsvInspector, readCsvHeader } from './csv-inspector';
import { InboxRecord } from './inbox-record';
import { RunAttempt } from './run-attempt';

const NOT_CSV = /^(text\/html|application\/(json|xml|problem\+json)|text\/xml)/;
const HEADER_READ_BYTES = 64 * 1024;

interface ArchivedRun {
  object: ArchivedObject;
  content: ContentInfo;
}

/** Takes one accepted webhook to its end: the CSV archived and report-ready published, or report-failed. */
@Injectable()
export class IngestService {
  constructor(
    private readonly config: AppConfig,
    private readonly archive: ArchiveStore,
    private readonly downloads: ReportDownloadClient,
    private readonly reportsApi: ReportsApiClient,
    private readonly publisher: ReportEventPublisher,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly tracing: TracingService,
    @InjectPinoLogger(IngestService.name) private readonly logger: PinoLogger,
  ) {}

  /**
   * Resolves once the run's outcome event is acknowledged by Kafka. Rejects when it could not be published,
   * or when the signal stopped the run (shutdown): the webhook then stays in the inbox for the next consumer.
   */
  async process(record: InboxRecord, signal: AbortSignal): Promise<void> {
    const step = this.tracing.start('report.ingest', SpanKind.CONSUMER, record.traceparent, {
      'connectly.event_id': record.eventId,
    });
    const stopTimer = this.metrics.ingestDuration.startTimer();
    this.metrics.runsInFlight.inc();
    try {
      const outcome = await this.settle({ ...record, traceparent: step.traceparent }, signal);
      stopTimer({ outcome });
      step.span.setAttribute('connectly.outcome', outcome);
      this.tracing.end(step);
    } catch (error) {
      this.tracing.end(step, error);
      throw error;
    } finally {
      this.metrics.runsInFlight.dec();
    }
  }

  private async settle(record: InboxRecord, signal: AbortSignal): Promise<'ready' | 'failed'> {
    const attempt = new RunAttempt(record, this.clock.now().getTime() + this.config.ingest.runDeadlineMs);
    const outcome = await this.archiveWithRetries(attempt, signal).catch((error: unknown) => asIngestError(error));

    if (outcome instanceof IngestError && signal.aborted) throw outcome;
    if (outcome instanceof IngestError) {
      await this.publisher.failed(record, outcome, attempt.attempts, this.clock.now());
      this.metrics.failures.inc({ reason: outcome.reason });
      return 'failed';
    }
    await this.announce(record, outcome);
    return 'ready';
  }

  /** Announces an archived run again from the archive alone, without downloading: same id, reason `replay`. */
  async reannounce(object: ArchivedObject): Promise<void> {
    const record = recordOfArchive(object);
    await this.announce(record, { object, content: await this.contentOf(object) }, 'replay');
  }

  private async announce(
    record: InboxRecord,
    outcome: ArchivedRun,
    reason: 'initial' | 'replay' = 'initial',
  ): Promise<void> {
    await this.publisher.ready(record, {
      ...refsOf(record),
      archive: {
        bucket: outcome.object.bucket,
        key: outcome.object.key,
        uri: this.archive.uri(outcome.object.key),
        versionId: outcome.object.versionId,
        eTag: outcome.object.eTag,
        sizeBytes: outcome.object.sizeBytes,
        contentType: CSV_CONTENT_TYPE,
        checksum: { algorithm: 'SHA256', value: outcome.object.metadata.sha256 },
      },
      content: outcome.content,
      provenance: { ...outcome.object.metadata.provenance, reason },
    });
  }

  private archiveWithRetries(attempt: RunAttempt, signal: AbortSignal): Promise<ArchivedRun> {
    return backOff(() => this.archiveOnce(attempt, signal), {
      numOfAttempts: this.config.ingest.maxAttempts,
      startingDelay: this.config.ingest.retryBaseMs,
      maxDelay: this.config.ingest.retryMaxMs,
      jitter: 'full',
      retry: (error: unknown, next: number) => this.shouldRetry(attempt, asIngestError(error), next, signal),
    });
  }

  private async shouldRetry(
    attempt: RunAttempt,
    error: IngestError,
    next: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (!error.retriable || signal.aborted || next > this.config.ingest.maxAttempts) return false;
    if (attempt.pastDeadline(this.clock.now())) return false;

    attempt.needsFreshLink ||= error.linkExpired;
    this.logger.warn(
      { eventId: attempt.record.eventId, attempt: next - 1, nextAttempt: next, reason: error.message },
      'Run attempt failed; retrying',
    );
    this.metrics.retries.inc();
    if (error.retryAfterMs !== undefined) await this.clock.sleep(error.retryAfterMs, signal).catch(() => undefined);

    return !signal.aborted;
  }

  private async archiveOnce(attempt: RunAttempt, signal: AbortSignal): Promise<ArchivedRun> {
    attempt.attempts += 1;
    const key = this.keyOf(attempt.record);
    const existing = await this.archive.find(key);
    if (existing !== undefined) return { object: existing, content: await this.contentOf(existing) };

    await this.clearEarlierAttempts(attempt, key);
    await this.refreshLinkIfNeeded(attempt, signal);
    attempt.downloads += 1;
    this.metrics.linkTimeLeft.observe(Math.max(attempt.msUntilExpiry(this.clock.now()) / 1000, 0));
    const response = await this.downloads.open(attempt.url, signal);

    return await this.transfer(attempt, response, key, signal);
  }

  private async clearEarlierAttempts(attempt: RunAttempt, key: string): Promise<void> {
    const cleared = await this.archive.abortEarlierUploads(key);
    if (cleared > 0)
      this.logger.info({ eventId: attempt.record.eventId, cleared }, 'Removed uploads left by an earlier attempt');
  }

  private async refreshLinkIfNeeded(attempt: RunAttempt, signal: AbortSignal): Promise<void> {
    const expiring = attempt.linkExpiresWithin(this.config.download.expiryMarginMs, this.clock.now());
    if (!attempt.needsFreshLink && !expiring) return;

    const { report } = attempt.record.webhook;
    const link = await this.reportsApi
      .freshLink(report.id, report.last_run.id, report.type, signal)
      .catch((error: unknown) => {
        this.metrics.linkRefreshes.inc({ result: asIngestError(error).reason });
        throw error;
      });
    this.metrics.linkRefreshes.inc({ result: 'ok' });
    attempt.useFreshLink(link.url, link.expiresAt);
    this.logger.info({ eventId: attempt.record.eventId, expiresAt: link.expiresAt }, 'Fetched a fresh download link');
  }

  private async transfer(
    attempt: RunAttempt,
    response: DownloadResponse,
    key: string,
    signal: AbortSignal,
  ): Promise<ArchivedRun> {
    const inspector = new CsvInspector();
    const object = await this.streamToArchive(response, inspector, key, attempt, signal);
    const facts = inspector.facts();
    this.metrics.archivedBytes.inc(facts.sizeBytes);

    return {
      object,
      content: { rowCount: facts.rowCount, columns: facts.columns, hasBom: facts.hasBom, lineEnding: facts.lineEnding },
    };
  }

  /** Download and upload run side by side; when either fails the other is aborted and its parts removed. */
  private async streamToArchive(
    response: DownloadResponse,
    inspector: CsvInspector,
    key: string,
    attempt: RunAttempt,
    signal: AbortSignal,
  ): Promise<ArchivedObject> {
    const stages = this.stagesFor(response);
    const controller = new AbortController();
    const both = AbortSignal.any([signal, controller.signal]);
    let firstFailure: unknown;
    const failFast = <T>(work: Promise<T>): Promise<T> =>
      work.catch((error: unknown) => {
        firstFailure ??= error;
        controller.abort();
        throw error;
      });

    const metadataOf = (): ArchiveMetadata => this.metadataOf(attempt, inspector.facts());
    const [piped, written] = await Promise.allSettled([
      failFast(pipeline([response.body, ...stages, inspector], { signal: both })),
      failFast(this.archive.write(inspector, key, this.runOf(attempt), metadataOf, both)),
    ]);
    if (piped.status === 'rejected' || written.status === 'rejected') throw this.transferError(firstFailure);

    return written.value;
  }

  private stagesFor(response: DownloadResponse): Transform[] {
    try {
      this.refuseNonCsv(response);
      return this.decodingStages(response);
    } catch (error) {
      discardBody(response);
      throw error;
    }
  }

  private decodingStages(response: DownloadResponse): Transform[] {
    const stages: Transform[] = [new DeclaredLengthCheck(response.contentLength)];
    const decoding = { chunkSize: BLOCK_BYTES };
    if (response.contentEncoding === 'gzip' || response.contentEncoding === 'x-gzip')
      stages.push(createGunzip(decoding));
    else if (response.contentEncoding === 'deflate') stages.push(createInflate(decoding));
    else if (response.contentEncoding !== undefined && response.contentEncoding !== 'identity') {
      throw IngestError.permanent(
        'unexpected-content',
        `The download uses unsupported encoding ${response.contentEncoding}`,
      );
    }
    stages.push(new SizeCap(this.config.download.maxBytes));

    return stages;
  }

  private refuseNonCsv(response: DownloadResponse): void {
    if (response.contentType === undefined || !NOT_CSV.test(response.contentType)) return;

    throw IngestError.transient(
      `The download is ${response.contentType}, not CSV`,
      undefined,
      undefined,
      'unexpected-content',
    );
  }

  private transferError(error: unknown): IngestError {
    if (error instanceof IngestError) return error;
    if (error instanceof CsvContentError)
      return IngestError.transient(error.message, error, undefined, 'unexpected-content');
    return asIngestError(error);
  }

  private async contentOf(object: ArchivedObject): Promise<ContentInfo> {
    const start =
      object.sizeBytes === 0 ? Buffer.alloc(0) : await this.archive.readStart(object.key, HEADER_READ_BYTES);
    const header = await readCsvHeader(start);

    return {
      rowCount: object.metadata.rowCount,
      ...header,
      hasBom: object.metadata.hasBom,
      lineEnding: object.metadata.lineEnding,
    };
  }

  private runOf(attempt: RunAttempt): ArchivedRunRef {
    return { eventId: attempt.record.eventId, ...refsOf(attempt.record) };
  }

  private metadataOf(attempt: RunAttempt, facts: { sha256: string } & ContentInfo): ArchiveMetadata {
    return {
      eventId: attempt.record.eventId,
      ...refsOf(attempt.record),
      sha256: facts.sha256,
      rowCount: facts.rowCount,
      hasBom: facts.hasBom,
      lineEnding: facts.lineEnding,
      provenance: {
        webhookReceivedAt: attempt.record.receivedAt,
        downloadAttempts: attempt.downloads,
        urlRefreshed: attempt.urlRefreshed,
        sourceUrlHost: urlHost(attempt.url),
        sourceUrlExpiresAt: attempt.expiresAt,
        archivedAt: this.clock.now().toISOString(),
      },
    };
  }

  private keyOf(record: InboxRecord): string {
    const report = record.webhook.report;

    return archiveKey(this.config.s3.prefix, {
      reportType: report.type,
      reportId: report.id,
      runId: report.last_run.id,
      runCreatedAt: report.last_run.result.created_at,
    });
  }
}

/** The inbox record an archived run came from, as far as the archive remembers it (no link: none is needed). */
function recordOfArchive(object: ArchivedObject): InboxRecord {
  const { eventId, report, run, provenance } = object.metadata;

  return {
    version: 1,
    eventId,
    receivedAt: provenance.webhookReceivedAt,
    requestId: 'replay',
    traceparent: traceparentFrom(undefined),
    webhook: {
      topic: 'report',
      timestamp: provenance.webhookReceivedAt,
      report: {
        id: report.reportId,
        name: report.reportName,
        type: report.reportType,
        last_run: {
          id: run.runId,
          status: 'completed',
          result: { url: '', expires_at: provenance.sourceUrlExpiresAt, created_at: run.runCreatedAt },
        },
      },
    },
  };
}

/** Drops a response body nobody will read; undici reports the abort as an error event, which must have a listener. */
function discardBody(response: DownloadResponse): void {
  response.body.on('error', () => undefined);
  response.body.destroy();
}
