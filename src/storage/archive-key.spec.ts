import { archiveKey, keyPart } from './archive-key';

const base = {
  reportType: 'campaign.daily.custom',
  reportId: 'rep_A',
  runId: 'run_1',
  runCreatedAt: '2025-04-30T23:59:59Z',
};

describe('archiveKey', () => {
  it('should lay out the documented key', () => {
    expect(archiveKey('connectly/reports', base)).toBe(
      'connectly/reports/type=campaign.daily.custom/report=rep_A/dt=2025-04-30/run=run_1.csv',
    );
  });

  it('should date the key in UTC, whatever the offset of created_at', () => {
    expect(archiveKey('p', { ...base, runCreatedAt: '2025-05-01T01:30:00+03:00' })).toContain('/dt=2025-04-30/');
  });

  it('should use type=unknown when the webhook carried no type', () => {
    expect(archiveKey('p', { ...base, reportType: undefined })).toMatch(/^p\/type=unknown\//);
  });

  it.each([
    ['a slash', '../../etc/passwd'],
    ['dots only', '..'],
    ['spaces', 'weekly report 1'],
    ['unicode', 'rapport-é-日本'],
    ['an equals sign', 'x/dt=2020-01-01'],
    ['a percent sign', '100%'],
    ['a backslash and NUL', 'a\\b\u0000c'],
  ])('should keep an id with %s inside its own segment', (_label, reportId) => {
    const key = archiveKey('connectly/reports', { ...base, reportId, runId: reportId });
    const segments = key.split('/');

    expect(segments).toHaveLength(6);
    expect(segments.slice(0, 2)).toEqual(['connectly', 'reports']);
    expect(segments[3]).toMatch(/^report=[A-Za-z0-9._%~-]+$/);
    expect(segments[5]).toMatch(/^run=[A-Za-z0-9._%~-]+\.csv$/);
    expect(segments).not.toContain('..');
  });

  it('should throw on a created_at that is not a date', () => {
    expect(() => archiveKey('p', { ...base, runCreatedAt: 'yesterday' })).toThrow(RangeError);
  });
});

describe('keyPart', () => {
  it('should leave safe ids untouched', () => {
    expect(keyPart('c80716a5-62c5-4ba5-b99d-5c2a6fd39317')).toBe('c80716a5-62c5-4ba5-b99d-5c2a6fd39317');
  });

  it('should percent-encode the UTF-8 bytes of everything else', () => {
    expect(keyPart('a/b é')).toBe('a%2Fb%20%C3%A9');
  });

  it('should keep two distinct ids distinct', () => {
    expect(keyPart('a/b')).not.toBe(keyPart('a_b'));
    expect(keyPart('a%2Fb')).not.toBe(keyPart('a/b'));
  });

  it('should bound long ids and keep them unique with a hash', () => {
    const long = 'é'.repeat(200);
    const part = keyPart(long);

    expect(part.length).toBeLessThanOrEqual(180);
    expect(part).toMatch(/~[0-9a-f]{16}$/);
    expect(part).not.toBe(keyPart(`${long}x`));
    expect(part).not.toMatch(/%[0-9A-F]?~/);
  });
});
