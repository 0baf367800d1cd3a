import { Module } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { serviceInfo } from '../common/service-info';
import { AppConfig } from '../config/app-config';
import { createKafka, KAFKA } from './kafka.client';
import { KafkaProducer } from './kafka-producer.service';
import { PRODUCER_INFO, ReportEventBuilder } from './report-event.builder';
import { ReportEventPublisher } from './report-event.publisher';

@Module({
  providers: [
    {
      provide: KAFKA,
      inject: [AppConfig, PinoLogger],
      useFactory: (config: AppConfig, logger: PinoLogger) => {
        logger.setContext('Kafka');
        return createKafka(config, logger);
      },
    },
    { provide: PRODUCER_INFO, useFactory: serviceInfo },
    KafkaProducer,
    ReportEventBuilder,
    ReportEventPublisher,
  ],
  exports: [KAFKA, KafkaProducer, ReportEventPublisher, PRODUCER_INFO],
})
export class EventsModule {}
