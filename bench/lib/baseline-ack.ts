import { join } from 'node:path';
import type { StackEndpoints } from '../../scripts/stack/stack';
import { Child, freePort, spawnNode } from './child';
import { REPO_ROOT } from './report';

export interface RunningBaseline {
  readonly child: Child;
  readonly baseUrl: string;
}

/** Starts bench/baseline-ack-server.ts as its own process, as the service is, and waits for its producer. */
export async function startAckBaseline(
  stack: StackEndpoints,
  topic: string,
  clientId: string,
  coalesce = false,
): Promise<RunningBaseline> {
  const port = await freePort(3970);
  const child = spawnNode({
    name: 'baseline-ack-server',
    args: ['--import', 'tsx', join(REPO_ROOT, 'bench', 'baseline-ack-server.ts')],
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      KAFKA_BROKERS: stack.kafkaBrokers,
      TOPIC_INBOX: topic,
      KAFKA_CLIENT_ID: clientId,
      COALESCE: String(coalesce),
    },
    logFile: join(REPO_ROOT, '.cache', 'bench', 'logs', `${clientId}.log`),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await child.waitForOk(`${baseUrl}/ready`, 60_000);
  } catch (error) {
    await child.stop(1000);
    throw error;
  }
  return { child, baseUrl };
}
