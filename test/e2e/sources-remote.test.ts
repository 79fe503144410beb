// Helm charts from an HTTP Helm repository and an OCI registry, both real, with credentials:
// a version range resolved per commit, a chart version bump that reaches dev with the next
// commit and prod by promotion, a rollback, and the failures a repository can cause.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startAgentProcess } from '../src/agent-process.ts';
import { publishChart, pushChart } from '../src/chart-repos.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import { freePort, type ManagedProcess } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const chartDir = fileURLToPath(new URL('../fixtures/real-world/podinfo-chart', import.meta.url));
// A chart name of this run's own, so versions published here meet no other test's.
const chartName = `podinfo-${id}`;

interface FleetView {
  errors: { code: string; file: string; message: string }[];
  head: string | null;
  lastGoodRevision: string | null;
  chartVersion: string | null;
  stages: { name: string; revision: string | null; chartVersion: string | null }[];
}

describe('Helm charts from a repository and a registry', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  const agents: ManagedProcess[] = [];
  const dev = env.clusters[0]!;
  const prod = env.clusters[1]!;
  const devName = `${dev.name}-${id}`;
  const prodName = `${prod.name}-${id}`;
  const agentNs = `gitfleet-${id}`;
  const repoNs = `repo-${id}`;
  const ociNs = `oci-${id}`;
  const depNs = `deps-${id}`;
  const repoFleet = `repo-${id}`;

  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    timeoutMs = 90_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      last = await probe();
      if (last) return last as T;
      await sleep(300);
    }
    throw new Error(
      `timed out waiting for ${what}; last: ${JSON.stringify(last)}\n${agents.map((a) => a.tail(10)).join('\n')}`,
    );
  };
  const fleetOf = async (fleet: string) => (await cp.api<FleetView>('GET', `/api/v1/fleets/${fleet}`)).body;
  const readyAt = (fleet: string, cluster: string, revision: string) =>
    waitFor(`${fleet} Ready on ${cluster} at ${revision.slice(0, 7)}`, async () => {
      const res = await cp.api<{
        items: { cluster: string; phase: string; appliedRevision: string | null }[];
      }>('GET', `/api/v1/fleets/${fleet}/status`);
      const s = res.body.items.find((i) => i.cluster === cluster);
      return s?.phase === 'Ready' && s.appliedRevision === revision;
    });
  /** The chart version a cluster runs, as the chart's own label says. */
  const chartLabel = async (cluster: typeof dev, ns: string) =>
    kubectlFor(cluster.kubeconfig)([
      'get',
      'deployment',
      'podinfo',
      '-n',
      ns,
      '-o',
      "jsonpath={.metadata.labels['helm\\.sh/chart']}",
    ]);

  let first = '';
  const fleetYaml = (note: string, prodRevision?: string) => `# ${note}
helm:
  repo: ${env.helmRepo.url}
  chart: ${chartName}
  version: ">=6.14.0 <7.0.0"
  releaseName: podinfo
  namespace: ${repoNs}
  values: { fullnameOverride: podinfo }
stages:
  - name: dev
    selector: { matchLabels: { remote: "${id}", env: dev } }
  - name: prod
    selector: { matchLabels: { remote: "${id}", env: prod } }
${prodRevision ? `    revision: ${prodRevision}\n` : ''}    requires: dev
`;

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    for (const [cluster, envLabel] of [
      [dev, 'dev'],
      [prod, 'prod'],
    ] as const) {
      await kubectlFor(cluster.kubeconfig)(['create', 'namespace', agentNs]);
      const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name: `${cluster.name}-${id}`,
        labels: { remote: id, env: envLabel },
      });
      agents.push(
        startAgentProcess({
          name: cluster.name,
          kubeconfig: cluster.kubeconfig,
          controlPlane: cp.grpcAddress,
          caPem: cp.caPem,
          namespace: agentNs,
          bootstrapToken: reg.body.bootstrapToken,
        }),
      );
    }
  });

  after(async () => {
    for (const a of agents) await a.stop();
    await cp?.stop();
    await git?.stop();
    for (const c of [dev, prod]) {
      await kubectlFor(c.kubeconfig)([
        'delete',
        'namespace',
        agentNs,
        repoNs,
        ociNs,
        depNs,
        '--wait=false',
        '--ignore-not-found',
      ]).catch(() => {});
    }
  });

  it('resolves a version range from an HTTP repository with basic auth; the credentials never come back', async () => {
    await publishChart(env.helmRepo, chartDir, { name: chartName, version: '6.14.1' });
    first = await git.createRepo(repoFleet, { 'fleet.yaml': fleetYaml('first') });
    // prod starts pinned to the first commit.
    await git.commit(repoFleet, { 'fleet.yaml': fleetYaml('first', first) }, 'pin prod');
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: repoFleet,
      repo: git.repoUrl(repoFleet),
      credentials: { username: git.username, password: git.password },
      chartCredentials: { username: env.helmRepo.username, password: env.helmRepo.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);
    assert.ok(!JSON.stringify(created.body).includes(env.helmRepo.password));
    await readyAt(repoFleet, devName, created.body.head!);
    await readyAt(repoFleet, prodName, first);
    assert.equal(await chartLabel(dev, repoNs), `${chartName}-6.14.1`);
    assert.equal(await chartLabel(prod, repoNs), `${chartName}-6.14.1`);
    const view = await fleetOf(repoFleet);
    assert.equal(view.chartVersion, '6.14.1');
  });

  it('a newer chart in the range reaches dev with the next commit and prod by promotion; a rollback restores it', async () => {
    await publishChart(env.helmRepo, chartDir, { name: chartName, version: '6.15.0' });
    const before = await fleetOf(repoFleet);
    const next = await git.commit(repoFleet, { 'fleet.yaml': fleetYaml('second', first) }, 'a new commit');
    await cp.api('POST', `/api/v1/fleets/${repoFleet}/sync`);
    await readyAt(repoFleet, devName, next);
    assert.equal(await chartLabel(dev, repoNs), `${chartName}-6.15.0`);
    // prod is pinned: its commit keeps the chart version it resolved to.
    assert.equal(await chartLabel(prod, repoNs), `${chartName}-6.14.1`);
    const view = await fleetOf(repoFleet);
    const stage = (name: string) => view.stages.find((s) => s.name === name)!;
    assert.equal(stage('dev').chartVersion, '6.15.0');
    assert.equal(stage('prod').chartVersion, '6.14.1');
    assert.equal(stage('prod').revision, before.stages.find((s) => s.name === 'prod')!.revision);

    const promoted = await cp.api<{ revision: string }>('POST', `/api/v1/fleets/${repoFleet}/promotions`, {
      stage: 'prod',
    });
    assert.equal(promoted.status, 201, JSON.stringify(promoted.body));
    assert.equal(promoted.body.revision, next);
    await readyAt(repoFleet, prodName, next);
    assert.equal(await chartLabel(prod, repoNs), `${chartName}-6.15.0`);

    const rolledBack = await cp.api<{ revision: string }>('POST', `/api/v1/fleets/${repoFleet}/rollbacks`, {
      stage: 'prod',
    });
    assert.equal(rolledBack.status, 201, JSON.stringify(rolledBack.body));
    await readyAt(repoFleet, prodName, rolledBack.body.revision);
    assert.equal(await chartLabel(prod, repoNs), `${chartName}-6.14.1`);
  });

  it('pulls a chart from an OCI registry with credentials', async () => {
    const pushed = await pushChart(env.oci, chartDir, { name: chartName, version: '6.14.1' });
    const head = await git.createRepo(`oci-${id}`, {
      'fleet.yaml': `helm:
  chart: ${pushed.reference}
  version: ~6.14.0
  plainHttp: true
  releaseName: podinfo
  namespace: ${ociNs}
  values: { fullnameOverride: podinfo, replicaCount: 2 }
stages:
  - name: dev
    selector: { matchLabels: { remote: "${id}", env: dev } }
`,
    });
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: `oci-${id}`,
      repo: git.repoUrl(`oci-${id}`),
      credentials: { username: git.username, password: git.password },
      chartCredentials: { username: env.oci.username, password: env.oci.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);
    await readyAt(`oci-${id}`, devName, head);
    assert.equal(await chartLabel(dev, ociNs), `${chartName}-6.14.1`);
    const replicas = await kubectlFor(dev.kubeconfig)([
      'get',
      'deployment',
      'podinfo',
      '-n',
      ociNs,
      '-o',
      'jsonpath={.spec.replicas}',
    ]);
    assert.equal(replicas, '2');
  });

  it('builds the dependencies a chart in Git declares but does not vendor: from the repository (with credentials) and by file://', async () => {
    const depFleet = `deps-${id}`;
    const head = await git.createRepo(depFleet, {
      'fleet.yaml': `helm:
  chart: ./umbrella
  namespace: ${depNs}
  values:
    web: { fullnameOverride: web, replicaCount: 1 }
    notes: { text: "from the umbrella" }
stages:
  - name: dev
    selector: { matchLabels: { remote: "${id}", env: dev } }
`,
      'umbrella/Chart.yaml': `apiVersion: v2
name: umbrella
version: 1.0.0
dependencies:
  - name: ${chartName}
    alias: web
    version: "~6.14.0"
    repository: ${env.helmRepo.url}
  - name: notes
    version: 0.1.0
    repository: file://../notes
`,
      'umbrella/templates/own.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: umbrella }\ndata: { release: "{{ .Release.Name }}" }\n',
      'notes/Chart.yaml': 'apiVersion: v2\nname: notes\nversion: 0.1.0\n',
      'notes/templates/notes.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes }\ndata: { text: {{ .Values.text | quote }} }\n',
    });
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: depFleet,
      repo: git.repoUrl(depFleet),
      credentials: { username: git.username, password: git.password },
      chartCredentials: { username: env.helmRepo.username, password: env.helmRepo.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);
    await readyAt(depFleet, devName, head);
    const kubectl = kubectlFor(dev.kubeconfig);
    // The subchart from the repository, at the newest version of its range (6.15.0 is out of
    // it), named by its alias as Helm names an aliased subchart.
    const label = await kubectl([
      'get',
      'deployment',
      'web',
      '-n',
      depNs,
      '-o',
      "jsonpath={.metadata.labels['helm\\.sh/chart']}",
    ]);
    assert.equal(label, 'web-6.14.1');
    assert.equal(
      await kubectl(['get', 'configmap', 'notes', '-n', depNs, '-o', 'jsonpath={.data.text}']),
      'from the umbrella',
    );
    assert.equal(
      (await kubectl(['get', 'configmap', 'umbrella', '-n', depNs, '-o', 'name'])).trim(),
      'configmap/umbrella',
    );
  });

  it('builds a dependency from an OCI registry that needs the fleet chart credentials', async () => {
    const depFleet = `ocideps-${id}`;
    const depNamespace = `ocideps-${id}`;
    await pushChart(env.oci, chartDir, { name: chartName, version: '6.14.1' });
    const head = await git.createRepo(depFleet, {
      'fleet.yaml': `helm:
  chart: ./umbrella
  namespace: ${depNamespace}
  plainHttp: true
  values:
    web: { fullnameOverride: ociweb, replicaCount: 1 }
stages:
  - name: dev
    selector: { matchLabels: { remote: "${id}", env: dev } }
`,
      'umbrella/Chart.yaml': `apiVersion: v2
name: umbrella
version: 1.0.0
dependencies:
  - name: ${chartName}
    alias: web
    version: "6.14.1"
    repository: ${env.oci.url}/charts
`,
    });
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: depFleet,
      repo: git.repoUrl(depFleet),
      credentials: { username: git.username, password: git.password },
      chartCredentials: { username: env.oci.username, password: env.oci.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);
    await readyAt(depFleet, devName, head);
    const label = await kubectlFor(dev.kubeconfig)([
      'get',
      'deployment',
      'ociweb',
      '-n',
      depNamespace,
      '-o',
      "jsonpath={.metadata.labels['helm\\.sh/chart']}",
    ]);
    assert.equal(label, 'web-6.14.1');

    // Without the registry's password the dependency cannot be fetched: a fleet error that
    // names the chart and never the password.
    const wrong = `wrong-${id}-secret`;
    const refusedFleet = `ocideps-bad-${id}`;
    await git.createRepo(refusedFleet, {
      'fleet.yaml': (await git.readFile(depFleet, 'fleet.yaml')).replace(depNamespace, `${depNamespace}-bad`),
      'umbrella/Chart.yaml': await git.readFile(depFleet, 'umbrella/Chart.yaml'),
    });
    const refused = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: refusedFleet,
      repo: git.repoUrl(refusedFleet),
      credentials: { username: git.username, password: git.password },
      chartCredentials: { username: env.oci.username, password: wrong },
    });
    assert.equal(refused.status, 201, JSON.stringify(refused.body));
    const errors = JSON.stringify(refused.body.errors);
    assert.match(errors, /RepositoryUnauthorized/);
    assert.match(errors, /umbrella\/Chart\.yaml/);
    assert.doesNotMatch(errors, new RegExp(wrong));
  });

  it('refused credentials, a missing chart or version, and a repository that is down are fleet errors without secrets', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const cases: {
      name: string;
      helm: string;
      chartCredentials: { username: string; password: string };
      code: string;
    }[] = [
      {
        name: `badauth-${id}`,
        helm: `repo: ${env.helmRepo.url}\n  chart: ${chartName}`,
        chartCredentials: { username: env.helmRepo.username, password: `wrong-${id}-secret` },
        code: 'RepositoryUnauthorized',
      },
      {
        name: `badoci-${id}`,
        helm: `chart: ${env.oci.url}/charts/${chartName}\n  plainHttp: true`,
        chartCredentials: { username: env.oci.username, password: `wrong-${id}-secret` },
        code: 'RepositoryUnauthorized',
      },
      {
        name: `noversion-${id}`,
        helm: `repo: ${env.helmRepo.url}\n  chart: ${chartName}\n  version: 9.9.9`,
        chartCredentials: { username: env.helmRepo.username, password: env.helmRepo.password },
        code: 'ChartNotFound',
      },
      {
        name: `nochart-${id}`,
        helm: `chart: ${env.oci.url}/charts/absent-${id}\n  plainHttp: true\n  version: 1.0.0`,
        chartCredentials: { username: env.oci.username, password: env.oci.password },
        code: 'ChartNotFound',
      },
      {
        name: `down-${id}`,
        helm: `repo: ${down}\n  chart: ${chartName}`,
        chartCredentials: { username: 'u', password: `p-${id}-secret` },
        code: 'RepositoryUnavailable',
      },
    ];
    for (const c of cases) {
      await git.createRepo(c.name, {
        'fleet.yaml': `helm:\n  ${c.helm}\nstages:\n  - name: dev\n    selector: { matchLabels: { remote: "${id}", env: dev } }\n`,
      });
      const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
        name: c.name,
        repo: git.repoUrl(c.name),
        credentials: { username: git.username, password: git.password },
        chartCredentials: c.chartCredentials,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const error = created.body.errors.find((e) => e.code === c.code);
      assert.ok(error, `${c.name}: ${JSON.stringify(created.body.errors)}`);
      assert.equal(error.file, 'fleet.yaml');
      assert.equal(created.body.lastGoodRevision, null);
      assert.ok(
        !JSON.stringify(created.body).includes(c.chartCredentials.password),
        `${c.name} leaks the password`,
      );
    }
  });
});
