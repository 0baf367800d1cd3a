import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { writeCampaignCsv } from '../fixtures/campaign-csv';
import { ConnectlySimulator } from './connectly-simulator';

const usage = [
  'usage: tsx test/simulator/cli.ts serve --business-id ID --api-key KEY',
  '  [--port 8443] [--host 127.0.0.1] [--public-host localhost] [--rows 10000] [--seed 1]',
  '  [--report-id rep_A] [--run-id run_1] [--report-type campaign.daily.custom] [--url-ttl-seconds 300]',
  '  [--webhook-target http://127.0.0.1:3000/webhooks/connectly] [--data-dir .cache/simulator] [--tls-dir DIR]',
].join('\n');

const cliOptions = {
  port: { type: 'string', default: '8443' },
  host: { type: 'string', default: '127.0.0.1' },
  'public-host': { type: 'string', default: 'localhost' },
  'business-id': { type: 'string' },
  'api-key': { type: 'string' },
  rows: { type: 'string', default: '10000' },
  seed: { type: 'string', default: '1' },
  'report-id': { type: 'string', default: 'rep_A' },
  'run-id': { type: 'string', default: 'run_1' },
  'report-type': { type: 'string', default: 'campaign.daily.custom' },
  'url-ttl-seconds': { type: 'string', default: '300' },
  'webhook-target': { type: 'string' },
  'data-dir': { type: 'string', default: resolve(__dirname, '..', '..', '.cache', 'simulator') },
  'tls-dir': { type: 'string' },
} as const;

type CliValues = ReturnType<typeof parseArgs<{ options: typeof cliOptions; allowPositionals: true }>>['values'];

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: cliOptions, allowPositionals: true });
  if (positionals[0] !== 'serve' || !values['business-id'] || !values['api-key']) throw new Error(usage);

  const ttlMs = count(values['url-ttl-seconds'], 'url-ttl-seconds') * 1000;
  const simulator = new ConnectlySimulator({
    businessId: values['business-id'],
    apiKey: values['api-key'],
    port: count(values.port, 'port'),
    host: values.host,
    publicHost: values['public-host'],
    apiUrlTtlMs: ttlMs,
    tlsDir: values['tls-dir'],
  });
  await simulator.start();
  stopOnSignals(simulator);
  print({ event: 'listening', baseUrl: simulator.baseUrl, caFile: simulator.caFile });

  await addGeneratedRun(simulator, values);
  await announceRun(simulator, values, ttlMs);
}

async function addGeneratedRun(simulator: ConnectlySimulator, values: CliValues): Promise<void> {
  const file = join(values['data-dir'], `${values['report-id']}-${values['run-id']}.csv`);
  await mkdir(values['data-dir'], { recursive: true });
  const written = await writeCampaignCsv(file, { rows: count(values.rows, 'rows'), seed: count(values.seed, 'seed') });

  simulator.addRun({
    reportId: values['report-id'],
    reportName: 'Daily Campaign Report',
    reportType: values['report-type'],
    runId: values['run-id'],
    body: { file },
  });
  print({ event: 'run-added', reportId: values['report-id'], runId: values['run-id'], file, ...written });
}

async function announceRun(simulator: ConnectlySimulator, values: CliValues, ttlMs: number): Promise<void> {
  const payload = simulator.webhookPayload(values['report-id'], values['run-id'], { ttlMs });
  print({ event: 'webhook-payload', payload });

  const target = values['webhook-target'];
  if (!target) return;
  try {
    const response = await simulator.sendWebhook(target, payload);
    print({ event: 'webhook-sent', target, status: response.status, body: response.body });
  } catch (error) {
    // The service may not be up yet; the simulator stays up so the run can still be fetched or re-announced.
    print({ event: 'webhook-failed', target, error: error instanceof Error ? error.message : String(error) });
  }
}

function stopOnSignals(simulator: ConnectlySimulator): void {
  const stop = (signal: NodeJS.Signals): void => {
    print({ event: 'stopping', signal });
    simulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };

  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function count(value: string, name: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`--${name} must be a whole number, got "${value}"`);
  return parsed;
}

function print(line: object): void {
  console.log(JSON.stringify(line));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
