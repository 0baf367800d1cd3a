import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { LifecycleState } from '../common/lifecycle.state';
import { AppConfig } from '../config/app-config';
import { KAFKA } from '../events/kafka.client';
import { parseInboxRecord } from './inbox-record';
import { IngestService } from './ingest.service';

const HEARTBEAT_EVERY_MS = 3000;

export type ConsumerState = 'starting' | 'running' | 'crashed' | 'stopped';

/**
 * The consumer group over the inbox topic. An offset is committed only after the run's outcome event
 * is acknowledged, so a crash at any point replays the webhook instead of losing it.
 */
@Injectable()
export class InboxConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly consumer: Consumer;
  private readonly stopping = new AbortController();
  private stateValue: ConsumerState = 'starting';
  private starting?: Promise<void>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    private readonly config: AppConfig,
    private readonly ingest: IngestService,
    private readonly lifecycle: LifecycleState,
    @InjectPinoLogger(InboxConsumer.name) private readonly logger: PinoLogger,
  ) {
    this.consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30000,
      // A short long-poll lets shutdown leave the group promptly; new records still arrive at once.
      maxWaitTimeInMs: 1000,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => (this.stateValue = 'running'));
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.stateValue = event.payload.restart ? 'starting' : 'crashed';
      this.logger.error({ err: event.payload.error, restart: event.payload.restart }, 'Inbox consumer crashed');
    });
  }

  get state(): ConsumerState {
    return this.stateValue;
  }

  onApplicationBootstrap(): void {
    this.starting = this.start().catch((error: unknown) => {
      this.stateValue = 'crashed';
      this.logger.error({ err: error }, 'Inbox consumer could not start');
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.lifecycle.startDraining();
    this.stateValue = 'stopped';
    await this.starting;
    this.logger.info(
      { graceMs: this.config.shutdownGraceMs },
      'Stopping the inbox consumer; runs in flight finish first',
    );
    const deadline = setTimeout(() => this.stopping.abort(), this.config.shutdownGraceMs);
    try {
      await this.consumer.disconnect();
    } finally {
      clearTimeout(deadline);
    }
  }

  private async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.config.topics.inbox, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.config.ingest.concurrency,
      eachMessage: (payload) => this.handle(payload),
    });
  }

  private async handle(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    const record = parseInboxRecord(message.value);
    if (record === undefined) {
      this.logger.error({ topic, partition, offset: message.offset }, 'Skipping an inbox record that is not a webhook');
    } else {
      await this.withHeartbeats(payload, () => this.ingest.process(record, this.stopping.signal));
    }

    await this.consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
  }

  /** Long downloads must not cost the consumer its place in the group. */
  private async withHeartbeats(payload: EachMessagePayload, work: () => Promise<void>): Promise<void> {
    const timer = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
  }
}
