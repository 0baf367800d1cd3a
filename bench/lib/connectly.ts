import { ConnectlySimulator } from '../../test/simulator/connectly-simulator';
import type { RunBody } from '../../test/simulator/report-catalog';
import { BENCH_API_KEY, BENCH_BUSINESS_ID } from './service';

export const REPORT_TYPE = 'campaign.daily.custom';

/** The simulated Connectly over HTTPS on loopback, with signed links that really expire. */
export async function startConnectly(): Promise<ConnectlySimulator> {
  const connectly = new ConnectlySimulator({ businessId: BENCH_BUSINESS_ID, apiKey: BENCH_API_KEY });
  await connectly.start();
  return connectly;
}

/** Adds a completed run and returns its webhook body, with a freshly signed link (default lifetime, 5 minutes). */
export function completedRun(connectly: ConnectlySimulator, reportId: string, runId: string, body: RunBody): string {
  connectly.addRun({ reportId, reportName: 'Benchmark Campaign Report', reportType: REPORT_TYPE, runId, body });
  return JSON.stringify(connectly.webhookPayload(reportId, runId));
}
