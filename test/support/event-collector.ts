import { Consumer, Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { eventually } from './eventually';

export interface CollectedEvent {
  topic: string;
  key: string;
  headers: Record<string, string>;
  data: Record<string, unknown>;
}

/** A downstream consumer for tests: reads the event topics from the start and keeps what arrives. */
export class EventCollector {
  readonly events: CollectedEvent[] = [];
  private readonly consumer: Consumer;

  constructor(
    brokers: string,
    private readonly topics: string[],
  ) {
    const kafka = new Kafka({ clientId: 'e2e-collector', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    this.consumer = kafka.consumer({
      groupId: `e2e-collector-${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    let joined = false;
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => (joined = true));
    await this.consumer.run({
      eachMessage: async ({ topic, message }) => {
        this.events.push({
          topic,
          key: message.key?.toString('utf8') ?? '',
          headers: Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
          ),
          data: JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, unknown>,
        });
        return Promise.resolve();
      },
    });
    await eventually('the event collector to join its group', () => (joined ? true : undefined));
  }

  /** Waits until `count` events match, and returns them. */
  async waitFor(
    count: number,
    match: (event: CollectedEvent) => boolean,
    timeoutMs = 60_000,
  ): Promise<CollectedEvent[]> {
    return eventually(
      `${count} matching event(s)`,
      () => {
        const found = this.events.filter(match);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

export const withId =
  (id: string) =>
  (event: CollectedEvent): boolean =>
    event.headers.ce_id === id;

/** A started collector over a service instance's report-ready and report-failed topics. */
export async function collectOutcomes(env: Record<string, string>): Promise<EventCollector> {
  const collector = new EventCollector(env.KAFKA_BROKERS, [env.TOPIC_REPORT_READY, env.TOPIC_REPORT_FAILED]);
  await collector.start();
  return collector;
}
