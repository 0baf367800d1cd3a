import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ensureTestTls } from './tls';

const run = promisify(execFile);

describe(ensureTestTls.name, () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'test-tls-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should make a CA and a server certificate for localhost, 127.0.0.1 and ::1', async () => {
    const tls = await ensureTestTls(dir);
    const ca = new X509Certificate(tls.ca);
    const cert = new X509Certificate(tls.cert);

    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(await readdir(join(dir, 'localhost-v1'))).toEqual(['ca.pem', 'cert.pem', 'key.pem']);
  });

  it('should reuse the cached bundle', async () => {
    const first = await ensureTestTls(dir);

    const second = await ensureTestTls(dir);

    expect(second.cert.equals(first.cert)).toBe(true);
  });

  it('should replace a cached bundle that is no longer usable', async () => {
    const first = await ensureTestTls(dir);
    await writeFile(first.certFile, 'not a certificate');

    const second = await ensureTestTls(dir);

    expect(new X509Certificate(second.cert).checkHost('localhost')).toBe('localhost');
  });

  it('should give concurrent callers in several processes one and the same bundle', async () => {
    const script = `require(${JSON.stringify(join(__dirname, 'tls'))}).ensureTestTls(${JSON.stringify(dir)}).then((tls) => process.stdout.write(tls.cert.toString('base64')))`;
    const inChild = async (): Promise<string> =>
      (await run(process.execPath, [require.resolve('tsx/cli'), '-e', script], { timeout: 60_000 })).stdout;
    const inProcess = async (): Promise<string> => (await ensureTestTls(dir)).cert.toString('base64');

    const certs = await Promise.all([inChild(), inChild(), inProcess(), inProcess()]);
    const final = await inProcess();

    expect(certs).toEqual([final, final, final, final]);
    expect(await readdir(dir)).toEqual(['localhost-v1']);
  }, 60_000);
});
