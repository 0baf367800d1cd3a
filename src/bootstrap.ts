import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';

/** Builds the application without listening, so that tests start it on a port of their choosing. */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // Nobody caches a 202 or a probe answer; hashing every JSON body for an ETag is wasted work on the hot path.
  app.set('etag', false);
  app.set('trust proxy', config.http.trustedProxies.length > 0 ? config.http.trustedProxies : false);

  return app;
}
