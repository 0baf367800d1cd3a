import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

export interface TestTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export const defaultTlsDir = resolve(__dirname, '..', '..', '.cache', 'tls');

const run = promisify(execFile);

const bundleName = 'localhost-v1';

const minimumRemainingValidityMs = 7 * 24 * 3600 * 1000;

const lockWaitMs = 120_000;

const abandonedLockMs = 60_000;

// A config of our own, so the result does not depend on the distribution's openssl.cnf.
const opensslConfig = `
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext

[dn]
CN = connectly-report-ingest test CA

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/**
 * A test CA and a server certificate for localhost, 127.0.0.1 and ::1, made once with the openssl CLI and cached.
 * Concurrent callers, in this process or others, serialise on a lock directory and get one and the same bundle; the
 * bundle is built in a private directory and renamed into place whole, so no reader sees half of it.
 */
export async function ensureTestTls(dir: string = defaultTlsDir): Promise<TestTls> {
  const bundleDir = join(dir, bundleName);

  return (await loadValidBundle(bundleDir)) ?? (await withLock(join(dir, '.lock'), () => createBundle(dir, bundleDir)));
}

async function createBundle(dir: string, bundleDir: string): Promise<TestTls> {
  const madeWhileWaiting = await loadValidBundle(bundleDir);
  if (madeWhileWaiting) return madeWhileWaiting;

  const staging = join(dir, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await generateBundle(staging);
    await rm(bundleDir, { recursive: true, force: true });
    await rename(staging, bundleDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  const installed = await loadValidBundle(bundleDir);
  if (!installed) throw new Error(`the test TLS bundle in ${bundleDir} is unusable right after generation`);
  return installed;
}

async function withLock<T>(lockDir: string, work: () => Promise<T>): Promise<T> {
  await acquireLock(lockDir);
  try {
    return await work();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function acquireLock(lockDir: string): Promise<void> {
  await mkdir(dirname(lockDir), { recursive: true });
  const deadline = Date.now() + lockWaitMs;

  for (;;) {
    try {
      return await mkdir(lockDir).then(() => undefined);
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error;
    }

    if (await isAbandoned(lockDir)) await rm(lockDir, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lockDir}`);
    else await sleep(50);
  }
}

/** A lock older than any generation could take was left by a process that died holding it. */
async function isAbandoned(lockDir: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(lockDir)).mtimeMs > abandonedLockMs;
  } catch {
    return false;
  }
}

async function loadValidBundle(bundleDir: string): Promise<TestTls | undefined> {
  const files = bundleFiles(bundleDir);
  try {
    const [ca, cert, key] = await Promise.all([
      readFile(files.caFile),
      readFile(files.certFile),
      readFile(files.keyFile),
    ]);
    return isUsable(ca, cert, key) ? { ...files, ca, cert, key } : undefined;
  } catch {
    return undefined;
  }
}

function isUsable(ca: Buffer, cert: Buffer, key: Buffer): boolean {
  const caCert = new X509Certificate(ca);
  const serverCert = new X509Certificate(cert);
  const validUntil = new Date(serverCert.validTo).getTime();

  return (
    serverCert.verify(caCert.publicKey) &&
    serverCert.checkPrivateKey(createPrivateKey(key)) &&
    serverCert.checkHost('localhost') !== undefined &&
    serverCert.checkIP('127.0.0.1') !== undefined &&
    serverCert.checkIP('::1') !== undefined &&
    validUntil - Date.now() > minimumRemainingValidityMs
  );
}

function bundleFiles(bundleDir: string): Pick<TestTls, 'caFile' | 'certFile' | 'keyFile'> {
  return {
    caFile: join(bundleDir, 'ca.pem'),
    certFile: join(bundleDir, 'cert.pem'),
    keyFile: join(bundleDir, 'key.pem'),
  };
}

interface WorkFiles {
  readonly caKey: string;
  readonly csr: string;
  readonly config: string;
}

async function generateBundle(staging: string): Promise<void> {
  await mkdir(staging, { recursive: true });
  const files = bundleFiles(staging);
  const work = {
    caKey: join(staging, 'ca-key.pem'),
    csr: join(staging, 'server.csr'),
    config: join(staging, 'ssl.cnf'),
  };
  await writeFile(work.config, opensslConfig);

  await openssl(['req', '-x509'], { config: work.config, ...newEcKey(work.caKey), days: '3650', out: files.caFile });
  await openssl(['req', '-new'], {
    config: work.config,
    ...newEcKey(files.keyFile),
    subj: '/CN=localhost',
    out: work.csr,
  });
  await signServerCertificate(work, files);

  // Nothing else may ever sign with this CA, so its key is not kept.
  await Promise.all(Object.values(work).map((file) => rm(file)));
}

async function signServerCertificate(work: WorkFiles, files: Pick<TestTls, 'caFile' | 'certFile'>): Promise<void> {
  await openssl(['x509', '-req'], {
    in: work.csr,
    CA: files.caFile,
    CAkey: work.caKey,
    days: '825',
    set_serial: `0x${randomBytes(8).toString('hex')}`,
    extfile: work.config,
    extensions: 'server_ext',
    out: files.certFile,
  });
}

function newEcKey(keyFile: string): Record<string, string | true> {
  return { newkey: 'ec', pkeyopt: 'ec_paramgen_curve:prime256v1', nodes: true, keyout: keyFile };
}

async function openssl(command: string[], flags: Record<string, string | true>): Promise<void> {
  const args = [
    ...command,
    ...Object.entries(flags).flatMap(([flag, value]) => (value === true ? [`-${flag}`] : [`-${flag}`, value])),
  ];

  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (error) {
    throw new Error(`"openssl ${command.join(' ')}" failed; the openssl CLI makes the test certificates`, {
      cause: error,
    });
  }
}

function isCode(error: unknown, code: string): boolean {
  // Not `instanceof Error`: under Jest, errors from Node's fs come from another realm.
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}
