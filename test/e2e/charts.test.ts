// Both Helm charts with the real `helm` in a real cluster of the shared environment: lint,
// what they render, the settings they refuse, the control plane chart installed with two
// replicas and a TLS Secret until its Deployment is Available, and the agent chart installed
// the way the control plane's printed command says — then the real agent process, with only
// the chart's ServiceAccount (a token from `kubectl create token`) and the chart's settings,
// registers with a real control plane and makes a fleet Ready in the cluster. Names are unique
// per run: other test files use the same clusters at the same time.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@gitfleet/control-plane';
import { GITFLEET_VERSION } from '@gitfleet/proto';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { agentConfigFromEnv } from '../../agent/src/agent.ts';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import { webDeployment } from '../src/manifests.ts';
import { type ManagedProcess, tempDir } from '../src/process.ts';
import { selfSignedCertificate } from '../src/tls.ts';
import { ensureToolchain, toolPath } from '../src/toolchain.ts';

const env = environmentFromEnv();
const cluster = env.clusters[0]!;
const id = randomBytes(3).toString('hex');
const root = new URL('../..', import.meta.url).pathname;
const cpChart = join(root, 'charts/gitfleet-control-plane');
const agentChart = join(root, 'charts/gitfleet-agent');

const cpNs = `gitfleet-cp-${id}`;
const cpRelease = `gitfleet-${id}`;
const agentNs = `gitfleet-agent-${id}`;
const agentRelease = `agent-${id}`;
const appNs = `charts-app-${id}`;
const clusterName = `charts-${id}`;
const fleetName = `charts-${id}`;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: Record<string, unknown>;
}
interface Deployment {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    replicas: number;
    template: {
      spec: {
        serviceAccountName?: string;
        containers: Container[];
        volumes?: { name: string; secret?: { secretName: string }; emptyDir?: object }[];
        securityContext?: Record<string, unknown>;
      };
    };
  };
  status?: {
    availableReplicas?: number;
    conditions?: { type: string; status: string }[];
  };
}

/** Every GITFLEET_* name the (non-test) sources under `dir` mention. */
function variablesReadIn(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/\bGITFLEET_[A-Z0-9_]+\b/g)) names.add(m[0]);
  }
  return names;
}

describe('the Helm charts in a real cluster', () => {
  let binDir = '';
  let work = '';
  let cp: TestControlPlane;
  let git: GitServer;
  let agent: ManagedProcess | undefined;
  let tlsCert = '';
  let tlsKey = '';
  const kubectl = (args: string[], input?: string) => kubectlFor(cluster.kubeconfig, binDir)(args, input);
  const getJson = async <T>(args: string[]): Promise<T> =>
    JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

  /** helm with the cluster's kubeconfig and its own config and cache directories. */
  const helm = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(toolPath(binDir, 'helm'), [...args, '--kubeconfig', cluster.kubeconfig], {
        env: {
          ...process.env,
          HELM_CONFIG_HOME: join(work, 'helm/config'),
          HELM_CACHE_HOME: join(work, 'helm/cache'),
          HELM_DATA_HOME: join(work, 'helm/data'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
      });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  const helmOk = async (args: string[]): Promise<string> => {
    const res = await helm(args);
    if (res.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
    return res.stdout;
  };
  const cpValues = (extra: string[] = []) => [
    '--set',
    'redis.url=redis://redis.invalid:6379',
    '--set',
    'replicaCount=2',
    '--set',
    'tls.secretName=gitfleet-tls',
    '--set',
    'grpc.publicAddress=gitfleet.example.com:443',
    '--set',
    'webhook.secret=hook-secret-123',
    ...extra,
  ];

  // Redis Sentinel and Redis Cluster, the passwords from a Secret of the user's.
  const sentinelValues = [
    '--set',
    'redis.sentinels={redis-node-0.redis:26379,redis-node-1.redis:26379,redis-node-2.redis:26379}',
    '--set',
    'redis.sentinelMaster=mymaster',
    '--set',
    'redis.auth.existingSecret=redis-auth',
    '--set',
    'redis.auth.sentinelPasswordKey=sentinel-password',
  ];
  const clusterValues = [
    '--set',
    'redis.clusterNodes={redis-cluster-0.redis:6379,redis-cluster-1.redis:6379}',
    '--set',
    'redis.auth.existingSecret=redis-auth',
  ];

  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    timeoutMs = 90_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value) return value as T;
      await sleep(300);
    }
    const status = cp ? await cp.api('GET', `/api/v1/fleets/${fleetName}/status`) : undefined;
    throw new Error(
      `timed out waiting for ${what}\nstatus: ${JSON.stringify(status?.body)}\n${agent ? agent.tail(30) : ''}`,
    );
  };

  before(async () => {
    binDir = await ensureToolchain(['helm', 'kubectl']);
    work = tempDir('charts');
    // The gRPC certificate, as a user would make it for the control plane's public name (and
    // 127.0.0.1, where the test control plane listens), self-signed like the generated one.
    ({ certFile: tlsCert, keyFile: tlsKey } = await selfSignedCertificate(work, [
      'gitfleet.example.com',
      `${cpRelease}.${cpNs}.svc`,
      'IP:127.0.0.1',
    ]));
    git = await startGitServer();
    // The control plane the agent registers with uses the same kind of TLS Secret material.
    cp = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: { GITFLEET_TLS_CERT_FILE: tlsCert, GITFLEET_TLS_KEY_FILE: tlsKey },
    });
    assert.equal(cp.caPem, readFileSync(tlsCert, 'utf8'));
  });

  after(async () => {
    await agent?.stop();
    for (const [release, ns] of [
      [agentRelease, agentNs],
      [cpRelease, cpNs],
    ] as const) {
      await helm(['uninstall', release, '-n', ns, '--ignore-not-found', '--wait', '--timeout', '60s']).catch(
        () => {},
      );
    }
    await kubectl(['delete', 'namespace', cpNs, agentNs, appNs, '--wait=false', '--ignore-not-found']).catch(
      () => {},
    );
    await cp?.stop();
    await git?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lint clean with the values they require', async () => {
    for (const args of [
      [agentChart, '--set', 'controlPlane.address=gitfleet.example.com:443'],
      [agentChart, '--set', 'controlPlane.address=cp:9090', '--set', 'rbac.clusterAdmin=false'],
      [cpChart, '--set', 'redis.url=redis://redis:6379'],
      [
        cpChart,
        ...cpValues(['--set', 'serviceMonitor.enabled=true', '--set', 'podDisruptionBudget.enabled=true']),
      ],
      [cpChart, '--set', 'redis.existingSecret=r', '--set', 'apiTokens.existingSecret=t'],
      [cpChart, ...sentinelValues],
      [cpChart, ...clusterValues],
    ]) {
      const out = await helmOk(['lint', '--strict', ...args]);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('helm template output passes kubectl apply --dry-run=server', async () => {
    for (const [chart, ...args] of [
      [agentChart, '--set', 'controlPlane.address=cp:9090', '--set', 'bootstrapToken=gfb_x'],
      [agentChart, '--set', 'controlPlane.address=cp:9090', '--set', 'rbac.clusterAdmin=false'],
      [cpChart, '--set', 'redis.url=redis://redis:6379'],
      [cpChart, ...clusterValues],
    ] as [string, ...string[]][]) {
      const manifest = await helmOk(['template', `dry-${id}`, chart, '--namespace', 'default', ...args]);
      const out = await kubectl(['apply', '--dry-run=server', '-n', 'default', '-f', '-'], manifest);
      assert.match(out, /\(server dry run\)/, out);
    }
  });

  it('render only GITFLEET_* variables that the process they run reads; the agent is cluster-admin by default', async () => {
    const readBy: Record<string, Set<string>> = {
      'control-plane': variablesReadIn('control-plane/src'),
      agent: variablesReadIn('agent/src'),
    };
    const renders = [
      [agentChart, '--set', 'controlPlane.address=cp:9090'],
      [cpChart, '--set', 'redis.url=redis://r:6379'],
      [cpChart, ...cpValues(['--set', 'tls.caKey=ca.crt', '--set', 'config.agentChart=oci://example/agent'])],
      [cpChart, '--set', 'redis.url=redis://r:6379', '--set', 'secretKey.existingSecret=sk'],
      [
        cpChart,
        '--set',
        'redis.url=redis://r:6379',
        '--set',
        `secretKey.key=${randomBytes(32).toString('base64')}`,
        '--set',
        `secretKey.previous=${randomBytes(32).toString('hex')}`,
      ],
      [cpChart, ...sentinelValues],
      [cpChart, ...clusterValues, '--set', 'redis.waitReplicas=2'],
      [
        cpChart,
        '--set',
        'redis.url=redis://r:6379',
        '--set',
        'oidc.issuer=https://idp.example.com',
        '--set',
        'oidc.audience=gitfleet',
        '--set',
        'oidc.adminGroups={platform}',
        '--set',
        'oidc.clientId=gitfleet',
      ],
    ];
    let checked = 0;
    for (const args of renders) {
      const docs = parseAllDocuments(await helmOk(['template', 'r', ...args, '-n', 'ns'])).map((d) =>
        d.toJS(),
      );
      for (const d of docs.filter((d) => d?.kind === 'Deployment') as Deployment[]) {
        for (const c of d.spec.template.spec.containers) {
          const process = c.args?.[0] ?? '';
          assert.ok(readBy[process], `${d.metadata.name} runs ${process}`);
          for (const { name } of c.env) {
            if (!name.startsWith('GITFLEET_')) continue;
            assert.ok(
              readBy[process]?.has(name),
              `${name} is set by the chart, and nothing in ${process}/src reads it`,
            );
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 20, `${checked} variables checked`);

    // Defaults of the agent chart: bound to cluster-admin, a ServiceAccount of the release.
    const docs = parseAllDocuments(
      await helmOk(['template', 'a', agentChart, '--set', 'controlPlane.address=cp:9090', '-n', 'ns']),
    ).map((d) => d.toJS());
    const binding = docs.find((d) => d?.kind === 'ClusterRoleBinding');
    assert.equal(binding.roleRef.name, 'cluster-admin');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'a', namespace: 'ns' }]);
    assert.ok(!docs.some((d) => d?.kind === 'ClusterRole'), 'no ClusterRole of its own');

    // The ServiceMonitor (its CRD is not in the test clusters: rendered, not installed).
    const monitor = parseAllDocuments(
      await helmOk([
        'template',
        'm',
        cpChart,
        '--set',
        'redis.url=redis://r:6379',
        '--set',
        'serviceMonitor.enabled=true',
        '--show-only',
        'templates/servicemonitor.yaml',
      ]),
    )[0]?.toJS();
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.deepEqual(monitor.spec.endpoints[0].port, 'http');
    assert.deepEqual(monitor.spec.endpoints[0].path, '/metrics');
    const off = await helm(['template', 'm', cpChart, '--set', 'redis.url=redis://r:6379']);
    assert.ok(!off.stdout.includes('ServiceMonitor'), 'off by default');
  });

  it('Redis Sentinel and Redis Cluster: what the chart renders is the configuration the control plane reads', async () => {
    // Rendered, with the Secrets resolved as the kubelet would: the chart's own from the
    // render, the user's Redis passwords from what they would have created.
    const userSecrets: Record<string, Record<string, string>> = {
      'redis-auth': { 'redis-password': 'data-pass', 'sentinel-password': 'sentinel-pass' },
    };
    const configOf = async (values: string[]) => {
      const docs = parseAllDocuments(await helmOk(['template', 'r', cpChart, '-n', 'ns', ...values])).map(
        (d) => d.toJS(),
      );
      const own = docs.find((d) => d?.kind === 'Secret' && d.metadata.name === 'r');
      const deployment = docs.find((d) => d?.kind === 'Deployment') as Deployment;
      const env: Record<string, string> = {};
      for (const e of deployment.spec.template.spec.containers[0]!.env) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref) env[e.name] = e.value ?? '';
        else {
          const value = ref.name === 'r' ? own?.stringData?.[ref.key] : userSecrets[ref.name]?.[ref.key];
          if (value === undefined && ref.optional) continue;
          assert.ok(value !== undefined, `${e.name}: Secret ${ref.name} has ${ref.key}`);
          env[e.name] = value;
        }
      }
      return { env, config: loadConfig(env) };
    };
    const sentinel = await configOf(sentinelValues);
    assert.equal(
      sentinel.env.GITFLEET_REDIS_URL,
      undefined,
      'no URL: the sentinels say where the primary is',
    );
    assert.deepEqual(sentinel.config.redis, {
      url: 'redis://127.0.0.1:6379',
      sentinels: ['redis-node-0.redis:26379', 'redis-node-1.redis:26379', 'redis-node-2.redis:26379'],
      sentinelMaster: 'mymaster',
      clusterNodes: [],
      password: 'data-pass',
      sentinelPassword: 'sentinel-pass',
    });
    assert.equal(sentinel.config.redisWaitReplicas, 1, 'acknowledged once a replica holds it');
    assert.equal(sentinel.config.redisWaitTimeoutMs, 2000);

    const cluster = await configOf([...clusterValues, '--set', 'redis.waitTimeoutMs=500']);
    assert.deepEqual(cluster.config.redis.clusterNodes, [
      'redis-cluster-0.redis:6379',
      'redis-cluster-1.redis:6379',
    ]);
    assert.deepEqual(cluster.config.redis.sentinels, []);
    assert.equal(cluster.config.redis.password, 'data-pass');
    assert.equal(cluster.config.redis.sentinelPassword, undefined);
    assert.equal(cluster.config.redisWaitReplicas, 1);
    assert.equal(cluster.config.redisWaitTimeoutMs, 500);
    // One comma-separated string works as well as a list, and waiting can be turned off.
    const string = await configOf([
      '--set',
      'redis.clusterNodes=a:6379\\,b:6379',
      '--set',
      'redis.waitReplicas=0',
    ]);
    assert.deepEqual(string.config.redis.clusterNodes, ['a:6379', 'b:6379']);
    assert.equal(string.config.redisWaitReplicas, 0);
    // A URL with a password in the chart's Secret, as before: one server, no waiting.
    const single = await configOf(['--set', 'redis.url=redis://:pw@redis:6379']);
    assert.equal(single.config.redis.url, 'redis://:pw@redis:6379');
    assert.deepEqual([single.config.redis.sentinels, single.config.redis.clusterNodes], [[], []]);
    assert.equal(single.config.redisWaitReplicas, 0);

    for (const [values, refusal] of [
      [[...sentinelValues, ...clusterValues], /redis\.sentinels and redis\.clusterNodes are both set/],
      [
        ['--set', 'redis.clusterNodes={redis-cluster-0}'],
        /redis\.clusterNodes: 'redis-cluster-0' is not host:port/,
      ],
      [
        ['--set', 'redis.sentinels={s:26379}', '--set', 'redis.sentinelMaster='],
        /redis\.sentinelMaster is required/,
      ],
      [
        ['--set', 'redis.sentinels={s:26379}', '--set', 'redis.auth.sentinelPasswordKey=k'],
        /redis\.auth\.sentinelPasswordKey is a key of redis\.auth\.existingSecret/,
      ],
      [
        ['--set', 'redis.url=redis://r:6379', '--set', 'redis.waitReplicas=one'],
        /redis\.waitReplicas must be a whole number/,
      ],
    ] as const) {
      const res = await helm(['template', 'r', cpChart, '-n', 'ns', ...values]);
      assert.notEqual(res.code, 0, values.join(' '));
      assert.match(res.stderr, refusal);
    }
  });

  it('refuse settings that cannot work, saying what to do', async () => {
    const agentRes = await helm([
      'install',
      `noaddr-${id}`,
      agentChart,
      '-n',
      'default',
      '--set',
      'bootstrapToken=x',
    ]);
    assert.notEqual(agentRes.code, 0);
    assert.match(
      agentRes.stderr,
      /controlPlane\.address is required: the host:port of the gitfleet control plane/,
    );
    const noTls = await helm([
      'install',
      `notls-${id}`,
      cpChart,
      '-n',
      'default',
      '--set',
      'redis.url=redis://r:6379',
      '--set',
      'replicaCount=2',
    ]);
    assert.notEqual(noTls.code, 0);
    assert.match(
      noTls.stderr,
      /replicaCount=2 needs tls\.secretName: without it every replica generates its own gRPC certificate/,
    );
    const noRedis = await helm(['install', `noredis-${id}`, cpChart, '-n', 'default']);
    assert.notEqual(noRedis.code, 0);
    assert.match(noRedis.stderr, /redis\.url \(redis:\/\/host:6379\) or redis\.existingSecret is required/);
    const badTokens = await helm([
      'install',
      `badtokens-${id}`,
      cpChart,
      '-n',
      'default',
      '--set',
      'redis.url=redis://r:6379',
      '--set',
      'apiTokens.tokens=root:me:short',
    ]);
    assert.match(badTokens.stderr, /apiTokens\.tokens is not valid/);
    const goodKey = randomBytes(32).toString('base64');
    for (const [values, refusal] of [
      [['secretKey.key=not-a-key'], /secretKey\.key is not valid: use 32 random bytes in base64/],
      [[`secretKey.key=${goodKey}`, 'secretKey.previous=x'], /secretKey\.previous is not valid/],
      [[`secretKey.previous=${goodKey}`], /secretKey\.previous needs secretKey\.key, the new key/],
      [
        ['secretKey.existingSecret=s', `secretKey.previous=${goodKey}`],
        /put the previous key in that Secret under secretKey\.existingSecretPreviousKey/,
      ],
    ] as const) {
      const res = await helm([
        'install',
        `badkey-${id}`,
        cpChart,
        '-n',
        'default',
        '--set',
        'redis.url=redis://r:6379',
        ...values.flatMap((v) => ['--set', v]),
      ]);
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, refusal);
      assert.ok(!res.stderr.includes(goodKey), 'a refusal never quotes a key');
    }
    // Nothing was installed (helm v4 lists releases in every status by default).
    const releases = JSON.parse(await helmOk(['list', '-n', 'default', '-o', 'json'])) as {
      name: string;
    }[];
    assert.deepEqual(
      releases.filter((r) => r.name.endsWith(id)),
      [],
    );
  });

  it('control plane: two replicas with a TLS Secret; the Deployment becomes Available', async () => {
    await kubectl(['create', 'namespace', cpNs]);
    await kubectl([
      'create',
      'secret',
      'tls',
      'gitfleet-tls',
      '-n',
      cpNs,
      '--cert',
      tlsCert,
      '--key',
      tlsKey,
    ]);
    const out = await helmOk([
      'install',
      cpRelease,
      cpChart,
      '-n',
      cpNs,
      ...cpValues(),
      '--wait',
      '--timeout',
      '3m',
    ]);
    assert.match(out, /STATUS: deployed/);

    const deploy = await getJson<Deployment>(['get', 'deployment', cpRelease, '-n', cpNs]);
    assert.equal(deploy.spec.replicas, 2);
    assert.equal(deploy.status?.availableReplicas, 2);
    assert.equal(deploy.status?.conditions?.find((c) => c.type === 'Available')?.status, 'True');
    const pod = deploy.spec.template.spec;
    const [container] = pod.containers;
    assert.ok(container);
    assert.deepEqual(container.args, ['control-plane']);
    assert.equal(container.image, `ghcr.io/gitfleet/gitfleet:${GITFLEET_VERSION}`);
    assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port: 'http', scheme: 'HTTP' });
    assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'http', scheme: 'HTTP' });
    assert.equal(pod.securityContext?.runAsUser, 65532);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);

    // The environment, resolved as the kubelet would (Secrets), is a configuration the control
    // plane accepts, and it matches the ports, mounts and values of the release.
    const secrets = new Map<string, Record<string, string>>();
    const resolved: Record<string, string> = {};
    for (const e of container.env) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        if (!secrets.has(ref.name)) {
          const s = await getJson<{ data: Record<string, string> }>(['get', 'secret', ref.name, '-n', cpNs]);
          secrets.set(ref.name, s.data);
        }
        const data = secrets.get(ref.name)?.[ref.key];
        if (data === undefined && ref.optional) continue;
        assert.ok(data !== undefined, `Secret ${ref.name} has ${ref.key}`);
        resolved[e.name] = Buffer.from(data, 'base64').toString('utf8');
      } else resolved[e.name] = e.value ?? '';
    }
    const config = loadConfig(resolved);
    assert.equal(config.redisUrl, 'redis://redis.invalid:6379');
    assert.equal(config.grpcPublicAddress, 'gitfleet.example.com:443');
    assert.equal(config.webhookSecret, 'hook-secret-123');
    assert.equal(config.generatedAdminToken, false, 'the chart gave it a token');
    assert.deepEqual(
      config.apiTokens.map((t) => [t.role, t.name]),
      [['admin', 'admin']],
    );
    assert.equal(config.secrets.keyIds.length, 1, 'a generated secret key, no previous one');
    const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { http: config.httpPort, grpc: config.grpcPort });
    const mountOf = (path: string) =>
      (container.volumeMounts ?? []).find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
    const volumeOf = (name: string | undefined) => pod.volumes?.find((v) => v.name === name);
    assert.ok(config.tlsCertFile && config.tlsKeyFile);
    for (const file of [config.tlsCertFile, config.tlsKeyFile]) {
      assert.deepEqual(volumeOf(mountOf(file)?.name)?.secret?.secretName, 'gitfleet-tls', file);
    }
    assert.ok(volumeOf(mountOf(config.dataDir)?.name)?.emptyDir, 'the data dir is writable scratch space');
    assert.ok(volumeOf(mountOf('/tmp/x')?.name)?.emptyDir, '/tmp is writable');

    const service = await getJson<{ spec: { ports: { name: string; port: number; targetPort: string }[] } }>([
      'get',
      'service',
      cpRelease,
      '-n',
      cpNs,
    ]);
    assert.deepEqual(
      service.spec.ports.map((p) => [p.name, p.port, p.targetPort]),
      [
        ['http', 8080, 'http'],
        ['grpc', 9090, 'grpc'],
      ],
    );
    assert.equal(
      (
        await kubectl([
          'get',
          'serviceaccount',
          cpRelease,
          '-n',
          cpNs,
          '-o',
          'jsonpath={.automountServiceAccountToken}',
        ])
      ).trim(),
      'false',
    );
    // The NOTES tell how to read the generated token; that command works, and an upgrade
    // keeps the token.
    const notes = await helmOk(['get', 'notes', cpRelease, '-n', cpNs]);
    const jsonpath = /get secret \S+ -o jsonpath='([^']+)'/.exec(notes)?.[1];
    assert.ok(jsonpath, notes);
    const token = Buffer.from(
      await kubectl(['get', 'secret', cpRelease, '-n', cpNs, '-o', `jsonpath=${jsonpath}`]),
      'base64',
    )
      .toString('utf8')
      .split(':')
      .slice(2)
      .join(':');
    assert.equal(token, config.apiTokens[0]?.token);
    await helmOk([
      'upgrade',
      cpRelease,
      cpChart,
      '-n',
      cpNs,
      '--reuse-values',
      '--set',
      'config.logLevel=debug',
    ]);
    const after = await kubectl(['get', 'secret', cpRelease, '-n', cpNs, '-o', `jsonpath=${jsonpath}`]);
    assert.equal(Buffer.from(after, 'base64').toString('utf8').split(':').slice(2).join(':'), token);
    // The secret key too: a new one would leave every credential sealed with it unreadable.
    // The NOTES' command reads it, and it is the key the replicas run with.
    const keyPath = /get secret \S+ -o jsonpath='(\{\.data\.secret-key\})'/.exec(notes)?.[1];
    assert.ok(keyPath, notes);
    const keyAfter = Buffer.from(
      await kubectl(['get', 'secret', cpRelease, '-n', cpNs, '-o', `jsonpath=${keyPath}`]),
      'base64',
    ).toString('utf8');
    assert.equal(keyAfter, resolved.GITFLEET_SECRET_KEY);
  });

  it("agent: installed as the control plane's command says; its ServiceAccount alone makes a fleet Ready", async () => {
    // Register the cluster: the answer has the bootstrap token and the helm command.
    const reg = await cp.api<{ bootstrapToken: string; helmInstall: string }>('POST', '/api/v1/clusters', {
      name: clusterName,
      labels: { charts: id },
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const words = reg.body.helmInstall.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
    assert.deepEqual(words.slice(0, 2), ['helm', 'install']);
    assert.equal(join(root, words[3] ?? ''), agentChart, 'the command names this chart');
    const sets = new Map<string, string>();
    const setFiles: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const [flag, value = ''] = [words[i], words[i + 1]];
      if (flag === '--set') sets.set(value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1));
      if (flag === '--set-file') setFiles.push(value.slice(0, value.indexOf('=')));
    }
    // Every value the command sets is a value of the chart.
    const values = parse(readFileSync(join(agentChart, 'values.yaml'), 'utf8'));
    for (const key of [...sets.keys(), ...setFiles]) {
      const found = key
        .split('.')
        .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], values);
      assert.ok(found !== undefined, `the printed command sets ${key}, which the chart does not have`);
    }
    assert.equal(sets.get('bootstrapToken'), reg.body.bootstrapToken);
    assert.equal(sets.get('cluster.name'), clusterName);
    assert.deepEqual(setFiles, [], 'the printed command needs no files: it runs as printed');
    assert.equal(Buffer.from(sets.get('controlPlane.caCertBase64') ?? '', 'base64').toString(), cp.caPem);
    assert.equal(sets.get('controlPlane.address'), cp.grpcAddress);

    // Narrowed RBAC: what the fleet holds (namespaces, configmaps, deployments), nothing more;
    // the chart adds Secrets and ConfigMaps in its namespace (credential, inventories).
    const valuesFile = join(work, 'agent-values.yaml');
    writeFileSync(
      valuesFile,
      stringify({
        rbac: {
          clusterAdmin: false,
          rules: [
            {
              apiGroups: [''],
              resources: ['namespaces', 'configmaps'],
              verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
            },
            {
              apiGroups: ['apps'],
              resources: ['deployments'],
              verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
            },
          ],
        },
        agent: { driftIntervalSeconds: 2 },
      }),
    );
    const setArgs = [...sets].flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const out = await helmOk([
      'install',
      agentRelease,
      agentChart,
      '--namespace',
      agentNs,
      '--create-namespace',
      ...setArgs,
      '-f',
      valuesFile,
      '--wait',
      '--timeout',
      '3m',
    ]);
    assert.match(out, /STATUS: deployed/);

    // Its objects.
    const deploy = await getJson<Deployment>(['get', 'deployment', agentRelease, '-n', agentNs]);
    assert.equal(deploy.status?.availableReplicas, 1);
    assert.equal(deploy.metadata.annotations?.['gitfleet.dev/cluster'], clusterName);
    const pod = deploy.spec.template.spec;
    const container = pod.containers[0]!;
    assert.deepEqual(container.args, ['agent']);
    assert.equal(pod.serviceAccountName, agentRelease);
    const bootstrap = await getJson<{ data: Record<string, string> }>([
      'get',
      'secret',
      `${agentRelease}-bootstrap`,
      '-n',
      agentNs,
    ]);
    const decode = (k: string) => Buffer.from(bootstrap.data[k] ?? '', 'base64').toString('utf8');
    assert.equal(decode('bootstrap-token'), reg.body.bootstrapToken);
    assert.equal(decode('ca.crt'), cp.caPem);
    await kubectl(['get', 'serviceaccount', agentRelease, '-n', agentNs]);
    const clusterRole = await getJson<{ rules: { resources: string[] }[] }>([
      'get',
      'clusterrole',
      `${agentRelease}-${agentNs}`,
    ]);
    assert.deepEqual(
      clusterRole.rules.flatMap((r) => r.resources),
      ['namespaces', 'configmaps', 'deployments'],
    );
    await kubectl(['get', 'clusterrolebinding', `${agentRelease}-${agentNs}`]);
    await kubectl(['get', 'role,rolebinding', `${agentRelease}-state`, '-n', agentNs]);

    // A kubeconfig with nothing but a token of the chart's ServiceAccount.
    const token = (
      await kubectl(['create', 'token', agentRelease, '-n', agentNs, '--duration', '1h'])
    ).trim();
    const admin = parse(readFileSync(cluster.kubeconfig, 'utf8'));
    const saKubeconfig = join(work, 'agent.kubeconfig');
    writeFileSync(
      saKubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: cluster.name, cluster: admin.clusters[0].cluster }],
        users: [{ name: agentRelease, user: { token } }],
        contexts: [
          { name: agentRelease, context: { cluster: cluster.name, user: agentRelease, namespace: agentNs } },
        ],
        'current-context': agentRelease,
      }),
    );
    const asAgent = kubectlFor(saKubeconfig, binDir);
    const canI = async (...args: string[]) =>
      (await asAgent(['auth', 'can-i', ...args]).catch(() => 'no')).trim();
    assert.equal(await canI('create', 'secrets', '-n', agentNs), 'yes');
    assert.equal(await canI('create', 'secrets', '-n', 'default'), 'no', 'Secrets only in its namespace');
    assert.equal(await canI('create', 'deployments.apps', '-n', appNs), 'yes');
    assert.equal(await canI('create', 'clusterroles.rbac.authorization.k8s.io'), 'no');

    // The agent process with the Deployment's settings: its env, the fieldRef namespace, and
    // the bootstrap Secret's files; the cluster as that ServiceAccount.
    const files: Record<string, string> = {
      '/etc/gitfleet/bootstrap/bootstrap-token': join(work, 'bootstrap-token'),
      '/etc/gitfleet/bootstrap/ca.crt': join(work, 'bootstrap-ca.crt'),
    };
    writeFileSync(files['/etc/gitfleet/bootstrap/bootstrap-token']!, decode('bootstrap-token'));
    writeFileSync(files['/etc/gitfleet/bootstrap/ca.crt']!, decode('ca.crt'));
    const agentEnv: Record<string, string> = {};
    for (const e of container.env) {
      if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') agentEnv[e.name] = agentNs;
      else {
        assert.equal(e.valueFrom, undefined, `${e.name}: a plain value`);
        agentEnv[e.name] = files[e.value ?? ''] ?? e.value ?? '';
      }
    }
    const mount = container.volumeMounts?.find((m) => m.mountPath === '/etc/gitfleet/bootstrap');
    assert.equal(
      pod.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName,
      `${agentRelease}-bootstrap`,
    );
    const agentConfig = agentConfigFromEnv(agentEnv);
    assert.equal(agentConfig.bootstrapToken, reg.body.bootstrapToken);
    assert.equal(agentConfig.namespace, agentNs);
    agent = startAgentProcess({
      name: `charts-${id}`,
      kubeconfig: saKubeconfig,
      controlPlane: agentConfig.controlPlane,
      caPem: decode('ca.crt'),
      namespace: agentNs,
      env: { ...agentEnv, GITFLEET_HEALTH_INTERVAL_SECONDS: '1' },
    });

    // A fleet for this cluster, from Git.
    await git.createRepo(fleetName, {
      'fleet.yaml': `manifests: ./manifests\nstages:\n  - name: dev\n    selector: { matchLabels: { charts: "${id}" } }\n`,
      'manifests/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${appNs}\n`,
      'manifests/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: ${appNs}\ndata:\n  cluster: "\${cluster.name}"\n`,
      'manifests/web.yaml': webDeployment(appNs, 1),
    });
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleetName,
      repo: git.repoUrl(fleetName),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const head = (await git.log(fleetName))[0]?.sha;
    const ready = await waitFor('the fleet Ready on the cluster', async () => {
      const res = await cp.api<{
        items: { cluster: string; phase: string; appliedRevision: string | null }[];
      }>('GET', `/api/v1/fleets/${fleetName}/status`);
      const s = res.body.items?.find((i) => i.cluster === clusterName);
      return s?.phase === 'Ready' && s.appliedRevision === head ? s : undefined;
    });
    assert.equal(ready.appliedRevision, head);

    // What kubectl shows: the objects, the credential and the inventory in the agent's namespace.
    assert.equal(
      await kubectl(['get', 'configmap', 'web-config', '-n', appNs, '-o', 'jsonpath={.data.cluster}']),
      clusterName,
    );
    const web = await getJson<Deployment>(['get', 'deployment', 'web', '-n', appNs]);
    assert.equal(web.status?.availableReplicas, 1);
    const credential = await getJson<{ data: Record<string, string> }>([
      'get',
      'secret',
      agentConfig.credentialSecret,
      '-n',
      agentNs,
    ]);
    assert.match(Buffer.from(credential.data.credential ?? '', 'base64').toString(), /^gfc_/);
    const inventories = await kubectl([
      'get',
      'configmaps',
      '-n',
      agentNs,
      '-l',
      'gitfleet.dev/inventory',
      '-o',
      'name',
    ]);
    assert.notEqual(inventories.trim(), '', 'an inventory ConfigMap');
    assert.equal(
      (await cp.api<{ connected: boolean }>('GET', `/api/v1/clusters/${clusterName}`)).body.connected,
      true,
    );
  });

  it('helm uninstall removes both releases, cluster-scoped RBAC included', async () => {
    await agent?.stop();
    agent = undefined;
    await helmOk(['uninstall', agentRelease, '-n', agentNs, '--wait', '--timeout', '60s']);
    await helmOk(['uninstall', cpRelease, '-n', cpNs, '--wait', '--timeout', '60s']);
    const left = async (args: string[]) =>
      (await kubectl([...args, '--ignore-not-found', '-o', 'name'])).trim();
    assert.equal(await left(['get', 'deployment', cpRelease, '-n', cpNs]), '');
    assert.equal(await left(['get', 'service,secret', cpRelease, '-n', cpNs]), '');
    assert.equal(await left(['get', 'deployment', agentRelease, '-n', agentNs]), '');
    assert.equal(await left(['get', 'clusterrole,clusterrolebinding', `${agentRelease}-${agentNs}`]), '');
    assert.equal(await left(['get', 'role,rolebinding', `${agentRelease}-state`, '-n', agentNs]), '');
    // What the chart did not create stays: the credential the agent saved (a reinstall reuses
    // it) and the TLS Secret the user made.
    assert.notEqual(await left(['get', 'secret', 'gitfleet-agent-credential', '-n', agentNs]), '');
    assert.notEqual(await left(['get', 'secret', 'gitfleet-tls', '-n', cpNs]), '');
    await kubectl(['delete', 'namespace', cpNs, agentNs, appNs, '--wait=false']);
  });
});
