import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric the service exports, on a registry of its own (so several app instances in one process, as in
 * tests, never collide). Names follow Prometheus conventions: a unit suffix, `_total` on counters.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly webhooks = new Counter({
    name: 'connectly_ingest_webhooks_total',
    help: 'Webhook deliveries by outcome: accepted, ignored, rejected (4xx) or unavailable (503).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly ingestDuration = new Histogram({
    name: 'connectly_ingest_run_duration_seconds',
    help: 'Time from taking a run off the inbox to its outcome event being acknowledged.',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  readonly archivedBytes = new Counter({
    name: 'connectly_ingest_archived_bytes_total',
    help: 'Bytes of report CSVs archived.',
    registers: [this.registry],
  });

  readonly linkRefreshes = new Counter({
    name: 'connectly_ingest_link_refreshes_total',
    help: 'Fresh download links asked of the Reports API, by result: ok or the failure reason.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly failures = new Counter({
    name: 'connectly_ingest_run_failures_total',
    help: 'Runs that ended as report-failed, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'connectly_ingest_run_retries_total',
    help: 'Attempts of a run that failed and were retried.',
    registers: [this.registry],
  });

  readonly runsInFlight = new Gauge({
    name: 'connectly_ingest_runs_in_flight',
    help: 'Runs being downloaded and archived right now.',
    registers: [this.registry],
  });

  readonly linkTimeLeft = new Histogram({
    name: 'connectly_ingest_link_time_left_seconds',
    help: 'Time left before the signed link expires, when its download starts.',
    buckets: [0, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });

  readonly publishDuration = new Histogram({
    name: 'connectly_ingest_event_publish_duration_seconds',
    help: 'Time for Kafka to acknowledge a write, by topic role: inbox, ready or failed.',
    labelNames: ['topic'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'connectly_ingest_inbox_consumer_lag',
    help: 'Inbox records not yet committed by the ingestion consumer group, by partition.',
    labelNames: ['partition'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
