import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ConnectlyWebhookDto } from './connectly-webhook.dto';

interface Payload {
  topic?: unknown;
  timestamp?: unknown;
  report?: {
    id?: unknown;
    name?: unknown;
    type?: unknown;
    last_run?: {
      id?: unknown;
      status?: unknown;
      result?: { url?: unknown; expires_at?: unknown; created_at?: unknown };
    };
  };
}

type Run = NonNullable<NonNullable<Payload['report']>['last_run']>;

function documentedPayload(): Payload {
  return {
    topic: 'report',
    timestamp: '2025-04-30T12:34:56Z',
    report: {
      id: 'c80716a5-62c5-4ba5-b99d-5c2a6fd39317',
      name: 'Daily Campaign Report',
      type: 'campaign.daily.custom',
      last_run: {
        id: 'run-001',
        status: 'completed',
        result: {
          url: 'https://reports.connectly.ai/abcdef',
          expires_at: '2025-05-01T12:34:56Z',
          created_at: '2025-04-30T12:00:00Z',
        },
      },
    },
  };
}

function problems(payload: unknown): string[] {
  const errors = validateSync(plainToInstance(ConnectlyWebhookDto, payload) as object);
  const paths: string[] = [];
  const walk = (list: typeof errors, prefix: string): void => {
    for (const error of list) {
      const path = `${prefix}${error.property}`;
      if (error.constraints !== undefined) paths.push(path);
      walk(error.children ?? [], `${path}.`);
    }
  };
  walk(errors, '');
  return paths;
}

function withChange(change: (payload: Payload, run: Run, result: NonNullable<Run['result']>) => void): Payload {
  const payload = documentedPayload();
  const run = payload.report!.last_run!;
  change(payload, run, run.result!);
  return payload;
}

describe(ConnectlyWebhookDto.name, () => {
  it('should accept the documented payload', () => {
    expect(problems(documentedPayload())).toEqual([]);
  });

  it('should accept a payload without type, with fields in another order', () => {
    const report = documentedPayload().report!;
    const reordered = {
      report: { last_run: report.last_run, name: report.name, id: report.id },
      timestamp: '2025-04-30T12:34:56Z',
      topic: 'report',
    };

    expect(problems(reordered)).toEqual([]);
  });

  it.each([
    [
      'an http URL',
      (_p: Payload, _r: Run, result: NonNullable<Run['result']>) => (result.url = 'http://reports.connectly.ai/x'),
      'report.last_run.result.url',
    ],
    [
      'a URL that is not one',
      (_p: Payload, _r: Run, result: NonNullable<Run['result']>) => (result.url = 'not a url'),
      'report.last_run.result.url',
    ],
    [
      'a bad expires_at',
      (_p: Payload, _r: Run, result: NonNullable<Run['result']>) => (result.expires_at = 'tomorrow'),
      'report.last_run.result.expires_at',
    ],
    [
      'a bad created_at',
      (_p: Payload, _r: Run, result: NonNullable<Run['result']>) => (result.created_at = 12),
      'report.last_run.result.created_at',
    ],
    ['no result on a completed run', (_p: Payload, run: Run) => delete run.result, 'report.last_run.result'],
    ['an empty report id', (p: Payload) => (p.report!.id = ''), 'report.id'],
    ['a numeric run id', (_p: Payload, run: Run) => (run.id = 7), 'report.last_run.id'],
    ['no last_run', (p: Payload) => delete p.report!.last_run, 'report.last_run'],
    ['no report', (p: Payload) => delete p.report, 'report'],
    ['a bad timestamp', (p: Payload) => (p.timestamp = '30/04/2025'), 'timestamp'],
    ['an array as report', (p: Payload) => ((p as Record<string, unknown>).report = []), 'report'],
  ])('should name the field for %s', (_label, change, field) => {
    expect(problems(withChange(change))).toContain(field);
  });

  it('should accept a processing run without a result', () => {
    const payload = withChange((_p, run) => {
      run.status = 'processing';
      delete run.result;
    });

    expect(problems(payload)).toEqual([]);
  });

  it('should not look into report for another topic', () => {
    expect(problems({ topic: 'campaign', timestamp: '2025-04-30T12:34:56Z' })).toEqual([]);
  });
});
