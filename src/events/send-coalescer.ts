import { Message, TopicMessages } from 'kafkajs';

interface Queued {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces concurrent sends into one produce request. The first send goes out at once; sends that arrive while
 * a request is in flight wait for it and then leave together. The idempotent producer allows one request in
 * flight per broker, so without this every webhook would queue behind the one before it.
 */
export class SendCoalescer {
  private queue: Queued[] = [];
  private draining?: Promise<void>;

  constructor(
    private readonly write: (batch: TopicMessages[]) => Promise<unknown>,
    private readonly maxMessages = 1000,
  ) {}

  /** Resolves once the request that carried these messages is acknowledged; rejects with its error. */
  enqueue(topic: string, messages: Message[]): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.queue.push({ topic, messages, resolve, reject }));
    this.draining ??= this.drain();
    return done;
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.sendNext();
    } finally {
      this.draining = undefined;
    }
  }

  private async sendNext(): Promise<void> {
    const batch = this.take();
    try {
      await this.write(byTopic(batch));
      for (const queued of batch) queued.resolve();
    } catch (error) {
      for (const queued of batch) queued.reject(error);
    }
  }

  private take(): Queued[] {
    let count = 0;
    let taken = 0;
    while (
      taken < this.queue.length &&
      (taken === 0 || count + this.queue[taken].messages.length <= this.maxMessages)
    ) {
      count += this.queue[taken].messages.length;
      taken += 1;
    }
    return this.queue.splice(0, taken);
  }
}

function byTopic(batch: Queued[]): TopicMessages[] {
  const topics = new Map<string, Message[]>();
  for (const { topic, messages } of batch) topics.set(topic, [...(topics.get(topic) ?? []), ...messages]);

  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}
