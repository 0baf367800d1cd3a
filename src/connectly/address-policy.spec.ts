import { isAllowedHost, isBlockedAddress } from './address-policy';

describe('isBlockedAddress', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.5',
    '172.16.3.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    'not-an-ip',
  ])('should block %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('should allow %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });
});

describe('isAllowedHost', () => {
  const patterns = ['reports.connectly.ai', '*.cdn.connectly.ai'];

  it.each(['reports.connectly.ai', 'REPORTS.connectly.ai', 'reports.connectly.ai.', 'eu.cdn.connectly.ai'])(
    'should allow %s',
    (host) => {
      expect(isAllowedHost(host, '443', patterns)).toBe(true);
    },
  );

  it.each([
    'connectly.ai',
    'evilreports.connectly.ai',
    'reports.connectly.ai.evil.test',
    'cdn.connectly.ai',
    'xcdn.connectly.ai',
  ])('should refuse %s', (host) => {
    expect(isAllowedHost(host, '443', patterns)).toBe(false);
  });
});

describe('isAllowedHost ports', () => {
  it('should allow only 443 for a pattern without a port, and only the named port otherwise', () => {
    expect(isAllowedHost('reports.connectly.ai', '8443', ['reports.connectly.ai'])).toBe(false);
    expect(isAllowedHost('localhost', '8443', ['localhost:8443'])).toBe(true);
    expect(isAllowedHost('localhost', '22', ['localhost:8443'])).toBe(false);
  });
});
