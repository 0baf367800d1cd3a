// Fails on high or critical advisories in production dependencies. When the registry's advisory endpoint
// cannot be reached from this machine, it says so plainly instead of passing silently or failing the build.
import { spawnSync } from 'node:child_process';

interface AuditReport {
  metadata?: { vulnerabilities?: Record<string, number> };
  statusCode?: number;
}

function main(): number {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
  let report: AuditReport;
  try {
    report = JSON.parse(run.stdout) as AuditReport;
  } catch {
    console.error(`audit: npm audit printed no JSON (exit ${run.status})`);
    return 1;
  }

  const counts = report.metadata?.vulnerabilities;
  if (counts === undefined) {
    console.warn(`audit: NOT CHECKED - the advisory endpoint answered HTTP ${report.statusCode ?? 'unknown'}`);
    return 0;
  }

  console.log(`audit: production dependencies: ${JSON.stringify(counts)}`);
  return (counts.high ?? 0) + (counts.critical ?? 0) > 0 ? 1 : 0;
}

process.exitCode = main();
