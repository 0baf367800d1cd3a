import { isBlockedAddress } from '../../src/connectly/address-policy';
import { ReportDownloadClient } from '../../src/connectly/report-download.client';
import { loadConfig } from '../../src/config/app-config';
import { DependencyLog } from '../../src/common/dependency-log';
import { IngestError } from '../../src/common/ingest-errors';

const required = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  S3_BUCKET: 'connectly-reports',
  CONNECTLY_BUSINESS_ID: 'biz_1',
  CONNECTLY_API_KEY: 'key-0123456789',
  WEBHOOK_ALLOW_UNAUTHENTICATED: 'true',
};

function clientFor(env: Record<string, string>): ReportDownloadClient {
  return new ReportDownloadClient(loadConfig({ ...required, ...env }), new DependencyLog());
}

/**
 * The link check alone, without the request after it: these addresses are never to be connected to, so the test
 * calls the private, synchronous check rather than `open()`. If it is renamed, this test is to follow it.
 */
function checkUrl(client: ReportDownloadClient, url: string): unknown {
  try {
    return (client as unknown as { checkUrl(raw: string): URL }).checkUrl(url);
  } catch (error) {
    return error;
  }
}

describe(ReportDownloadClient.name, () => {
  describe('checkUrl, with literal addresses named in DOWNLOAD_ALLOWED_HOSTS and private addresses refused', () => {
    let client: ReportDownloadClient;

    beforeAll(() => {
      client = clientFor({
        DOWNLOAD_ALLOWED_HOSTS: '10.0.0.5,169.254.169.254,127.0.0.1,0.0.0.0,100.64.0.1,192.168.1.1',
        DOWNLOAD_ALLOW_PRIVATE_ADDRESSES: 'false',
      });
    });

    afterAll(() => client.onApplicationShutdown());

    it.each([
      ['the metadata address', 'https://169.254.169.254/latest/meta-data/'],
      ['a private address', 'https://10.0.0.5/x.csv'],
      ['loopback', 'https://127.0.0.1/x.csv'],
      ['loopback in decimal', 'https://2130706433/x.csv'],
      ['loopback in octal', 'https://0177.0.0.1/x.csv'],
      ['loopback in hex', 'https://0x7f.0.0.1/x.csv'],
      ['loopback shortened', 'https://127.1/x.csv'],
      ['the unspecified address', 'https://0.0.0.0/x.csv'],
      ['carrier-grade NAT', 'https://100.64.0.1/x.csv'],
      ['a home network', 'https://192.168.1.1/x.csv'],
    ])('should refuse %s before any connection', (_label, url) => {
      const refusal = checkUrl(client, url);

      expect(refusal).toBeInstanceOf(IngestError);
      expect(refusal).toMatchObject({ reason: 'url-not-allowed', retriable: false });
      expect((refusal as Error).message).toMatch(/private/);
    });
  });

  describe('checkUrl, with DOWNLOAD_ALLOWED_HOSTS naming a port', () => {
    it('should match links on that port only, since loadConfig accepts host:port entries', async () => {
      const client = clientFor({ DOWNLOAD_ALLOWED_HOSTS: 'localhost:8443' });

      expect(checkUrl(client, 'https://localhost:8443/x.csv')).toBeInstanceOf(URL);
      expect(checkUrl(client, 'https://localhost:22/x.csv')).toBeInstanceOf(IngestError);
      await client.onApplicationShutdown();
    });
  });

  describe('checkUrl, with a link the URL parser cannot read', () => {
    it('should refuse it as url-not-allowed rather than fail with a retriable error', async () => {
      const client = clientFor({ DOWNLOAD_ALLOWED_HOSTS: 'localhost' });
      const refusal = checkUrl(client, 'https://[fe80::1%25eth0]/x.csv');

      expect(refusal).toBeInstanceOf(IngestError);
      expect(refusal).toMatchObject({ reason: 'url-not-allowed', retriable: false });
      await client.onApplicationShutdown();
    });
  });
});

describe('isBlockedAddress', () => {
  it.each([
    ['loopback, IPv4-mapped, uncompressed', '0:0:0:0:0:ffff:7f00:1'],
    ['loopback, IPv4-mapped, uncompressed dotted', '0:0:0:0:0:ffff:127.0.0.1'],
    ['metadata, IPv4-mapped, zero-padded', '0000:0000:0000:0000:0000:ffff:a9fe:a9fe'],
    ['loopback, IPv4-compatible (deprecated ::/96)', '::127.0.0.1'],
    ['loopback through 6to4 (2002::/16)', '2002:7f00:1::1'],
    ['metadata through 6to4 (2002::/16)', '2002:a9fe:a9fe::1'],
  ])('should block %s', (_label, address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });
});
