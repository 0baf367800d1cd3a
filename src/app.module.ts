import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { CommonModule } from './common/common.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { loggerParams } from './common/logging';
import { AppConfig, runsIntake, runsWorker } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { OpenApiController } from './docs/openapi.controller';
import { HealthModule } from './health/health.module';
import { IngestModule } from './ingest/ingest.module';
import { MetricsModule } from './metrics/metrics.module';
import { TracingModule } from './tracing/tracing.module';
import { AdminModule } from './replay/admin.module';
import { WebhookModule } from './webhook/webhook.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        CommonModule,
        MetricsModule,
        TracingModule,
        LoggerModule.forRoot(loggerParams(config)),
        ...(runsIntake(config) ? [WebhookModule.forRoot(config)] : []),
        ...(runsWorker(config) ? [IngestModule] : []),
        HealthModule.forRoot(config),
        // Replay and redrive read the archive, which only the worker needs credentials for.
        ...(config.adminToken !== undefined && runsWorker(config) ? [AdminModule] : []),
      ],
      controllers: [OpenApiController],
      providers: [
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            transform: false,
            stopAtFirstError: false,
            validationError: { target: false, value: false },
          }),
        },
      ],
    };
  }
}
