/** `tsx scripts/stack/cli.ts up [--keep-kafka-data] | down | status | env` for the embedded local stack. */
import {
  pinnedVersions,
  stackDown,
  stackEndpoints,
  stackEnv,
  stackStatus,
  stackUp,
  type StackEndpoints,
} from './stack';

const USAGE = `usage: tsx scripts/stack/cli.ts <command>
  up [--keep-kafka-data]  start Kafka and S3Proxy (or reuse them), create the bucket and default topics
  down                    stop both and leave nothing running
  status                  report whether each answers; exits 1 unless both do
  env                     print the service's environment variables for the stack`;

function log(line: string): void {
  console.error(`[stack] ${line}`);
}

function printEndpoints(endpoints: StackEndpoints): void {
  const versions = pinnedVersions();
  console.log(`kafka ${versions.kafka}   ${endpoints.kafkaBrokers}`);
  console.log(`s3proxy ${versions.s3proxy} ${endpoints.s3Endpoint} (bucket ${endpoints.bucket})`);
  printEnv(endpoints);
}

function printEnv(endpoints: StackEndpoints): void {
  for (const [key, value] of Object.entries(stackEnv(endpoints))) console.log(`${key}=${value}`);
}

async function up(args: string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== '--keep-kafka-data');
  if (unknown.length > 0) return usageError(`unknown option ${unknown.join(' ')}`);
  const started = Date.now();
  const endpoints = await stackUp({ log, keepKafkaData: args.includes('--keep-kafka-data') });
  log(`up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  printEndpoints(endpoints);
  return 0;
}

async function status(): Promise<number> {
  const { kafka, s3 } = await stackStatus();
  const endpoints = stackEndpoints();
  console.log(`kafka   ${kafka ? 'up  ' : 'down'} ${endpoints.kafkaBrokers}`);
  console.log(`s3proxy ${s3 ? 'up  ' : 'down'} ${endpoints.s3Endpoint}`);
  return kafka && s3 ? 0 : 1;
}

function usageError(message: string): number {
  console.error(`${message}\n${USAGE}`);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  // A notice about future SDK releases, not about this stack; it would only clutter the CLI's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [command, ...args] = argv;
  switch (command) {
    case 'up':
      return up(args);
    case 'down':
      await stackDown();
      log('down: nothing left running');
      return 0;
    case 'status':
      return status();
    case 'env':
      printEnv(stackEndpoints());
      return 0;
    default:
      return usageError(command === undefined ? 'missing command' : `unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`stack: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
