/** The documented webhook payload, for tests that do not need a downloadable link. */
export function documentedWebhook(reportId = 'rep_A', runId = 'run_1', url = 'https://localhost:1/never-fetched.csv') {
  return {
    topic: 'report',
    timestamp: '2025-04-30T12:34:56Z',
    report: {
      id: reportId,
      name: 'Daily Campaign Report',
      type: 'campaign.daily.custom',
      last_run: {
        id: runId,
        status: 'completed',
        result: {
          url,
          expires_at: new Date(Date.now() + 5 * 60_000).toISOString(),
          created_at: '2025-04-30T12:00:00Z',
        },
      },
    },
  };
}
