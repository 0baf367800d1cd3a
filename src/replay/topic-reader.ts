import { Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

const READ_TIMEOUT_MS = 120_000;

async function timeout(ms: number, topic: string): Promise<never> {
  await sleep(ms, undefined, { ref: false });
  throw new Error(`Reading ${topic} to its end took longer than ${ms} ms`);
}

/** Reads a topic from its start to the end offsets it had when called, in a throwaway consumer group. */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  groupId: string,
  onValue: (value: string) => void,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const remaining = new Map(
      ends.filter((end) => end.high !== end.low).map((end) => [end.partition, BigInt(end.high)]),
    );
    if (remaining.size > 0) await consumeUntil(kafka, topic, groupId, remaining, onValue);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

async function consumeUntil(
  kafka: Kafka,
  topic: string,
  groupId: string,
  remaining: Map<number, bigint>,
  onValue: (value: string) => void,
): Promise<void> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: ({ partition, message }) => {
      if (message.value !== null) onValue(message.value.toString('utf8'));
      if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
      if (remaining.size === 0) finish();
      return Promise.resolve();
    },
  });
  try {
    await Promise.race([done, timeout(READ_TIMEOUT_MS, topic)]);
  } finally {
    await consumer.disconnect();
  }
}
