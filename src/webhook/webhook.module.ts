import { DynamicModule, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { AppConfig } from '../config/app-config';
import { EventsModule } from '../events/events.module';
import { WebhookAuthenticator } from './webhook-authenticator';
import { WebhookBodyMiddleware } from './webhook-body.middleware';
import { WebhookController } from './webhook.controller';
import { WebhookService } from './webhook.service';

@Module({})
export class WebhookModule implements NestModule {
  constructor(private readonly config: AppConfig) {}

  /** Mounts the webhook controller at the configured path, on a subclass so that nothing global changes. */
  static forRoot(config: AppConfig): DynamicModule {
    class ConfiguredWebhookController extends WebhookController {}
    Reflect.defineMetadata(PATH_METADATA, config.http.webhookPath, ConfiguredWebhookController);

    return {
      module: WebhookModule,
      imports: [EventsModule],
      controllers: [ConfiguredWebhookController],
      providers: [WebhookService, WebhookBodyMiddleware, WebhookAuthenticator],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    const path = this.config.http.webhookPath;
    consumer
      .apply(WebhookBodyMiddleware)
      .forRoutes({ path, method: RequestMethod.POST }, { path: `${path}/:token`, method: RequestMethod.POST });
  }
}
