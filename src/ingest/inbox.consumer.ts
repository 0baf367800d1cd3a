import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import pLimit, { Limit } from 'p-limit';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { LifecycleState } from '../common/lifecycle.state';
import { AppConfig } from '../config/app-config';
import { KAFKA } from '../events/kafka.client';
import { InboxRecord, parseInboxRecord } from './inbox-record';
import { IngestService } from './ingest.service';
import { scheduleByExpiry } from './run-schedule';

const HEARTBEAT_EVERY_MS = 3000;

export type ConsumerState = 'starting' | 'running' | 'crashed' | 'stopped';

/**
 * The consumer group over the inbox topic. Each fetched batch is run soonest-expiring link first, at most
 * INGEST_CONCURRENCY runs at once across all partitions. A batch's offset is committed only after every
 * outcome event in it is acknowledged, so a crash at any point replays webhooks instead of losing them.
 */
@Injectable()
export class InboxConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly consumer: Consumer;
  private readonly stopping = new AbortController();
  private stateValue: ConsumerState = 'starting';
  private readonly slots: Limit;
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
    this.slots = pLimit(config.ingest.concurrency);
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
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.config.ingest.concurrency,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = payload.batch;
    const last = messages.at(-1);
    if (last === undefined) return;

    const groups = scheduleByExpiry(this.parseAll(topic, partition, messages));
    await this.withHeartbeats(payload, () => this.runAll(groups));

    payload.resolveOffset(last.offset);
    // Through the batch, not consumer.commitOffsets: that one is skipped once disconnect() has begun, which would
    // drop the commit of the very runs a graceful shutdown waited for.
    const offset = (BigInt(last.offset) + 1n).toString();
    await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
  }

  /** Settles every run before deciding, so that no run is still going when a failed batch is fetched again. */
  private async runAll(groups: InboxRecord[][]): Promise<void> {
    const results = await Promise.allSettled(groups.map((group) => this.slots(() => this.runGroup(group))));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  private async runGroup(group: InboxRecord[]): Promise<void> {
    for (const record of group) await this.ingest.process(record, this.stopping.signal);
  }

  private parseAll(topic: string, partition: number, messages: KafkaMessage[]): InboxRecord[] {
    const records: InboxRecord[] = [];
    for (const message of messages) {
      const record = parseInboxRecord(message.value);
      if (record !== undefined) records.push(record);
      else
        this.logger.error(
          { topic, partition, offset: message.offset },
          'Skipping an inbox record that is not a webhook',
        );
    }
    return records;
  }

  /** Long downloads must not cost the consumer its place in the group. */
  private async withHeartbeats(payload: EachBatchPayload, work: () => Promise<void>): Promise<void> {
    const timer = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
  }
}
