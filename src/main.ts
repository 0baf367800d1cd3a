import './process-warnings';
import 'reflect-metadata';
import { INestApplication } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { createApp } from './bootstrap';
import { AppConfig, ConfigValidationError, loadConfig, runsIntake } from './config/app-config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  await app.listen(config.http.port, config.http.host);

  const logger = app.get(Logger);
  logger.log(
    {
      role: config.role,
      port: config.http.port,
      webhookPath: config.http.webhookPath,
      s3Checksums: config.s3.checksums,
      forcePathStyle: config.s3.forcePathStyle,
    },
    'connectly-report-ingest is listening',
    'Bootstrap',
  );
  if (runsIntake(config) && !hasCallerCheck(config)) {
    logger.warn(
      'The webhook accepts calls from anyone: no path token, signature or source network is configured',
      'Bootstrap',
    );
  }
  closeOnSignals(app, logger, config.shutdownGraceMs);
}

/**
 * Our own signal handling rather than Nest's shutdown hooks, which re-raise the signal after closing and so end
 * the process "killed by SIGTERM" instead of with exit code 0 once everything has drained.
 */
function closeOnSignals(app: INestApplication, logger: Logger, graceMs: number): void {
  const close = (signal: NodeJS.Signals): void => {
    logger.log({ signal }, 'Shutting down: intake stops, runs in flight drain, then clients close', 'Bootstrap');
    setTimeout(() => process.exit(1), graceMs + 5000).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'Shutdown failed', 'Bootstrap');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

function hasCallerCheck(config: AppConfig): boolean {
  const auth = config.webhookAuth;
  return auth.pathToken !== undefined || auth.hmac !== undefined || auth.allowedCidrs.length > 0;
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigValidationError ? error.message : `Start-up failed: ${String(error)}`;
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: message, time: Date.now() })}\n`);
  process.exit(1);
});
