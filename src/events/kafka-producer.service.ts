import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Kafka, Message, Partitioners, Producer, TopicMessages } from 'kafkajs';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { MetricsService } from '../metrics/metrics.service';
import { KAFKA } from './kafka.client';
import { SendCoalescer } from './send-coalescer';

/** How long the broker may take to gather acknowledgements for a request; each caller bounds its own wait. */
const BROKER_ACK_TIMEOUT_MS = 30_000;

export type ProducerState = 'connecting' | 'connected' | 'disconnected' | 'replacing' | 'stopped';

/** Broker answers after which an idempotent producer cannot go on (CASES C06): it must be replaced. */
const FATAL_PRODUCER_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** True when the error, or any error it wraps, is one of the fatal idempotence answers. */
export function isFatalProducerError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { type, cause, errors } = error as { type?: unknown; cause?: unknown; errors?: unknown };
  if (typeof type === 'string' && FATAL_PRODUCER_ERRORS.has(type)) return true;
  if (Array.isArray(errors) && errors.some((inner) => isFatalProducerError(inner, depth + 1))) return true;
  return isFatalProducerError(cause, depth + 1);
}

/** Kafka did not take a write: not connected yet, shutting down, or no acknowledgement in time. */
export class PublishError extends Error {
  readonly retriable = true;

  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'PublishError';
  }
}

/**
 * The service's idempotent producer. It tracks every send still in flight so that shutdown waits for them
 * instead of trusting `disconnect()` to flush (CASES C01), and reports its own state for readiness.
 */
@Injectable()
export class KafkaProducer implements OnApplicationBootstrap, OnApplicationShutdown {
  private producer: Producer;
  private readonly pending = new Set<Promise<unknown>>();
  private stateValue: ProducerState = 'connecting';
  private connectLoop?: Promise<void>;
  private readonly stopping = new AbortController();
  private readonly coalescer: SendCoalescer;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(KafkaProducer.name) private readonly logger: PinoLogger,
  ) {
    this.producer = this.createProducer();
    this.coalescer = new SendCoalescer((topicMessages) => this.write(topicMessages));
  }

  get state(): ProducerState {
    return this.stateValue;
  }

  onApplicationBootstrap(): void {
    this.connectLoop = this.connectUntilStopped();
  }

  /** Resolves once the producer has connected; for commands that publish right after start-up. */
  async whenConnected(timeoutMs: number): Promise<void> {
    await this.withTimeout(this.connectLoop ?? Promise.resolve(), 'the producer connection', timeoutMs);
    if (this.stateValue !== 'connected') throw new PublishError(`Kafka producer is ${this.stateValue}`);
  }

  /** Writes messages with acks from all in-sync replicas; rejects if Kafka has not acknowledged them in time. */
  async send(topic: string, messages: Message[], timeoutMs = this.config.kafka.publishTimeoutMs): Promise<void> {
    if (this.stateValue !== 'connected') throw new PublishError(`Kafka producer is ${this.stateValue}`);

    const stopTimer = this.metrics.publishDuration.startTimer({ topic: this.roleOf(topic) });
    const sending = this.coalescer.enqueue(topic, messages);
    this.track(sending);
    await this.withTimeout(sending, topic, timeoutMs);
    stopTimer();
  }

  async onApplicationShutdown(): Promise<void> {
    this.setState('stopped');
    this.stopping.abort();
    await this.connectLoop;
    await this.drainPending();
    await this.producer.disconnect();
    this.logger.info('Kafka producer closed');
  }

  private createProducer(): Producer {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    producer.on(producer.events.CONNECT, () => this.setState('connected'));
    producer.on(producer.events.DISCONNECT, () => this.stateValue !== 'replacing' && this.setState('disconnected'));
    return producer;
  }

  private async write(topicMessages: TopicMessages[]): Promise<void> {
    try {
      await this.producer.sendBatch({ topicMessages, acks: -1, timeout: BROKER_ACK_TIMEOUT_MS });
    } catch (error) {
      if (isFatalProducerError(error) && this.stateValue === 'connected') void this.replace(error);
      throw error;
    }
  }

  /** Swaps in a new producer (a new producer id, sequences from zero); readiness is down meanwhile. */
  private async replace(cause: unknown): Promise<void> {
    this.logger.error({ err: cause }, 'The Kafka producer hit a fatal idempotence error; replacing it');
    this.setState('replacing');
    const old = this.producer;
    this.producer = this.createProducer();
    await old.disconnect().catch(() => undefined);
    this.connectLoop = this.connectUntilStopped();
    await this.connectLoop;
  }

  private async connectUntilStopped(): Promise<void> {
    for (let attempt = 1; this.stateValue !== 'stopped'; attempt += 1) {
      try {
        await this.producer.connect();
        return;
      } catch (error) {
        this.logger.warn({ err: error, attempt }, 'Kafka producer could not connect; retrying');
        await this.clock.sleep(Math.min(500 * attempt, 5000), this.stopping.signal).catch(() => undefined);
      }
    }
  }

  private track(sending: Promise<void>): void {
    const settled = sending.catch(() => undefined);
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
  }

  private async withTimeout<T>(work: Promise<T>, topic: string, timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PublishError(`Kafka did not acknowledge the write to ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });

    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drainPending(): Promise<void> {
    if (this.pending.size === 0) return;

    this.logger.info({ pending: this.pending.size }, 'Waiting for Kafka sends still in flight');
    await Promise.race([Promise.all(this.pending), this.clock.sleep(this.config.shutdownGraceMs)]);
  }

  private roleOf(topic: string): string {
    const { inbox, reportReady, reportFailed } = this.config.topics;
    if (topic === inbox) return 'inbox';
    if (topic === reportReady) return 'ready';
    return topic === reportFailed ? 'failed' : 'other';
  }

  private setState(state: ProducerState): void {
    if (this.stateValue === 'stopped') return;
    this.stateValue = state;
  }
}
