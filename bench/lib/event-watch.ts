import { Consumer, Kafka, logLevel } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Isolation } from './bench-stack';

export interface SeenEvent {
  readonly ceId: string;
  readonly topic: string;
  /** performance.now() when the consumer handed the record over. */
  readonly atMs: number;
  readonly data: Record<string, unknown>;
}

/** A downstream consumer of the event topics that notes when each event arrives, keyed by its ce_id. */
export class EventWatch {
  /** A watch over a benchmark run's report-ready and report-failed topics, in a group of its own. */
  static forOutcomes(brokers: string, names: Isolation): EventWatch {
    return new EventWatch(brokers, `${names.runId}-watch`, [names.topics.reportReady, names.topics.reportFailed]);
  }

  readonly seen = new Map<string, SeenEvent>();
  private readonly consumer: Consumer;
  private readonly waiters = new Map<string, (event: SeenEvent) => void>();

  constructor(
    brokers: string,
    groupId: string,
    private readonly topics: string[],
  ) {
    const kafka = new Kafka({ clientId: groupId, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    // A short long-poll: the broker still answers the moment a record lands, this only bounds idle waits.
    this.consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  }

  async start(): Promise<void> {
    const joined = new Promise<void>((resolve) => this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve()));
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await this.consumer.run({
      eachMessage: ({ topic, message }) => {
        const ceId = message.headers?.ce_id?.toString() ?? '';
        const data = JSON.parse(message.value?.toString('utf8') ?? '{}') as Record<string, unknown>;
        this.note({ ceId, topic, atMs: performance.now(), data });
        return Promise.resolve();
      },
    });
    await Promise.race([
      joined,
      sleep(60_000).then(() => Promise.reject(new Error('the event watch did not join its group in 60 s'))),
    ]);
  }

  /** Resolves with the event of this ce_id, seen already or when it comes; rejects after `timeoutMs`. */
  waitFor(ceId: string, timeoutMs: number): Promise<SeenEvent> {
    const known = this.seen.get(ceId);
    if (known !== undefined) return Promise.resolve(known);

    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(ceId);
        reject(new Error(`no event for ${ceId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(ceId, (event) => {
        clearTimeout(timer);
        resolve(event);
      });
    });
  }

  /** Polls until `count` events are in or the deadline passes; returns how many arrived. */
  async waitForCount(count: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.seen.size < count && performance.now() < deadline) await sleep(20);
    return this.seen.size;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  private note(event: SeenEvent): void {
    if (this.seen.has(event.ceId)) return;
    this.seen.set(event.ceId, event);
    this.waiters.get(event.ceId)?.(event);
    this.waiters.delete(event.ceId);
  }
}
