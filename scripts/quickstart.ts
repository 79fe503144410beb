// `make up`: the control plane with agents and a working fleet, on local defaults.
//
//   node scripts/quickstart.ts [--clusters N] [--kubeconfig FILE [--context NAME]] [--once]
//
// Starts Redis (AOF), a Git server holding the example fleets (examples/quickstart, plain
// YAML; examples/quickstart-helm, the podinfo chart from a local Helm repository, which is
// also pushed to a local OCI registry), the control plane (REST on :8080, gRPC/TLS on :9090, or free ports when those are taken),
// N local Kubernetes clusters (real kube-apiservers, default 2: dev-1 and prod-1) each with
// an agent, registers them with labels, creates the fleets, waits until they are Ready, and
// prints the URLs and next commands. Ctrl-C stops everything it started.
//
// --kubeconfig uses a cluster you already have (one agent, labelled env=dev) instead of
// local ones. --once stops after everything is Ready (used by the quick-start test).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startAgentProcess } from '../test/src/agent-process.ts';
import { publishChart, pushChart, startHelmRepository, startOciRegistry } from '../test/src/chart-repos.ts';
import { startGitServer } from '../test/src/git-server.ts';
import { startKubeClusters } from '../test/src/kube/clusters.ts';
import { freePort, type ManagedProcess, startProcess, waitUntil } from '../test/src/process.ts';
import { startRedis } from '../test/src/redis.ts';
import { cachedBinDir } from '../test/src/toolchain.ts';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '2' },
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    once: { type: 'boolean', default: false },
  },
});

const say = (line: string) => process.stdout.write(`${line}\n`);
const stops: (() => Promise<void>)[] = [];
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\nstopping everything the quick start started ...');
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
  process.exit(code);
}
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

async function portOr(preferred: number): Promise<number> {
  const free = await new Promise<boolean>((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(preferred, '0.0.0.0', () => s.close(() => done(true)));
  });
  return free ? preferred : freePort();
}

/**
 * The control plane's GITFLEET_SECRET_KEY, made once and kept in the quick start's directory:
 * it refuses to start without one, and credentials it sealed open only with the same key.
 */
function secretKey(dir: string): string {
  const file = join(dir, 'secret-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

try {
  const dataDir = join(root, '.gitfleet', 'quickstart');
  mkdirSync(dataDir, { recursive: true });

  // 1. Redis and the Git server with the example fleet
  const redis = await startRedis({ aof: true });
  stops.push(() => redis.stop());
  const git = await startGitServer({ username: 'gitfleet', password: 'gitfleet' });
  stops.push(() => git.stop());
  const filesOf = (exampleDir: string) => {
    const files: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else files[relative(exampleDir, full)] = readFileSync(full, 'utf8');
      }
    };
    walk(exampleDir);
    return files;
  };
  const files = filesOf(join(root, 'examples', 'quickstart'));
  const first = await git.createRepo('quickstart', files, { message: 'example fleet' });
  // prod starts pinned to the first commit; promotions move the pin.
  const pinned = files['fleet.yaml']!.replace(
    '    requires: dev',
    `    revision: ${first}\n    requires: dev`,
  );
  await git.commit('quickstart', { 'fleet.yaml': pinned }, 'pin prod to the first release');

  // The chart of the Helm fleet, in a Helm repository and an OCI registry (the real helm
  // package / repo index / push), and the Helm fleet's repository naming the first.
  const podinfoChart = join(root, 'test', 'fixtures', 'real-world', 'podinfo-chart');
  const charts = await startHelmRepository();
  stops.push(() => charts.stop());
  const published = await publishChart(charts, podinfoChart);
  const oci = await startOciRegistry();
  stops.push(() => oci.stop());
  const pushed = await pushChart(oci, podinfoChart);
  const helmFiles = filesOf(join(root, 'examples', 'quickstart-helm'));
  helmFiles['fleet.yaml'] = helmFiles['fleet.yaml']!.replace(/^ {2}repo: .*$/m, `  repo: ${charts.url}`);
  const firstHelm = await git.createRepo('quickstart-helm', helmFiles, { message: 'example Helm fleet' });
  await git.commit(
    'quickstart-helm',
    {
      'fleet.yaml': helmFiles['fleet.yaml']!.replace(
        '    requires: dev',
        `    revision: ${firstHelm}\n    requires: dev`,
      ),
    },
    'pin prod to the first release',
  );

  // 2. The control plane, as its own process
  const httpPort = await portOr(8080);
  const grpcPort = await portOr(9090);
  const adminToken = 'gitfleet-quickstart-admin-token';
  const cpDir = join(dataDir, 'control-plane');
  const controlPlane: ManagedProcess = startProcess(
    'control plane',
    process.execPath,
    [join(root, 'control-plane/src/server.ts')],
    {
      logFile: join(dataDir, 'control-plane.log'),
      env: {
        ...process.env,
        GITFLEET_REDIS_URL: redis.url,
        GITFLEET_HTTP_HOST: '127.0.0.1',
        GITFLEET_HTTP_PORT: String(httpPort),
        GITFLEET_GRPC_HOST: '127.0.0.1',
        GITFLEET_GRPC_PORT: String(grpcPort),
        GITFLEET_API_TOKENS: `admin:admin:${adminToken}`,
        GITFLEET_SECRET_KEY: secretKey(dataDir),
        GITFLEET_WEBHOOK_SECRET: 'gitfleet-quickstart-webhook',
        GITFLEET_DATA_DIR: cpDir,
        GITFLEET_POLL_INTERVAL_SECONDS: '10',
        GITFLEET_HELM_PATH: join(cachedBinDir(), 'helm'),
        GITFLEET_KUBECTL_PATH: join(cachedBinDir(), 'kubectl'),
      },
    },
  );
  stops.push(() => controlPlane.stop());
  const server = `http://127.0.0.1:${httpPort}`;
  await waitUntil('the control plane to be ready', async () => (await fetch(`${server}/readyz`)).ok, {
    proc: controlPlane,
    timeoutMs: 30_000,
  });
  const caPem = readFileSync(join(cpDir, 'grpc-tls.crt'), 'utf8');
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as T & { code?: string; message?: string };
    if (!res.ok) throw new Error(`${method} ${path}: ${json.code}: ${json.message}`);
    return json;
  };

  // 3. Clusters and their agents
  const targets: { name: string; labels: Record<string, string>; kubeconfig: string }[] = [];
  if (values.kubeconfig) {
    targets.push({ name: 'my-cluster', labels: { env: 'dev' }, kubeconfig: resolve(values.kubeconfig) });
  } else {
    const count = Number(values.clusters);
    const names = Array.from({ length: count }, (_, i) =>
      i === count - 1 && count > 1 ? 'prod-1' : `dev-${i + 1}`,
    );
    say(`starting ${count} local Kubernetes clusters (etcd, kube-apiserver, controllers, kwok) ...`);
    const kube = await startKubeClusters({ count, names });
    stops.push(() => kube.stop());
    for (const c of kube.clusters) {
      targets.push({
        name: c.name,
        labels: { env: c.name.startsWith('prod') ? 'prod' : 'dev' },
        kubeconfig: c.kubeconfig,
      });
    }
  }
  for (const t of targets) {
    const reg = await api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: t.name,
      labels: t.labels,
    });
    const agent = startAgentProcess({
      name: t.name,
      kubeconfig: t.kubeconfig,
      controlPlane: `127.0.0.1:${grpcPort}`,
      caPem,
      namespace: 'gitfleet-system',
      bootstrapToken: reg.bootstrapToken,
      ...(values.context ? { context: values.context } : {}),
    });
    stops.push(() => agent.stop());
  }

  // 4. The fleets
  await api('POST', '/api/v1/fleets', {
    name: 'quickstart',
    repo: git.repoUrl('quickstart'),
    credentials: { username: git.username, password: git.password },
  });
  await api('POST', '/api/v1/fleets', {
    name: 'quickstart-helm',
    repo: git.repoUrl('quickstart-helm'),
    credentials: { username: git.username, password: git.password },
    chartCredentials: { username: charts.username, password: charts.password },
  });
  say('waiting for the fleets to be Ready on every cluster ...');
  for (const fleet of ['quickstart', 'quickstart-helm']) {
    await waitUntil(
      `the ${fleet} fleet to be Ready everywhere`,
      async () => {
        const status = await api<{ items: { phase: string }[] }>('GET', `/api/v1/fleets/${fleet}/status`);
        return status.items.length === targets.length && status.items.every((i) => i.phase === 'Ready');
      },
      { timeoutMs: 180_000, intervalMs: 500, proc: controlPlane },
    );
  }

  const cloneUrl = git.repoUrl('quickstart').replace('://', `://${git.username}:${git.password}@`);
  const lines = [
    '',
    'gitfleet is running.',
    '',
    `  Dashboard    ${server}/   (sign in with the admin token)`,
    `  REST API     ${server}   (admin token: ${adminToken})`,
    `  OpenAPI      ${server}/openapi.json`,
    `  gRPC (TLS)   127.0.0.1:${grpcPort}   CA: ${join(cpDir, 'grpc-tls.crt')}`,
    `  Git          ${cloneUrl}`,
    `  Git (Helm)   ${git.repoUrl('quickstart-helm').replace('://', `://${git.username}:${git.password}@`)}`,
    `  Helm repo    ${charts.url}   (user ${charts.username}, password ${charts.password}; ${published.name} ${published.version})`,
    `  OCI registry ${oci.url}   (user ${oci.username}, password ${oci.password}; ${pushed.reference}, plain HTTP)`,
    `  Redis        ${redis.url}`,
    ...targets.map(
      (t) =>
        `  cluster      ${t.name} ${JSON.stringify(t.labels)}   kubectl --kubeconfig ${t.kubeconfig} get all -A`,
    ),
    '',
    'Next (in a shell with Node 24 on PATH: `. scripts/node-env.sh`):',
    `  npx gitfleet login --server ${server} --token ${adminToken}`,
    '  npx gitfleet fleet status quickstart',
    '  npx gitfleet fleet get quickstart-helm      # the Helm fleet: source, chart version per stage',
    `  git clone ${cloneUrl} && cd quickstart   # edit manifests/config.yaml, commit, git push`,
    '  npx gitfleet fleet sync quickstart        # or wait up to 10 s for the next poll',
    '  npx gitfleet promote quickstart prod --wait',
    '',
    `Logs: ${dataDir}. Ctrl-C stops everything.`,
  ];
  say(lines.join('\n'));
  writeFileSync(
    join(dataDir, 'env'),
    `GITFLEET_SERVER=${server}\nGITFLEET_TOKEN=${adminToken}\nGITFLEET_GIT_URL=${cloneUrl}\n`,
  );
  if (values.once) await stopAll(0);
  for (;;) await sleep(60_000);
} catch (err) {
  process.stderr.write(`quick start failed: ${(err as Error).message}\n`);
  await stopAll(1);
}
