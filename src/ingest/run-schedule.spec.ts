import { InboxRecord } from './inbox-record';
import { scheduleByExpiry } from './run-schedule';

function record(reportId: string, runId: string, expiresAt: string, requestId = 'r'): InboxRecord {
  return {
    version: 1,
    eventId: `${reportId}:${runId}`,
    receivedAt: '2025-04-30T12:00:00Z',
    requestId,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    webhook: {
      topic: 'report',
      timestamp: '2025-04-30T12:00:00Z',
      report: {
        id: reportId,
        name: 'n',
        last_run: {
          id: runId,
          status: 'completed',
          result: { url: 'https://x/a', expires_at: expiresAt, created_at: '2025-04-30T11:00:00Z' },
        },
      },
    },
  };
}

describe('scheduleByExpiry', () => {
  it('should put the run whose link expires soonest first', () => {
    const late = record('a', '1', '2025-04-30T12:30:00Z');
    const soon = record('b', '1', '2025-04-30T12:05:00Z');
    const middle = record('c', '1', '2025-04-30T12:10:00Z');

    expect(scheduleByExpiry([late, soon, middle]).map((group) => group[0].eventId)).toEqual(['b:1', 'c:1', 'a:1']);
  });

  it('should keep deliveries of one run together, in arrival order', () => {
    const first = record('a', '1', '2025-04-30T12:30:00Z', 'first');
    const other = record('b', '1', '2025-04-30T12:20:00Z');
    const again = record('a', '1', '2025-04-30T12:10:00Z', 'again');

    const groups = scheduleByExpiry([first, other, again]);

    expect(groups.map((group) => group.map((item) => item.requestId))).toEqual([['first', 'again'], ['r']]);
  });

  it('should put runs with an unreadable expiry first, since they need a fresh link anyway', () => {
    const normal = record('a', '1', '2025-04-30T12:30:00Z');
    const broken = record('b', '1', 'not a date');

    expect(scheduleByExpiry([normal, broken])[0][0].eventId).toBe('b:1');
  });
});
