import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger, LoggerModule } from 'nestjs-pino';
import { parseArgs } from 'node:util';
import { CommonModule } from '../common/common.module';
import { loggerParams } from '../common/logging';
import { AppConfig, loadConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { KafkaProducer } from '../events/kafka-producer.service';
import { MetricsModule } from '../metrics/metrics.module';
import { TracingModule } from '../tracing/tracing.module';
import { ReplayModule } from './replay.module';
import { ReplayService } from './replay.service';

const USAGE = `usage:
  node dist/replay/replay.cli.js reannounce [--report ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
  node dist/replay/replay.cli.js redrive [--report ID] [--reason REASON]
Reads the same environment variables as the service.`;

@Module({})
class ReplayCliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ReplayCliModule,
      imports: [
        ConfigModule.forRoot(config),
        CommonModule,
        LoggerModule.forRoot(loggerParams(config)),
        MetricsModule,
        TracingModule,
        ReplayModule,
      ],
    };
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      report: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      reason: { type: 'string' },
    },
  });
  const command = positionals[0];
  if (command !== 'reannounce' && command !== 'redrive') throw new UsageError(USAGE);

  const config = loadConfig(process.env);
  const app = await NestFactory.createApplicationContext(ReplayCliModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await app.init();
  try {
    await app.get(KafkaProducer).whenConnected(30_000);
    const replay = app.get(ReplayService);
    const result =
      command === 'reannounce'
        ? await replay.reannounce({ reportId: values.report, from: values.from, to: values.to })
        : await replay.redrive({ reportId: values.report, reason: values.reason });
    process.stdout.write(`${JSON.stringify({ command, ...result })}\n`);
  } finally {
    await app.close();
  }
}

class UsageError extends Error {}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof UsageError ? error.message : `replay failed: ${String(error)}`}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
