import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Admin, Kafka } from 'kafkajs';
import { AppConfig, runsWorker } from '../config/app-config';
import { KAFKA } from '../events/kafka.client';
import { KafkaProducer } from '../events/kafka-producer.service';
import { InboxConsumer } from '../ingest/inbox.consumer';
import { withTimeout } from './with-timeout';

const CHECK_TIMEOUT_MS = 2000;

/**
 * Readiness of Kafka as this process uses it: the shared client's admin answers a metadata call for the topics
 * it uses (an intake: the inbox only), the producer is connected and, where the worker runs, the inbox consumer
 * is in its group (CASES C26: no separate ping).
 */
@Injectable()
export class KafkaHealthIndicator implements OnApplicationShutdown {
  private readonly admin: Admin;
  private adminConnected = false;
  private inFlight?: Promise<void>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    private readonly producer: KafkaProducer,
    private readonly config: AppConfig,
    private readonly health: HealthIndicatorService,
    // Absent in an intake-only process.
    @Optional() private readonly consumer?: InboxConsumer,
  ) {
    // No retries: a probe must answer within its timeout, and a retrying call outliving it would pile up.
    this.admin = kafka.admin({ retry: { retries: 0 } });
    this.admin.on(this.admin.events.DISCONNECT, () => (this.adminConnected = false));
  }

  async check(key = 'kafka'): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    const states = { producer: this.producer.state, consumer: this.consumer?.state ?? 'not-run' };
    try {
      await withTimeout(this.topicsCheck(), CHECK_TIMEOUT_MS, 'Kafka metadata');
    } catch (error) {
      return indicator.down({ ...states, message: error instanceof Error ? error.message : String(error) });
    }

    const consumerUp = this.consumer === undefined || states.consumer === 'running';
    if (states.producer !== 'connected' || !consumerUp) return indicator.down(states);
    return indicator.up(states);
  }

  async onApplicationShutdown(): Promise<void> {
    await withTimeout(this.inFlight ?? Promise.resolve(), CHECK_TIMEOUT_MS * 5, 'Kafka metadata').catch(
      () => undefined,
    );
    await this.admin.disconnect();
  }

  /** One metadata call at a time: probes that arrive while one is out share its answer. */
  private topicsCheck(): Promise<void> {
    this.inFlight ??= this.topicsExist().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async topicsExist(): Promise<void> {
    if (!this.adminConnected) {
      await this.admin.connect();
      this.adminConnected = true;
    }
    const { topics } = this.config;
    const wanted = runsWorker(this.config) ? [topics.inbox, topics.reportReady, topics.reportFailed] : [topics.inbox];
    const existing = new Set(await this.admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic));
    if (missing.length > 0) throw new Error(`Missing topics: ${missing.join(', ')}`);
  }
}
