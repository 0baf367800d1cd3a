import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Admin, Kafka } from 'kafkajs';
import { AppConfig } from '../config/app-config';
import { KAFKA } from '../events/kafka.client';
import { withTimeout } from '../health/with-timeout';
import { MetricsService } from './metrics.service';

const LAG_TIMEOUT_MS = 1500;

/** Computes inbox lag at scrape time from the group's committed offsets and the partitions' end offsets. */
@Injectable()
export class InboxLagProbe implements OnApplicationShutdown {
  private readonly admin: Admin;
  private connected?: Promise<void>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.admin = kafka.admin();
  }

  /** Best effort: a slow or absent broker leaves the last values in place rather than stalling the scrape. */
  async refresh(): Promise<void> {
    try {
      await withTimeout(this.measure(), LAG_TIMEOUT_MS, 'Kafka offsets');
    } catch {
      this.connected = undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin.disconnect();
  }

  private async measure(): Promise<void> {
    this.connected ??= this.admin.connect();
    await this.connected;

    const topic = this.config.topics.inbox;
    const [ends, [committed]] = await Promise.all([
      this.admin.fetchTopicOffsets(topic),
      this.admin.fetchOffsets({ groupId: this.config.kafka.groupId, topics: [topic] }),
    ]);
    for (const end of ends) {
      const done = committed.partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1';
      const lag = Number(end.high) - Math.max(Number(done), Number(end.low));
      this.metrics.consumerLag.set({ partition: String(end.partition) }, Math.max(lag, 0));
    }
  }
}
