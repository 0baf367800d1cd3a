/**
 * Embedded local stack without Docker: a single-node KRaft Kafka broker and S3Proxy on a filesystem
 * blobstore, both plain Java processes whose jars Maven fetches (pinned in ./pom.xml) into .cache/stack.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type RetryOptions } from 'kafkajs';

export interface StackEndpoints {
  kafkaBrokers: string;
  s3Endpoint: string;
  s3Region: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  bucket: string;
}

export interface StackUpOptions {
  log?: (line: string) => void;
  /** Kafka storage is formatted fresh on each cold start unless this is set (S3 data always persists). */
  keepKafkaData?: boolean;
}

export interface StartOptions {
  log?: (line: string) => void;
}

export interface StopOptions {
  /** SIGKILL straight away, to simulate a crash. */
  kill?: boolean;
}

export class StackError extends Error {
  override readonly name: string = 'StackError';
}

class TimeoutError extends StackError {
  override readonly name = 'TimeoutError';
}

export const DEFAULT_BUCKET = 'connectly-reports';
export const DEFAULT_TOPICS: readonly string[] = [
  'connectly.report-webhooks.v1',
  'connectly.report-ready.v1',
  'connectly.report-failed.v1',
];

type Component = 'kafka' | 's3proxy';
type Log = (line: string) => void;

const S3_REGION = 'us-east-1';
const S3_ACCESS_KEY_ID = 'local-access-key';
const S3_SECRET_ACCESS_KEY = 'local-secret-key-0123456789';
const KAFKA_NODE_ID = 1;
const READINESS_TOPIC = 'stack.readiness.v1';
const JAVA_MIN_MAJOR = 17;
const JVM_HEAP = ['-Xms64m', '-Xmx512m'];
const MAIN_CLASS: Record<Component, string> = { kafka: 'kafka.Kafka', s3proxy: 'org.gaul.s3proxy.Main' };
const STOP_GRACE_MS: Record<Component, number> = { kafka: 30_000, s3proxy: 10_000 };
const DOCKER_HINT = 'or use docker compose';

const POM_FILE = path.join(__dirname, 'pom.xml');
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const STACK_DIR = path.join(REPO_ROOT, '.cache', 'stack');
const DIRS = {
  m2: path.join(STACK_DIR, 'm2'),
  lib: path.join(STACK_DIR, 'lib'),
  run: path.join(STACK_DIR, 'run'),
  kafkaData: path.join(STACK_DIR, 'data', 'kafka'),
  s3Data: path.join(STACK_DIR, 'data', 's3'),
};
const JARS_MARKER = path.join(DIRS.lib, 'versions.txt');
const KAFKA_FINGERPRINT = path.join(STACK_DIR, 'data', 'kafka.fingerprint');
const STACK_ENV_FILE = path.join(STACK_DIR, 'stack.env');

const noop: Log = () => undefined;

// ---------------------------------------------------------------- public API

export async function stackUp(options: StackUpOptions = {}): Promise<StackEndpoints> {
  const log = options.log ?? noop;
  const endpoints = stackEndpoints();
  const java = requireJava();
  await ensureJars(log);
  const results = await Promise.allSettled([
    upKafka(java, log, { fresh: options.keepKafkaData !== true }),
    upS3(java, log),
  ]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw asError(failure.reason);
  await ensureBucket(endpoints, endpoints.bucket);
  await createTopics(endpoints.kafkaBrokers, [...DEFAULT_TOPICS]);
  writeStackEnv(endpoints);
  log(`ready: kafka ${endpoints.kafkaBrokers}, s3 ${endpoints.s3Endpoint} (env in ${STACK_ENV_FILE})`);
  return endpoints;
}

export async function stackDown(): Promise<void> {
  await Promise.all([stopComponent('kafka', {}), stopComponent('s3proxy', {})]);
}

export async function stackStatus(): Promise<{ kafka: boolean; s3: boolean }> {
  const endpoints = stackEndpoints();
  const [kafka, s3] = await Promise.all([
    runningPid('kafka') !== undefined && kafkaAnswers(endpoints.kafkaBrokers),
    runningPid('s3proxy') !== undefined && s3Answers(endpoints),
  ]);
  return { kafka, s3 };
}

/** Endpoints of the stack as configured by the environment; does not start anything. */
export function stackEndpoints(): StackEndpoints {
  const ports = stackPorts();
  return {
    kafkaBrokers: `127.0.0.1:${ports.kafka}`,
    s3Endpoint: `http://127.0.0.1:${ports.s3}`,
    s3Region: S3_REGION,
    s3AccessKeyId: S3_ACCESS_KEY_ID,
    s3SecretAccessKey: S3_SECRET_ACCESS_KEY,
    bucket: DEFAULT_BUCKET,
  };
}

/** The service's environment variables for these endpoints (also written to .cache/stack/stack.env). */
export function stackEnv(endpoints: StackEndpoints): Record<string, string> {
  return {
    KAFKA_BROKERS: endpoints.kafkaBrokers,
    S3_ENDPOINT: endpoints.s3Endpoint,
    S3_REGION: endpoints.s3Region,
    S3_BUCKET: endpoints.bucket,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: endpoints.s3AccessKeyId,
    AWS_SECRET_ACCESS_KEY: endpoints.s3SecretAccessKey,
  };
}

/** Creates the topics that do not exist yet and waits until every partition has a leader. */
export async function createTopics(brokers: string, topics: string[], partitions = 3): Promise<void> {
  await withAdmin(brokers, { retries: 5 }, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
        waitForLeaders: true,
      });
    }
    await waitForLeaders(admin, topics);
  });
}

export async function ensureBucket(endpoints: StackEndpoints, bucket: string): Promise<void> {
  const client = s3Client(endpoints, 3);
  try {
    if (await bucketExists(client, bucket)) return;
    await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
      if (!isS3Error(error, ['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'])) throw error;
    });
  } finally {
    client.destroy();
  }
}

export async function startKafka(options: StartOptions = {}): Promise<void> {
  await upKafka(requireJava(), options.log ?? noop, { fresh: false });
}

export async function stopKafka(options: StopOptions = {}): Promise<void> {
  await stopComponent('kafka', options);
}

export async function startS3(options: StartOptions = {}): Promise<void> {
  await upS3(requireJava(), options.log ?? noop);
}

export async function stopS3(options: StopOptions = {}): Promise<void> {
  await stopComponent('s3proxy', options);
}

/** Versions pinned in scripts/stack/pom.xml. */
export function pinnedVersions(): Record<'kafka' | 'log4j' | 's3proxy', string> {
  const pom = fs.readFileSync(POM_FILE, 'utf8');
  return {
    kafka: pomProperty(pom, 'kafka.version'),
    log4j: pomProperty(pom, 'log4j.version'),
    s3proxy: pomProperty(pom, 's3proxy.version'),
  };
}

// ---------------------------------------------------------------- configuration

function stackPorts(): { kafka: number; controller: number; s3: number } {
  return {
    kafka: envPort('STACK_KAFKA_PORT', 19092),
    controller: envPort('STACK_KAFKA_CONTROLLER_PORT', 19093),
    s3: envPort('STACK_S3_PORT', 19000),
  };
}

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StackError(`${name}=${raw} is not a TCP port`);
  return port;
}

function startTimeoutMs(): number {
  const raw = Number(process.env.STACK_START_TIMEOUT_MS ?? '');
  return Number.isFinite(raw) && raw > 0 ? raw : 120_000;
}

function pomProperty(pom: string, name: string): string {
  const match = new RegExp(`<${name.replace(/\./g, '\\.')}>([^<]+)</`).exec(pom);
  if (!match?.[1]) throw new StackError(`${POM_FILE} has no <${name}> property`);
  return match[1].trim();
}

function kafkaServerProperties(): string {
  const ports = stackPorts();
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': KAFKA_NODE_ID,
    'controller.quorum.voters': `${KAFKA_NODE_ID}@127.0.0.1:${ports.controller}`,
    listeners: `PLAINTEXT://127.0.0.1:${ports.kafka},CONTROLLER://127.0.0.1:${ports.controller}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${ports.kafka}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': DIRS.kafkaData,
    'num.partitions': 3,
    'default.replication.factor': 1,
    // One node: internal topics with the default replication factor 3 never get created, and group
    // coordination then fails forever with "group coordinator is not available".
    'offsets.topic.replication.factor': 1,
    // Fewer internal partitions than the default 50: coordinators load in a fraction of the time.
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.num.partitions': 5,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    // A restarted broker waits out its previous session before it may register again (default 9 s).
    'broker.session.timeout.ms': 4_000,
    'broker.heartbeat.interval.ms': 500,
    // Like managed clusters: callers create their topics.
    'auto.create.topics.enable': 'false',
  };
  return Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
}

const KAFKA_LOG4J2 = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="WARN"/>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="stdout"/></Root>
  </Loggers>
</Configuration>
`;

function s3ProxyProperties(): string {
  const settings: Record<string, string> = {
    's3proxy.endpoint': stackEndpoints().s3Endpoint,
    's3proxy.authorization': 'aws-v4',
    's3proxy.identity': S3_ACCESS_KEY_ID,
    's3proxy.credential': S3_SECRET_ACCESS_KEY,
    'jclouds.provider': 'filesystem',
    'jclouds.filesystem.basedir': DIRS.s3Data,
  };
  return Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
}

// Without a configuration logback logs everything at DEBUG.
const S3PROXY_LOGBACK = `<configuration>
  <appender name="stdout" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>[%d{ISO8601}] %level %msg \\(%logger\\)%n</pattern></encoder>
  </appender>
  <logger name="org.gaul.s3proxy" level="INFO"/>
  <root level="WARN"><appender-ref ref="stdout"/></root>
</configuration>
`;

function writeStackEnv(endpoints: StackEndpoints): void {
  const lines = Object.entries(stackEnv(endpoints)).map(([key, value]) => `${key}=${value}`);
  fs.writeFileSync(STACK_ENV_FILE, `${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------- tools and jars

function requireJava(): string {
  const javaHome = process.env.JAVA_HOME;
  const homeJava = javaHome ? path.join(javaHome, 'bin', 'java') : undefined;
  const java = homeJava !== undefined && fs.existsSync(homeJava) ? homeJava : 'java';
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (probe.error) throw new StackError(`java not found: install Java ${JAVA_MIN_MAJOR}+, ${DOCKER_HINT}`);
  const major = javaMajor(`${probe.stderr}${probe.stdout}`);
  if (major === undefined || major < JAVA_MIN_MAJOR) {
    throw new StackError(`${java} is Java ${major ?? '?'}: Kafka needs Java ${JAVA_MIN_MAJOR}+, ${DOCKER_HINT}`);
  }
  return java;
}

function javaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first;
}

function jarsMarker(): string {
  const pom = fs.readFileSync(POM_FILE);
  const versions = Object.entries(pinnedVersions()).map(([name, version]) => `${name}=${version}`);
  return [...versions, `pom-sha256=${createHash('sha256').update(pom).digest('hex')}`, ''].join('\n');
}

function jarsPresent(marker: string): boolean {
  const versions = pinnedVersions();
  return (
    readText(JARS_MARKER) === marker &&
    fs.existsSync(path.join(DIRS.lib, 'kafka', `kafka_2.13-${versions.kafka}.jar`)) &&
    fs.existsSync(path.join(DIRS.lib, 's3proxy', `s3proxy-${versions.s3proxy}.jar`))
  );
}

async function ensureJars(log: Log): Promise<void> {
  const marker = jarsMarker();
  if (jarsPresent(marker)) return;
  // Never swap jars under a running JVM.
  await stackDown();
  fs.mkdirSync(DIRS.run, { recursive: true });
  fs.rmSync(JARS_MARKER, { force: true });
  for (const component of ['kafka', 's3proxy'] as const) {
    log(`fetching ${component} jars with Maven (once; cached in ${DIRS.m2})`);
    fs.rmSync(path.join(DIRS.lib, component), { recursive: true, force: true });
    await runToCompletion('mvn', mavenArgs(component), path.join(DIRS.run, `mvn-${component}.log`), {
      missing: `mvn not found: install Maven 3.8+ (it fetches the stack's jars once), ${DOCKER_HINT}`,
    });
  }
  fs.writeFileSync(JARS_MARKER, marker);
}

function mavenArgs(component: Component): string[] {
  return [
    '-B',
    '-q',
    '-f',
    POM_FILE,
    `-Dmaven.repo.local=${DIRS.m2}`,
    `-Dstack.lib.root=${DIRS.lib}`,
    '-P',
    component,
    'dependency:copy-dependencies',
  ];
}

function runToCompletion(command: string, args: string[], logFile: string, hints: { missing: string }): Promise<void> {
  const out = fs.openSync(logFile, 'w');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', out, out], cwd: STACK_DIR });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(new StackError(error.code === 'ENOENT' ? hints.missing : `${command} failed to start: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve();
      reject(new StackError(`${command} ${args.at(-1) ?? ''} exited with ${code ?? signal}${logTail(logFile)}`));
    });
  }).finally(() => fs.closeSync(out));
}

// ---------------------------------------------------------------- processes

function pidFile(component: Component): string {
  return path.join(DIRS.run, `${component}.pid`);
}

function logFile(component: Component): string {
  return path.join(DIRS.run, `${component}.log`);
}

/** Marks our JVMs on their command line, so a recycled pid is never mistaken for ours. */
function processTag(component: Component): string {
  return `-Dconnectly.stack=${component}@${STACK_DIR}`;
}

function commandArgs(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    if (process.platform === 'linux') return undefined;
  }
  try {
    return execFileSync('ps', ['-ww', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/);
  } catch {
    return undefined;
  }
}

/** Also false for a zombie, whose command line is empty. */
function isOurs(pid: number, component: Component): boolean {
  return commandArgs(pid)?.includes(processTag(component)) ?? false;
}

/** The component's live JVMs: the one in its pid file and any whose pid file was lost. */
function ourPids(component: Component): number[] {
  const recorded = Number(readText(pidFile(component)));
  const pids = Number.isInteger(recorded) && recorded > 0 && isOurs(recorded, component) ? [recorded] : [];
  return [...new Set([...pids, ...strayPids(component)])];
}

function runningPid(component: Component): number | undefined {
  return ourPids(component)[0];
}

function strayPids(component: Component): number[] {
  let table: string;
  try {
    table = execFileSync('ps', ['-eww', '-o', 'pid=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const tag = processTag(component);
  return table
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.includes(tag))
    .map((fields) => Number.parseInt(fields[0] ?? '', 10))
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid && isOurs(pid, component));
}

function startJvm(java: string, component: Component, jvmArgs: string[], mainArgs: string[]): number {
  fs.mkdirSync(DIRS.run, { recursive: true });
  const log = logFile(component);
  if (fs.existsSync(log)) fs.renameSync(log, `${log}.previous`);
  const out = fs.openSync(log, 'w');
  try {
    const classpath = path.join(DIRS.lib, component, '*');
    const args = [processTag(component), ...JVM_HEAP, ...jvmArgs, '-cp', classpath, MAIN_CLASS[component], ...mainArgs];
    // Detached in its own process group: the JVM must outlive a CLI or jest global setup.
    const child = spawn(java, args, { detached: true, stdio: ['ignore', out, out], cwd: STACK_DIR });
    child.unref();
    if (child.pid === undefined) throw new StackError(`${component}: ${java} did not start`);
    fs.writeFileSync(pidFile(component), `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

async function stopComponent(component: Component, options: StopOptions): Promise<void> {
  await Promise.all(ourPids(component).map((pid) => stopPid(pid, component, options.kill === true)));
  fs.rmSync(pidFile(component), { force: true });
}

async function stopPid(pid: number, component: Component, kill: boolean): Promise<void> {
  if (!kill) {
    signal(pid, 'SIGTERM');
    if (await waitForExit(pid, component, STOP_GRACE_MS[component])) return;
  }
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, component, 10_000))) throw new StackError(`${component} (pid ${pid}) survived SIGKILL`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, name);
      return;
    } catch {
      // Not a group leader (or already gone): try the pid itself.
    }
  }
}

async function waitForExit(pid: number, component: Component, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isOurs(pid, component)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** A JVM that never became ready is of no use to anyone: never leave it behind. */
async function killOnFailure(component: Component, readiness: Promise<void>): Promise<void> {
  try {
    await readiness;
  } catch (error) {
    await stopComponent(component, { kill: true });
    throw error;
  }
}

async function assertPortFree(port: number, component: Component, envName: string): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  if (!free) {
    throw new StackError(
      `${component}: 127.0.0.1:${port} is taken by a process outside this stack; free it or set ${envName}`,
    );
  }
}

// ---------------------------------------------------------------- kafka lifecycle

async function upKafka(java: string, log: Log, storage: { fresh: boolean }): Promise<void> {
  const deadline = Date.now() + startTimeoutMs();
  const brokers = stackEndpoints().kafkaBrokers;
  const running = runningPid('kafka');
  if (running !== undefined) {
    log(`kafka: already running (pid ${running}), reusing it`);
    return killOnFailure('kafka', waitForKafka(running, brokers, deadline, log));
  }
  fs.rmSync(pidFile('kafka'), { force: true });
  const ports = stackPorts();
  await assertPortFree(ports.kafka, 'kafka', 'STACK_KAFKA_PORT');
  await assertPortFree(ports.controller, 'kafka', 'STACK_KAFKA_CONTROLLER_PORT');
  const configFile = writeKafkaConfig();
  await prepareKafkaStorage(java, configFile, storage.fresh, log);
  const started = Date.now();
  const pid = startJvm(java, 'kafka', kafkaJvmArgs(), [configFile]);
  log(`kafka: started pid ${pid}, log ${logFile('kafka')}`);
  await killOnFailure('kafka', waitForKafka(pid, brokers, deadline, log));
  log(`kafka: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function kafkaJvmArgs(): string[] {
  return [
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(DIRS.run, 'kafka-log4j2.xml')}`,
  ];
}

function writeKafkaConfig(): string {
  fs.mkdirSync(DIRS.run, { recursive: true });
  fs.writeFileSync(path.join(DIRS.run, 'kafka-log4j2.xml'), KAFKA_LOG4J2);
  const configFile = path.join(DIRS.run, 'kafka-server.properties');
  fs.writeFileSync(configFile, `${kafkaServerProperties()}\n`);
  return configFile;
}

/** Storage is reusable only if it was formatted for the same node and controller address. */
function kafkaFingerprint(): string {
  return `node.id=${KAFKA_NODE_ID} controller=127.0.0.1:${stackPorts().controller}\n`;
}

async function prepareKafkaStorage(java: string, configFile: string, fresh: boolean, log: Log): Promise<void> {
  const formatted = fs.existsSync(path.join(DIRS.kafkaData, 'meta.properties'));
  if (!fresh && formatted && readText(KAFKA_FINGERPRINT) === kafkaFingerprint()) return;
  log('kafka: formatting fresh KRaft storage');
  fs.rmSync(DIRS.kafkaData, { recursive: true, force: true });
  fs.rmSync(KAFKA_FINGERPRINT, { force: true });
  const args = [
    ...JVM_HEAP,
    `-Dlog4j2.configurationFile=${path.join(DIRS.run, 'kafka-log4j2.xml')}`,
    '-cp',
    path.join(DIRS.lib, 'kafka', '*'),
    'kafka.tools.StorageTool',
    'format',
    '--cluster-id',
    newClusterId(),
    '--config',
    configFile,
  ];
  await runToCompletion(java, args, path.join(DIRS.run, 'kafka-format.log'), { missing: 'java not found' });
  fs.writeFileSync(KAFKA_FINGERPRINT, kafkaFingerprint());
}

/** Kafka cluster ids are 16 random bytes in unpadded base64url; a leading '-' would read as a flag. */
function newClusterId(): string {
  const id = randomBytes(16).toString('base64url');
  return id.startsWith('-') ? newClusterId() : id;
}

async function waitForKafka(pid: number, brokers: string, deadline: number, log: Log): Promise<void> {
  let lastError: string | undefined;
  let coordinatorTroubleSince: number | undefined;
  let reported = false;
  while (Date.now() < deadline) {
    if (!isOurs(pid, 'kafka')) throw startupFailure('kafka', `exited during startup (${lastError ?? 'no answer'})`);
    try {
      await withAdmin(brokers, { retries: 0 }, (admin) => admin.describeCluster());
      await probeConsumerGroup(brokers, Math.min(30_000, deadline - Date.now()));
      return;
    } catch (error) {
      const message = errorChain(error);
      if (message.includes('coordinator')) coordinatorTroubleSince ??= Date.now();
      // Coordinators load for a few seconds on every start; only a lasting failure is worth a line.
      if (!reported && coordinatorTroubleSince !== undefined && Date.now() - coordinatorTroubleSince > 10_000) {
        log(`kafka: still waiting for the group coordinator (${message})`);
        reported = true;
      }
      // A probe cut short by the deadline says less than the failure before it.
      if (!(error instanceof TimeoutError) || lastError === undefined) lastError = message;
    }
    await sleep(500);
  }
  const hint =
    coordinatorTroubleSince !== undefined
      ? ' (group coordinator unavailable: is offsets.topic.replication.factor=1?)'
      : '';
  throw startupFailure('kafka', `not ready within ${startTimeoutMs() / 1000} s: ${lastError ?? 'no answer'}${hint}`);
}

// ---------------------------------------------------------------- kafka probes

function kafkaClient(brokers: string, retry: RetryOptions): Kafka {
  return new Kafka({
    clientId: 'connectly-stack',
    brokers: brokers.split(','),
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { initialRetryTime: 200, maxRetryTime: 2_000, ...retry },
    // Connection refused is the normal state while the broker boots: failures surface through our own errors.
    logLevel: logLevel.NOTHING,
  });
}

async function withAdmin<T>(brokers: string, retry: RetryOptions, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient(brokers, retry).admin();
  try {
    await admin.connect();
    return await use(admin);
  } finally {
    await quietly(admin.disconnect());
  }
}

async function kafkaAnswers(brokers: string): Promise<boolean> {
  try {
    await withAdmin(brokers, { retries: 0 }, (admin) => admin.describeCluster());
    return true;
  } catch {
    return false;
  }
}

async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
    if (metadata.every((topic) => topic.partitions.every((partition) => partition.leader >= 0))) return;
    if (Date.now() > deadline) throw new StackError(`topics without a leader after 30 s: ${topics.join(', ')}`);
    await sleep(200);
  }
}

/**
 * Proves what the service needs rather than that a port answers: an idempotent acks=-1 produce and a
 * consumer group that joins, receives and commits. A single-node broker whose internal topics cannot be
 * created passes describeCluster yet fails here.
 */
async function probeConsumerGroup(brokers: string, timeoutMs: number): Promise<void> {
  const nonce = randomBytes(8).toString('hex');
  await createTopics(brokers, [READINESS_TOPIC], 1);
  const kafka = kafkaClient(brokers, { retries: 3 });
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  const groupId = `stack-readiness-${nonce}`;
  const consumer = kafka.consumer({ groupId, retry: { retries: 3 }, sessionTimeout: 10_000 });
  try {
    await producer.connect();
    await producer.send({ topic: READINESS_TOPIC, acks: -1, messages: [{ value: nonce }] });
    await consumer.connect();
    await consumer.subscribe({ topic: READINESS_TOPIC, fromBeginning: true });
    await withTimeout(consumeOne(consumer, nonce), timeoutMs, 'consumer group join and commit');
  } finally {
    await Promise.all([boundedQuietly(consumer.disconnect()), boundedQuietly(producer.disconnect())]);
    await quietly(withAdmin(brokers, { retries: 0 }, (admin) => admin.deleteGroups([groupId])));
  }
}

function consumeOne(consumer: Consumer, nonce: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          if (message.value?.toString() !== nonce) return;
          await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
          resolve();
        },
      })
      .catch(reject);
  });
}

// ---------------------------------------------------------------- s3proxy lifecycle

async function upS3(java: string, log: Log): Promise<void> {
  const deadline = Date.now() + startTimeoutMs();
  const endpoints = stackEndpoints();
  const running = runningPid('s3proxy');
  if (running !== undefined) {
    log(`s3proxy: already running (pid ${running}), reusing it`);
    return killOnFailure('s3proxy', waitForS3(running, endpoints, deadline));
  }
  fs.rmSync(pidFile('s3proxy'), { force: true });
  await assertPortFree(stackPorts().s3, 's3proxy', 'STACK_S3_PORT');
  const propertiesFile = writeS3ProxyConfig();
  const started = Date.now();
  const pid = startJvm(java, 's3proxy', s3ProxyJvmArgs(), ['--properties', propertiesFile]);
  log(`s3proxy: started pid ${pid}, log ${logFile('s3proxy')}`);
  await killOnFailure('s3proxy', waitForS3(pid, endpoints, deadline));
  log(`s3proxy: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function s3ProxyJvmArgs(): string[] {
  return [
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlogback.configurationFile=${path.join(DIRS.run, 's3proxy-logback.xml')}`,
  ];
}

function writeS3ProxyConfig(): string {
  fs.mkdirSync(DIRS.run, { recursive: true });
  fs.mkdirSync(DIRS.s3Data, { recursive: true });
  fs.writeFileSync(path.join(DIRS.run, 's3proxy-logback.xml'), S3PROXY_LOGBACK);
  const propertiesFile = path.join(DIRS.run, 's3proxy.properties');
  fs.writeFileSync(propertiesFile, `${s3ProxyProperties()}\n`);
  return propertiesFile;
}

async function waitForS3(pid: number, endpoints: StackEndpoints, deadline: number): Promise<void> {
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isOurs(pid, 's3proxy')) throw startupFailure('s3proxy', `exited during startup (${lastError})`);
    const client = s3Client(endpoints, 1);
    try {
      await client.send(new ListBucketsCommand({}));
      return;
    } catch (error) {
      lastError = errorChain(error);
    } finally {
      client.destroy();
    }
    await sleep(300);
  }
  throw startupFailure('s3proxy', `not ready within ${startTimeoutMs() / 1000} s: ${lastError}`);
}

// ---------------------------------------------------------------- s3 client

function s3Client(endpoints: StackEndpoints, maxAttempts: number): S3Client {
  return new S3Client({
    endpoint: endpoints.s3Endpoint,
    region: endpoints.s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId: endpoints.s3AccessKeyId, secretAccessKey: endpoints.s3SecretAccessKey },
    // S3-compatible servers do not all implement the SDK's default CRC trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
  });
}

async function s3Answers(endpoints: StackEndpoints): Promise<boolean> {
  const client = s3Client(endpoints, 1);
  try {
    await client.send(new ListBucketsCommand({}));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

async function bucketExists(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if (isS3Error(error, ['NotFound', 'NoSuchBucket'])) return false;
    throw error;
  }
}

function isS3Error(error: unknown, names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

// ---------------------------------------------------------------- small helpers

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function logTail(file: string, lines = 30): string {
  const text = readText(file);
  if (!text) return '';
  const tail = text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line))
    .join('\n');
  return `\n--- last lines of ${file} ---\n${tail}`;
}

function startupFailure(component: Component, what: string): StackError {
  return new StackError(`${component} ${what}${logTail(logFile(component))}`);
}

/** kafkajs wraps the broker's error (e.g. "group coordinator is not available") as the cause. */
function errorChain(value: unknown): string {
  const messages: string[] = [];
  for (let current: unknown = value; current !== undefined && messages.length < 4;) {
    const error = asError(current);
    if (!messages.includes(error.message)) messages.push(error.message);
    current = error.cause;
  }
  return messages.join(': ');
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

async function quietly(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch {
    // Best-effort cleanup.
  }
}

/** kafkajs disconnect can hang on a half-joined consumer; never let cleanup block startup. */
function boundedQuietly(promise: Promise<unknown>): Promise<void> {
  return quietly(withTimeout(promise, 5_000, 'disconnect'));
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
