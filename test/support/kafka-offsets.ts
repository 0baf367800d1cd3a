import { Admin, Kafka, logLevel } from 'kafkajs';
import { eventually } from './eventually';

async function withAdmin<T>(brokers: string, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka({
    clientId: 'e2e-offsets',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Records ever written to a topic (its partitions' high minus low watermarks): exact for a fresh test topic. */
export function topicRecordCount(brokers: string, topic: string): Promise<number> {
  return withAdmin(brokers, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
  });
}

/** True when the group has committed every record of the topic: nothing is left to process or replay. */
export function groupCaughtUp(brokers: string, groupId: string, topic: string): Promise<boolean> {
  return withAdmin(brokers, async (admin) => {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committedBy = new Map(committed.partitions.map((entry) => [entry.partition, Number(entry.offset)]));

    return ends.every(
      (end) => Number(end.high) === Number(end.low) || committedBy.get(end.partition) === Number(end.high),
    );
  });
}

/**
 * Waits until the service's consumer group has committed the whole inbox. The service commits only after a
 * run's outcome event is acknowledged, so afterwards the event topics hold every event they will ever get.
 */
export async function waitForInboxDrained(env: Record<string, string>, timeoutMs = 60_000): Promise<void> {
  await eventually(
    `group ${env.KAFKA_GROUP_ID} to commit all of ${env.TOPIC_INBOX}`,
    async () => ((await groupCaughtUp(env.KAFKA_BROKERS, env.KAFKA_GROUP_ID, env.TOPIC_INBOX)) ? true : undefined),
    timeoutMs,
  );
}
