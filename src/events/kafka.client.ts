import { Kafka, KafkaConfig, logLevel, LogEntry, SASLOptions } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';

export const KAFKA = Symbol('KAFKA');

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Builds the one kafkajs client the service shares between its producer, consumer and health checks. */
export function createKafka(config: AppConfig, logger: PinoLogger): Kafka {
  const options: KafkaConfig = {
    clientId: config.kafka.clientId,
    brokers: config.kafka.brokers,
    ssl: config.kafka.ssl,
    sasl: saslOptions(config),
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafkaEntry(logger, entry),
  };

  return new Kafka(options);
}

function saslOptions(config: AppConfig): SASLOptions | undefined {
  const sasl = config.kafka.sasl;
  if (sasl === undefined) return undefined;

  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
}

function logKafkaEntry(logger: PinoLogger, entry: LogEntry): void {
  const { message, ...fields } = entry.log;
  const level = LEVELS[entry.level] ?? 'info';
  logger[level]({ kafkaNamespace: entry.namespace, ...fields }, `kafkajs: ${message}`);
}
