import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { isMap, parse, parseAllDocuments, parseDocument, stringify, type Node as YamlNode } from 'yaml';

import { loadConfig } from '../../src/config/app-config';
import { EnvironmentVariables } from '../../src/config/environment';

/**
 * Renders the chart with the pinned helm (scripts/helm/install-helm.sh builds it into .cache/bin) and asserts on
 * the manifests, the way a reviewer would read them.
 */

const repoRoot = join(__dirname, '..', '..');
const chartDir = join(repoRoot, 'helm', 'connectly-report-ingest');
const helmBin = join(repoRoot, '.cache', 'bin', 'helm');
const release = 'rel';
const namespace = 'reports';

type Labels = Record<string, string>;

interface LabelSelector {
  matchLabels?: Labels;
}

interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

interface Probe {
  httpGet: { path: string; port: string };
}

interface Container {
  name: string;
  image: string;
  ports?: Array<{ name: string; containerPort: number }>;
  env?: EnvEntry[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  securityContext: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  command?: string[];
}

interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes?: Array<{ name: string; emptyDir?: object }>;
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Record<string, string> };
  data?: Record<string, string>;
  automountServiceAccountToken?: boolean;
  spec?: {
    replicas?: number;
    // A workload selector has matchLabels; a Service selector is the label map itself.
    selector?: LabelSelector & Labels;
    podSelector?: LabelSelector;
    template?: { metadata: { labels: Labels; annotations?: Record<string, string> }; spec: PodSpec };
    rules?: Array<{ host: string; http: { paths: Array<{ path: string; backend: object }> } }>;
    tls?: object[];
    endpoints?: Array<{ port: string; path: string }>;
    ingress?: Array<{ ports: Array<{ port: string | number }>; from?: object[] }>;
    egress?: Array<{ ports: Array<{ port: number; protocol: string }>; to?: object[] }>;
    policyTypes?: string[];
  } & Partial<PodSpec>;
}

type Values = Record<string, unknown>;

interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runHelm(args: string[], values: Values): HelmResult {
  if (!existsSync(helmBin)) {
    throw new Error(`helm is missing at ${helmBin}: run scripts/helm/install-helm.sh, which builds the pinned helm`);
  }

  const result = spawnSync(helmBin, [...args, '--values', '-'], {
    input: stringify(values),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * NOTES.txt as `helm install` would print it. `helm template` never renders the notes and `helm install` needs a
 * cluster even for a dry run, so a copy of the chart wraps them in a helper and prints that in a ConfigMap.
 */
function renderNotes(values: Values, scenario = 'default'): string {
  const copy = mkdtempSync(join(tmpdir(), 'chart-notes-'));
  try {
    cpSync(chartDir, copy, { recursive: true });
    const notes = readFileSync(join(copy, 'templates', 'NOTES.txt'), 'utf8');
    writeFileSync(join(copy, 'templates', '_notes-probe.tpl'), `{{- define "notes-probe" -}}\n${notes}\n{{- end }}\n`);
    writeFileSync(
      join(copy, 'templates', 'notes-probe.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-probe\ndata:\n  notes: {{ include "notes-probe" . | quote }}\n',
    );

    const args = ['template', release, copy, '--namespace', namespace, '--show-only', 'templates/notes-probe.yaml'];
    const result = runHelm([...args, '--values', join(copy, 'ci', `${scenario}-values.yaml`)], values);
    if (result.status !== 0) throw new Error(`the notes did not render:\n${result.stderr}`);
    return (parse(result.stdout) as Manifest).data?.notes ?? '';
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** `scenario` null renders the chart's own defaults alone. */
function templateArgs(scenario: string | null, releaseName = release): string[] {
  const scenarioFile = scenario === null ? [] : ['--values', join(chartDir, 'ci', `${scenario}-values.yaml`)];
  return ['template', releaseName, chartDir, '--namespace', namespace, ...scenarioFile];
}

/** The chart rendered from a ci/ scenario (default: ci/default-values.yaml) with `values` layered on top. */
function render(values: Values = {}, scenario: string | null = 'default', releaseName = release): Manifest[] {
  const result = runHelm(templateArgs(scenario, releaseName), values);
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);

  return parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

/** The error helm prints when the chart refuses to render. */
function renderError(values: Values, scenario: string | null = 'default'): string {
  const result = runHelm(templateArgs(scenario), values);
  if (result.status === 0) throw new Error('helm template succeeded, but it was expected to refuse these values');
  return result.stderr;
}

function only(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

function kinds(manifests: Manifest[]): string[] {
  return manifests.map((manifest) => manifest.kind).sort();
}

function podTemplate(manifests: Manifest[]): { labels: Labels; annotations: Record<string, string>; spec: PodSpec } {
  const template = only(manifests, 'Deployment').spec?.template;
  if (!template) throw new Error('the Deployment has no pod template');
  return { labels: template.metadata.labels, annotations: template.metadata.annotations ?? {}, spec: template.spec };
}

function serviceContainer(manifests: Manifest[]): Container {
  return podTemplate(manifests).spec.containers[0];
}

/** What the service process would see: envFrom sources in order, then env entries, which win. */
function effectiveEnv(manifests: Manifest[]): Record<string, string> {
  const container = serviceContainer(manifests);
  const env: Record<string, string> = {};

  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const object = manifests.find(
      (manifest) =>
        manifest.kind === (source.configMapRef ? 'ConfigMap' : 'Secret') && manifest.metadata.name === ref?.name,
    );
    for (const [key, value] of Object.entries(object?.data ?? {})) {
      env[key] = source.secretRef ? Buffer.from(value, 'base64').toString('utf8') : value;
    }
  }
  for (const entry of container.env ?? []) {
    env[entry.name] = entry.value ?? `<from ${entry.valueFrom?.fieldRef?.fieldPath ?? 'a reference'}>`;
  }
  return env;
}

/** `{ a: { b: value } }` from `'a.b'`, for tables of value paths. */
function valuesAt(path: string, value: unknown): Values {
  return path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Values;
}

const selectorLabels = { 'app.kubernetes.io/name': 'connectly-report-ingest', 'app.kubernetes.io/instance': release };

const scenarios = readdirSync(join(chartDir, 'ci'))
  .filter((file) => file.endsWith('-values.yaml'))
  .map((file) => file.replace(/-values\.yaml$/, ''))
  .sort();

const optionalKinds = ['HorizontalPodAutoscaler', 'Ingress', 'ServiceMonitor'];

describe('helm chart connectly-report-ingest', () => {
  describe('ci scenarios', () => {
    it('should include at least the default, all-on, existing-secret, intake and worker scenarios', () => {
      expect(scenarios).toEqual(expect.arrayContaining(['default', 'all-on', 'existing-secret', 'intake', 'worker']));
    });

    it.each(scenarios)('should render the %s scenario with one Deployment, Service and ConfigMap', (scenario) => {
      const manifests = render({}, scenario);

      expect(kinds(manifests)).toEqual(expect.arrayContaining(['ConfigMap', 'Deployment', 'Service']));
      for (const manifest of manifests) expect(manifest.metadata.namespace).toBe(namespace);
    });

    it('should leave the optional parts out by default and keep the protective ones in', () => {
      const found = kinds(render());

      for (const kind of optionalKinds) expect(found).not.toContain(kind);
      expect(found).toEqual(
        expect.arrayContaining(['NetworkPolicy', 'PodDisruptionBudget', 'ServiceAccount', 'Secret']),
      );
    });

    it('should render every optional part in the all-on scenario', () => {
      expect(kinds(render({}, 'all-on'))).toEqual(expect.arrayContaining(optionalKinds));
    });

    it('should make no Secret and no ServiceAccount in the existing-secret scenario, and read the named Secret', () => {
      const manifests = render({}, 'existing-secret');

      expect(kinds(manifests)).not.toContain('Secret');
      expect(kinds(manifests)).not.toContain('ServiceAccount');
      expect(serviceContainer(manifests).envFrom).toContainEqual({
        secretRef: { name: 'connectly-report-ingest-credentials' },
      });
      expect(podTemplate(manifests).spec.serviceAccountName).toBe('connectly-report-ingest-irsa');
      expect(podTemplate(manifests).annotations).not.toHaveProperty('checksum/secret');
    });
  });

  describe('probes', () => {
    it('should probe start-up and liveness on /health/live and readiness on /health/ready, on the http port', () => {
      const container = serviceContainer(render());

      expect(container.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    });

    it('should put the named http port on config.port, the port the service listens on', () => {
      const manifests = render({ config: { port: 8080 } });

      expect(serviceContainer(manifests).ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      expect(effectiveEnv(manifests).PORT).toBe('8080');
    });
  });

  describe('security', () => {
    it('should run the pod as a numeric non-root user under the RuntimeDefault seccomp profile', () => {
      const pod = podTemplate(render()).spec;

      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      });
    });

    it('should give the container a read-only root, no privilege escalation and no capabilities', () => {
      const container = serviceContainer(render());

      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(typeof container.securityContext.runAsUser).toBe('number');
    });

    it('should mount an emptyDir at /tmp, the only writable place', () => {
      const manifests = render();

      expect(serviceContainer(manifests).volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(podTemplate(manifests).spec.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
    });

    it('should mount no service-account token, on the pod or the ServiceAccount', () => {
      const manifests = render();

      expect(podTemplate(manifests).spec.automountServiceAccountToken).toBe(false);
      expect(only(manifests, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    });

    it('should carry the ServiceAccount annotations that give the pods a cloud identity', () => {
      const annotations = { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::000000000000:role/ingest' };

      expect(only(render({ serviceAccount: { annotations } }), 'ServiceAccount').metadata.annotations).toEqual(
        annotations,
      );
    });
  });

  describe('environment', () => {
    it.each([
      ['config.kafka.clientId', 'billing-ingest', 'KAFKA_CLIENT_ID', 'billing-ingest'],
      ['config.kafka.brokers', ['a:9092', 'b:9093'], 'KAFKA_BROKERS', 'a:9092,b:9093'],
      ['config.kafka.sasl', { mechanism: 'plain', username: 'svc' }, 'KAFKA_SASL_USERNAME', 'svc'],
      ['config.topics.reportReady', 'reports.ready.v2', 'TOPIC_REPORT_READY', 'reports.ready.v2'],
      ['config.s3.bucket', 'other-bucket', 'S3_BUCKET', 'other-bucket'],
      ['config.s3.endpoint', 'http://minio.storage:9000', 'S3_ENDPOINT', 'http://minio.storage:9000'],
      ['config.s3.forcePathStyle', false, 'S3_FORCE_PATH_STYLE', 'false'],
      ['config.s3.checksums', 'when_supported', 'S3_CHECKSUMS', 'when_supported'],
      ['config.s3.partSizeMb', 64, 'S3_PART_SIZE_MB', '64'],
      ['config.connectly.apiBaseUrl', 'https://api.example.test', 'CONNECTLY_API_BASE_URL', 'https://api.example.test'],
      [
        'config.download.allowedHosts',
        ['a.example.test', '*.b.example.test'],
        'DOWNLOAD_ALLOWED_HOSTS',
        'a.example.test,*.b.example.test',
      ],
      ['config.download.maxBytes', 5368709120, 'DOWNLOAD_MAX_BYTES', '5368709120'],
      ['config.download.readTimeoutMs', 1234567, 'DOWNLOAD_READ_TIMEOUT_MS', '1234567'],
      ['config.download.allowPrivateAddresses', true, 'DOWNLOAD_ALLOW_PRIVATE_ADDRESSES', 'true'],
      ['config.webhook.path', '/hooks/connectly', 'WEBHOOK_PATH', '/hooks/connectly'],
      ['config.ingest.concurrency', 8, 'INGEST_CONCURRENCY', '8'],
      ['config.ingest.runDeadlineMs', 1800000, 'INGEST_RUN_DEADLINE_MS', '1800000'],
      [
        'config.webhook.allowedCidrs',
        ['198.51.100.0/24', '2001:db8::/32'],
        'WEBHOOK_ALLOWED_CIDRS',
        '198.51.100.0/24,2001:db8::/32',
      ],
      ['config.webhook.hmac', { toleranceSeconds: 60 }, 'WEBHOOK_HMAC_TOLERANCE_SECONDS', '60'],
      ['config.trustedProxyCidrs', ['10.244.0.0/16'], 'TRUSTED_PROXY_CIDRS', '10.244.0.0/16'],
      ['shutdown.graceSeconds', 40, 'SHUTDOWN_GRACE_MS', '40000'],
      ['secrets.webhookPathToken', 'path-token-from-values-0123', 'WEBHOOK_PATH_TOKEN', 'path-token-from-values-0123'],
      ['secrets.connectlyApiKey', 'key-from-values', 'CONNECTLY_API_KEY', 'key-from-values'],
    ])('should turn %s into the container environment', (path, value, variable, expected) => {
      const values = valuesAt(path, value);
      if (path === 'config.kafka.sasl') values.secrets = { connectlyApiKey: 'k', kafkaSaslPassword: 'p' };

      expect(effectiveEnv(render(values))[variable]).toBe(expected);
    });

    it.each(scenarios)('should give the service an environment its own start-up check accepts (%s)', (scenario) => {
      const env = effectiveEnv(render({}, scenario));
      // The existing-secret scenario's credentials live in a Secret the chart does not render.
      const external =
        scenario === 'existing-secret' ? { CONNECTLY_API_KEY: 'k', WEBHOOK_HMAC_SECRET: 'h'.repeat(16) } : {};

      // A CA file path names a file inside the pod; the check that it is readable gets a local stand-in.
      const caFile = env.DOWNLOAD_CA_FILE === undefined ? {} : { DOWNLOAD_CA_FILE: __filename };

      expect(() => loadConfig({ ...env, ...external, ...caFile })).not.toThrow();
    });

    it('should leave S3_ENDPOINT, S3_FORCE_PATH_STYLE, S3_CHECKSUMS and DOWNLOAD_CA_FILE unset by default', () => {
      const env = effectiveEnv(render());

      for (const variable of ['S3_ENDPOINT', 'S3_FORCE_PATH_STYLE', 'S3_CHECKSUMS', 'DOWNLOAD_CA_FILE']) {
        expect(env).not.toHaveProperty(variable);
      }
    });

    it('should set POD_NAME from the downward API', () => {
      expect(serviceContainer(render()).env).toContainEqual({
        name: 'POD_NAME',
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      });
    });

    it('should let extraEnv override a ConfigMap value', () => {
      const env = effectiveEnv(render({ extraEnv: [{ name: 'LOG_LEVEL', value: 'trace' }] }));

      expect(env.LOG_LEVEL).toBe('trace');
    });

    it.each([
      ['the README documents', readmeVariables],
      ['the service validates', serviceVariables],
    ])('should set every variable %s, non-secret ones from the ConfigMap, secrets from the Secret', (_source, list) => {
      const manifests = render({}, 'all-on');
      const configMap = only(manifests, 'ConfigMap').data ?? {};
      const secret = only(manifests, 'Secret').data ?? {};
      const variables = list();

      expect(variables.length).toBeGreaterThan(30);
      expect(variables.filter((variable) => !(variable in configMap) && !(variable in secret))).toEqual([]);
    });
  });

  describe('secrets', () => {
    const secretValues = {
      connectlyApiKey: 'leak-probe-api-key',
      kafkaSaslPassword: 'leak-probe-sasl',
      awsAccessKeyId: 'leak-probe-key-id',
      awsSecretAccessKey: 'leak-probe-secret-key',
      webhookPathToken: 'leak-probe-path-token-0123456789',
      webhookHmacSecret: 'leak-probe-hmac-0123456789',
      adminToken: 'leak-probe-admin-token-0123456789',
    };
    const secretVariables = [
      'CONNECTLY_API_KEY',
      'KAFKA_SASL_PASSWORD',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'WEBHOOK_PATH_TOKEN',
      'WEBHOOK_HMAC_SECRET',
      'ADMIN_TOKEN',
    ];

    it('should keep every secret value out of every object but the Secret, in plain text or base64', () => {
      const manifests = render({ secrets: secretValues }, 'all-on');
      const probes = Object.values(secretValues).flatMap((value) => [value, Buffer.from(value).toString('base64')]);

      for (const manifest of manifests.filter((object) => object.kind !== 'Secret')) {
        const text = stringify(manifest);
        for (const probe of probes) expect(text).not.toContain(probe);
      }
    });

    it('should put no secret variable in the ConfigMap', () => {
      const configMap = only(render({ secrets: secretValues }, 'all-on'), 'ConfigMap');

      for (const variable of secretVariables) expect(configMap.data).not.toHaveProperty(variable);
    });

    it('should hold each set secret under its variable name, and leave unset ones out', () => {
      const secret = only(render({ secrets: { connectlyApiKey: 'only-this-one' } }), 'Secret');

      expect(Object.keys(secret.data ?? {}).sort()).toEqual(['CONNECTLY_API_KEY', 'WEBHOOK_HMAC_SECRET']);
      expect(Buffer.from(secret.data?.CONNECTLY_API_KEY ?? '', 'base64').toString()).toBe('only-this-one');
    });
  });

  describe('checksum annotations', () => {
    const checksums = (values: Values): Record<string, string> => podTemplate(render(values)).annotations;

    it('should change checksum/config, and only it, when a configuration value changes', () => {
      const before = checksums({});
      const after = checksums({ config: { logLevel: 'debug' } });

      expect(after['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
      expect(after['checksum/config']).not.toBe(before['checksum/config']);
      expect(after['checksum/secret']).toBe(before['checksum/secret']);
    });

    it('should change checksum/secret, and only it, when a secret changes', () => {
      const before = checksums({});
      const after = checksums({ secrets: { connectlyApiKey: 'rotated-key' } });

      expect(after['checksum/secret']).toMatch(/^[a-f0-9]{64}$/);
      expect(after['checksum/secret']).not.toBe(before['checksum/secret']);
      expect(after['checksum/config']).toBe(before['checksum/config']);
    });

    it('should keep podAnnotations beside the checksums', () => {
      expect(checksums({ podAnnotations: { 'example.test/owner': 'reporting' } })).toMatchObject({
        'example.test/owner': 'reporting',
      });
    });
  });

  describe('labels', () => {
    const selectorsOf = (manifests: Manifest[]): Array<[string, Labels | undefined]> =>
      manifests.flatMap((manifest): Array<[string, Labels | undefined]> => {
        switch (manifest.kind) {
          case 'Deployment':
          case 'PodDisruptionBudget':
          case 'ServiceMonitor':
            return [[manifest.kind, manifest.spec?.selector?.matchLabels]];
          case 'Service':
            return [[manifest.kind, manifest.spec?.selector]];
          case 'NetworkPolicy':
            return [[manifest.kind, manifest.spec?.podSelector?.matchLabels]];
          default:
            return [];
        }
      });

    it.each(scenarios)('should select pods by exactly the selector labels in the %s scenario', (scenario) => {
      const selectors = selectorsOf(render({}, scenario));

      expect(selectors.length).toBeGreaterThanOrEqual(3);
      for (const [, selector] of selectors) expect(selector).toEqual(selectorLabels);
    });

    it('should put podLabels on the pod template and on no other object', () => {
      const manifests = render({ podLabels: { 'leak-probe': 'pod-only' } }, 'all-on');

      expect(podTemplate(manifests).labels['leak-probe']).toBe('pod-only');
      for (const manifest of manifests) expect(manifest.metadata.labels ?? {}).not.toHaveProperty('leak-probe');
      for (const [, selector] of selectorsOf(manifests)) expect(selector).not.toHaveProperty('leak-probe');
    });

    it('should give the pod template every selector label, so the Deployment owns its pods', () => {
      expect(podTemplate(render()).labels).toMatchObject(selectorLabels);
    });

    it('should keep the helm test pod out of every selector of the release', () => {
      const testPod = only(render(), 'Pod');
      const labels = testPod.metadata.labels ?? {};

      expect(Object.entries(selectorLabels).every(([key, value]) => labels[key] === value)).toBe(false);
    });
  });

  describe('shutdown', () => {
    it('should derive terminationGracePeriodSeconds from shutdown.graceSeconds plus the margin', () => {
      const manifests = render({ shutdown: { graceSeconds: 60, marginSeconds: 7 } });

      expect(podTemplate(manifests).spec.terminationGracePeriodSeconds).toBe(67);
      expect(effectiveEnv(manifests).SHUTDOWN_GRACE_MS).toBe('60000');
    });

    it('should default to the service default of 25 s plus 5 s', () => {
      const manifests = render();

      expect(podTemplate(manifests).spec.terminationGracePeriodSeconds).toBe(30);
      expect(effectiveEnv(manifests).SHUTDOWN_GRACE_MS).toBe('25000');
    });
  });

  describe('role', () => {
    const roles = ['all', 'intake', 'worker'] as const;

    it('should default to all, in values.yaml and in the ConfigMap', () => {
      const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Values;

      expect(values.role).toBe('all');
      expect(only(render(), 'ConfigMap').data?.SERVICE_ROLE).toBe('all');
    });

    it.each(roles)('should render role %s into the ConfigMap as SERVICE_ROLE, which the service reads', (role) => {
      const manifests = render({ role });

      expect(only(manifests, 'ConfigMap').data?.SERVICE_ROLE).toBe(role);
      expect(loadConfig(effectiveEnv(manifests)).role).toBe(role);
    });

    it('should render no Ingress for a worker, even with ingress.enabled, and keep its Service', () => {
      const manifests = render({ role: 'worker' }, 'all-on');

      expect(kinds(manifests)).not.toContain('Ingress');
      expect(only(manifests, 'Service').spec?.selector).toEqual(selectorLabels);
    });

    it.each(['all', 'intake'])('should keep the Ingress for role %s', (role) => {
      expect(kinds(render({ role }, 'all-on'))).toContain('Ingress');
    });

    it.each(roles)(
      'should keep the autoscaler, ServiceMonitor and PodDisruptionBudget available for role %s',
      (role) => {
        expect(kinds(render({ role }, 'all-on'))).toEqual(
          expect.arrayContaining(['HorizontalPodAutoscaler', 'ServiceMonitor', 'PodDisruptionBudget']),
        );
      },
    );

    it('should not ask a worker for a webhook caller check, since it serves no webhook', () => {
      const manifests = render({ role: 'worker', secrets: { webhookHmacSecret: '' } });

      expect(kinds(manifests)).toContain('Deployment');
      expect(() => loadConfig(effectiveEnv(manifests))).not.toThrow();
    });

    it('should still ask an intake for a webhook caller check in production', () => {
      expect(renderError({ role: 'intake', secrets: { webhookHmacSecret: '' } })).toContain(
        'the webhook needs a caller check in production',
      );
    });

    it('should let only pods of the cluster reach a worker when no peers are listed', () => {
      const policy = only(render({ role: 'worker' }), 'NetworkPolicy');

      expect(policy.spec?.ingress).toEqual([
        { ports: [{ port: 'http', protocol: 'TCP' }], from: [{ namespaceSelector: {} }] },
      ]);
    });

    it('should use the listed peers for a worker, and still let the helm test pod in', () => {
      const from = only(render({}, 'worker'), 'NetworkPolicy').spec?.ingress?.[0].from;

      expect(from).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
        {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/component': 'helm-test' },
          },
        },
      ]);
    });

    const DNS_PORTS = [
      { port: 53, protocol: 'UDP' },
      { port: 53, protocol: 'TCP' },
    ];
    const KAFKA_PORTS = [{ port: 9092, protocol: 'TCP' }];
    const HTTPS_PORTS = [{ port: 443, protocol: 'TCP' }];

    it('should keep the webhook port open to any sender for an intake when no peers are listed', () => {
      const policy = only(render({ role: 'intake' }), 'NetworkPolicy');

      expect(policy.spec?.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
    });

    it('should let an intake out to DNS and Kafka only, not to the object store or Connectly', () => {
      const policy = only(render({ role: 'intake' }), 'NetworkPolicy');

      expect(policy.spec?.egress?.map((rule) => rule.ports)).toEqual([DNS_PORTS, KAFKA_PORTS]);
    });

    it('should let a worker out to DNS, Kafka, the object store and Connectly', () => {
      const policy = only(render({ role: 'worker' }), 'NetworkPolicy');

      expect(policy.spec?.egress?.map((rule) => rule.ports)).toEqual([
        DNS_PORTS,
        KAFKA_PORTS,
        HTTPS_PORTS,
        HTTPS_PORTS,
      ]);
    });
  });

  describe('network policy', () => {
    it('should be on by default: webhooks in on the http port, DNS, Kafka, object store and Connectly out', () => {
      const policy = only(render(), 'NetworkPolicy');

      expect(policy.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(policy.spec?.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
      expect(policy.spec?.egress?.map((rule) => rule.ports)).toEqual([
        [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
        [{ port: 9092, protocol: 'TCP' }],
        [{ port: 443, protocol: 'TCP' }],
        [{ port: 443, protocol: 'TCP' }],
      ]);
    });

    it('should narrow each rule to the peers given, and still let the helm test pod in', () => {
      const policy = only(render({}, 'all-on'), 'NetworkPolicy');

      expect(policy.spec?.ingress?.[0].from).toContainEqual({
        podSelector: {
          matchLabels: { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/component': 'helm-test' },
        },
      });
      expect(policy.spec?.egress?.[1]).toEqual({
        ports: [{ port: 9096, protocol: 'TCP' }],
        to: [{ ipBlock: { cidr: '10.20.0.0/16' } }],
      });
    });

    it('should be left out when switched off', () => {
      expect(kinds(render({ networkPolicy: { enabled: false } }))).not.toContain('NetworkPolicy');
    });
  });

  describe('optional parts', () => {
    it('should publish only the webhook path through the Ingress, with TLS', () => {
      const ingress = only(render({}, 'all-on'), 'Ingress');

      expect(ingress.spec?.rules?.map((rule) => rule.http.paths.map((path) => path.path))).toEqual([
        ['/webhooks/connectly'],
      ]);
      expect(ingress.spec?.tls).toEqual([
        { secretName: 'connectly-hooks-tls', hosts: ['connectly-hooks.example.test'] },
      ]);
    });

    it('should leave the replica count to the autoscaler when it is on', () => {
      const manifests = render({}, 'all-on');

      expect(only(manifests, 'Deployment').spec?.replicas).toBeUndefined();
      expect(only(manifests, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 2, maxReplicas: 6 });
    });

    it('should scrape /metrics on the http port through the ServiceMonitor', () => {
      expect(only(render({}, 'all-on'), 'ServiceMonitor').spec?.endpoints).toEqual([
        { port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' },
      ]);
    });

    it('should keep a PodDisruptionBudget on by default', () => {
      expect(only(render(), 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
    });
  });

  describe('NOTES.txt', () => {
    it('should name the Service and the readiness check when there is no Ingress', () => {
      const notes = renderNotes({});

      expect(notes).toContain(`Service ${release}-connectly-report-ingest:80`);
      expect(notes).toContain('https://<your host>/webhooks/connectly with Connectly');
      expect(notes).toContain(`helm test ${release} -n ${namespace}`);
    });

    it('should give the public webhook address, without ever printing the path token', () => {
      const notes = renderNotes({}, 'all-on');

      expect(notes).toContain('https://connectly-hooks.example.test/webhooks/connectly/<secrets.webhookPathToken>');
      expect(notes).not.toContain('ci-webhook-path-token');
    });

    it('should tell a worker release that it serves no webhook, and offer no webhook address', () => {
      const notes = renderNotes({ role: 'worker' }, 'all-on');

      expect(notes).toContain('(role worker)');
      expect(notes).toContain('ingress.enabled is ignored for this role');
      expect(notes).not.toContain('Register this webhook address');
      expect(notes).not.toContain('/webhooks/connectly');
    });

    it('should tell an intake release that a worker release must run beside it, and not check the bucket', () => {
      const notes = renderNotes({}, 'intake');

      expect(notes).toContain('(role intake)');
      expect(notes).toContain('role=worker');
      expect(notes).toContain('https://connectly-hooks.example.test/webhooks/connectly');
      expect(notes).toContain('an intake does not check the bucket');
    });

    it('should say how to roll the pods when the credentials come from an existing Secret', () => {
      expect(renderNotes({}, 'existing-secret')).toContain('rollout restart deploy/rel-connectly-report-ingest');
    });
  });

  describe('helm test', () => {
    it('should ask the Service for /health/ready from a pinned image, as a current test hook', () => {
      const testPod = only(render(), 'Pod');
      const container = testPod.spec?.containers?.[0];

      expect(testPod.metadata.annotations?.['helm.sh/hook']).toBe('test');
      expect(container?.image).toMatch(/^busybox:\d+\.\d+\.\d+$/);
      expect(container?.command?.at(-1)).toBe(`http://${release}-connectly-report-ingest:80/health/ready`);
      expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    });
  });

  describe('values.yaml', () => {
    it('should carry a comment on every key, saying what it changes', () => {
      const document = parseDocument(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));

      expect(uncommentedKeys(document.contents)).toEqual([]);
    });

    it('should render with the chart defaults alone once the required values are set', () => {
      const required = parse(readFileSync(join(chartDir, 'ci', 'default-values.yaml'), 'utf8')) as Values;

      expect(kinds(render(required, null))).toContain('Deployment');
    });
  });

  describe('values schema', () => {
    it.each([
      ['an unknown top-level key', { replicaCont: 3 }, 'replicaCont'],
      ['an unknown nested key', { config: { kafka: { brokerList: ['a:9092'] } } }, 'brokerList'],
      ['an unknown key in a security context', { securityContext: { readOnlyRootFs: true } }, 'readOnlyRootFs'],
      ['a wrong type', { config: { port: '3000' } }, 'port'],
      ['a value outside its range', { config: { s3: { partSizeMb: 1 } } }, 'partSizeMb'],
      ['a role the service does not know', { role: 'both' }, 'role'],
      ['a role of another type', { role: true }, 'role'],
    ])('should refuse %s', (_case, values, key) => {
      const error = renderError(values);

      expect(error).toMatch(/schema/i);
      expect(error).toContain(key);
    });
  });

  describe('required values', () => {
    it.each([
      ['config.kafka.brokers', { config: { kafka: { brokers: [] } } }],
      ['config.s3.bucket', { config: { s3: { bucket: '' } } }],
      ['config.connectly.businessId', { config: { connectly: { businessId: '' } } }],
      ['secrets.connectlyApiKey', { secrets: { connectlyApiKey: '' } }],
      ['secrets.kafkaSaslPassword', { config: { kafka: { sasl: { mechanism: 'plain', username: 'svc' } } } }],
      [
        'config.kafka.sasl.username',
        { config: { kafka: { sasl: { mechanism: 'plain' } } }, secrets: { kafkaSaslPassword: 'p' } },
      ],
      ['targetCPUUtilizationPercentage', { autoscaling: { enabled: true, targetCPUUtilizationPercentage: null } }],
      ['a caller check in production', { secrets: { webhookHmacSecret: '' } }],
    ])('should refuse to render without %s, naming it', (name, values) => {
      expect(renderError(values)).toContain(name);
    });

    it.each([
      ['a path token', { secrets: { webhookHmacSecret: '', webhookPathToken: 'p'.repeat(24) } }],
      ['allowed CIDRs', { secrets: { webhookHmacSecret: '' }, config: { webhook: { allowedCidrs: ['10.0.0.0/8'] } } }],
      [
        'the explicit opt-out',
        { secrets: { webhookHmacSecret: '' }, config: { webhook: { allowUnauthenticated: true } } },
      ],
      ['a non-production NODE_ENV', { secrets: { webhookHmacSecret: '' }, config: { nodeEnv: 'development' } }],
    ])('should accept %s as the caller check', (_case, values) => {
      expect(kinds(render(values))).toContain('Deployment');
    });

    it('should refuse to render the bare defaults, naming the first missing value', () => {
      expect(renderError({}, null)).toContain('config.kafka.brokers is required');
    });
  });

  describe('helpers', () => {
    // Each helper of templates/_helpers.tpl, with the test above or below that checks what it renders.
    const checkedHelpers: Record<string, string> = {
      'connectly-report-ingest.name': 'helpers: name',
      'connectly-report-ingest.fullname': 'helpers: fullname',
      'connectly-report-ingest.chart': 'helpers: chart',
      'connectly-report-ingest.selectorLabels': 'labels: selectors',
      'connectly-report-ingest.labels': 'helpers: labels',
      'connectly-report-ingest.serviceAccountName': 'helpers: serviceAccountName',
      'connectly-report-ingest.secretName': 'ci scenarios: existing-secret',
      'connectly-report-ingest.image': 'helpers: image',
      'connectly-report-ingest.secretEnv': 'secrets: each set secret under its variable name',
      'connectly-report-ingest.terminationGracePeriodSeconds': 'shutdown',
      'connectly-report-ingest.validate': 'required values',
    };

    it('should check every helper the chart defines', () => {
      const helpersFile = readFileSync(join(chartDir, 'templates', '_helpers.tpl'), 'utf8');
      const defined = [...helpersFile.matchAll(/define "([^"]+)"/g)].map((match) => match[1]).sort();

      expect(defined).toEqual(Object.keys(checkedHelpers).sort());
    });

    it('name: should follow nameOverride in the name label and the object names', () => {
      const manifests = render({ nameOverride: 'hooks' });

      expect(only(manifests, 'Deployment').metadata.name).toBe(`${release}-hooks`);
      expect(only(manifests, 'Deployment').metadata.labels?.['app.kubernetes.io/name']).toBe('hooks');
    });

    it('fullname: should prefix the release, not repeat the chart name, and honour fullnameOverride', () => {
      expect(only(render(), 'Service').metadata.name).toBe(`${release}-connectly-report-ingest`);
      expect(only(render({ fullnameOverride: 'ingest' }), 'Service').metadata.name).toBe('ingest');

      const prefixed = only(render({}, 'default', 'connectly-report-ingest-prod'), 'Service');
      expect(prefixed.metadata.name).toBe('connectly-report-ingest-prod');
    });

    it('fullname: should cut names to 63 characters without leaving a trailing dash', () => {
      // 45 + "-connectly-report-ingest" is 69 characters; the 63rd is the dash before "ingest".
      const name = only(render({}, 'default', 'r'.repeat(45)), 'Service').metadata.name;

      expect(name).toBe(`${'r'.repeat(45)}-connectly-report`);
    });

    it('chart: should label every object with the chart name and version', () => {
      const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { version: string };

      for (const manifest of render()) {
        expect(manifest.metadata.labels?.['helm.sh/chart']).toBe(`connectly-report-ingest-${chart.version}`);
      }
    });

    it('labels: should give every object the standard labels and commonLabels', () => {
      for (const manifest of render({ commonLabels: { team: 'reporting' } })) {
        expect(manifest.metadata.labels).toMatchObject({
          'app.kubernetes.io/instance': release,
          'app.kubernetes.io/managed-by': 'Helm',
          team: 'reporting',
        });
      }
    });

    it('serviceAccountName: should name the chart account, a given one, or the default', () => {
      const accountOf = (serviceAccount: Values): string | undefined =>
        podTemplate(render({ serviceAccount })).spec.serviceAccountName;

      expect(accountOf({})).toBe(`${release}-connectly-report-ingest`);
      expect(accountOf({ name: 'ingest-sa' })).toBe('ingest-sa');
      expect(accountOf({ create: false, name: 'shared-sa' })).toBe('shared-sa');
      expect(accountOf({ create: false })).toBe('default');
    });

    it("image: should default the tag to the chart's appVersion, and let a digest win over a tag", () => {
      const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
      const digest = `sha256:${'a'.repeat(64)}`;

      expect(serviceContainer(render()).image).toBe(`connectly-report-ingest:${chart.appVersion}`);
      expect(serviceContainer(render({ image: { tag: '9.9.9' } })).image).toBe('connectly-report-ingest:9.9.9');
      expect(serviceContainer(render({ image: { tag: '9.9.9', digest } })).image).toBe(
        `connectly-report-ingest@${digest}`,
      );
    });
  });
});

/** Dotted paths of map keys with no comment of their own; list items are data, not keys. */
function uncommentedKeys(node: YamlNode | null, path: string[] = []): string[] {
  if (!isMap(node)) return [];

  return node.items.flatMap((pair, index) => {
    const key = pair.key as YamlNode & { value: unknown };
    // A comment above the first key of a nested map belongs to the map in the document model.
    const comment = key.commentBefore ?? (index === 0 && path.length > 0 ? node.commentBefore : undefined);
    const keyPath = [...path, String(key.value)];
    const own = comment ? [] : [keyPath.join('.')];
    return [...own, ...uncommentedKeys(pair.value as YamlNode | null, keyPath)];
  });
}

/** Every environment variable the service's configuration class validates. */
function serviceVariables(): string[] {
  return getMetadataStorage()
    .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
    .map((rule) => rule.propertyName)
    .filter((name, index, names) => names.indexOf(name) === index);
}

/** The variable names in the first column of the README's configuration table. */
function readmeVariables(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Configuration'),
    readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
  );
  const firstCells = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|')[1]);

  return firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]));
}
