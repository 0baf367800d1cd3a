import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { createApp } from './bootstrap';
import { AppConfig, ConfigValidationError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  await app.listen(config.http.port, config.http.host);

  const logger = app.get(Logger);
  logger.log(
    {
      port: config.http.port,
      webhookPath: config.http.webhookPath,
      s3Checksums: config.s3.checksums,
      forcePathStyle: config.s3.forcePathStyle,
    },
    'connectly-report-ingest is listening',
  );
  if (!hasCallerCheck(config)) {
    logger.warn('The webhook accepts calls from anyone: no path token, signature or source network is configured');
  }
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
