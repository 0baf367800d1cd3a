import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { createApp } from './bootstrap';
import { AppConfig, ConfigValidationError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  await app.listen(config.http.port, config.http.host);

  app.get(Logger).log(
    {
      port: config.http.port,
      webhookPath: config.http.webhookPath,
      s3Checksums: config.s3.checksums,
      forcePathStyle: config.s3.forcePathStyle,
    },
    'connectly-report-ingest is listening',
  );
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigValidationError ? error.message : `Start-up failed: ${String(error)}`;
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: message, time: Date.now() })}\n`);
  process.exit(1);
});
