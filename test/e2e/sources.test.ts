// Helm charts and Kustomize overlays as fleet sources, rendered by the real helm (v4) and
// kustomize (kubectl's) and applied by real agents: the podinfo chart and podinfo's kustomize
// directory from the real-world fixtures, checked with kubectl as a user would.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import type { ManagedProcess } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const fixtures = fileURLToPath(new URL('../fixtures/real-world/', import.meta.url));

/** A fixture directory as repository files under `prefix`. */
function filesOf(dir: string, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full, `${rel}${name}/`);
      else out[`${prefix}${rel}${name}`] = readFileSync(full, 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

interface StatusItem {
  cluster: string;
  stage: string;
  phase: string;
  appliedRevision: string | null;
  objects: { kind: string; name: string; namespace?: string; health: string; reason?: string }[];
}
interface FleetView {
  errors: { code: string; file: string; line?: number; message: string }[];
  lastGoodRevision: string | null;
  head: string | null;
}

describe('Helm and Kustomize sources', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  const agents: ManagedProcess[] = [];
  const dev = env.clusters[0]!;
  const prod = env.clusters[1]!;
  const agentNs = `gitfleet-${id}`;
  const helmNs = `podinfo-${id}`;
  const kustNs = `kust-${id}`;
  const devName = `${dev.name}-${id}`;
  const prodName = `${prod.name}-${id}`;

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
    const logs = agents.map((a) => `--- ${a.name}\n${a.tail(15)}`).join('\n');
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}\n${logs}`);
  };
  const statusOf = async (fleet: string, cluster: string) => {
    const res = await cp.api<{ items: StatusItem[] }>('GET', `/api/v1/fleets/${fleet}/status`);
    return res.body.items.find((i) => i.cluster === cluster);
  };
  const readyAt = (fleet: string, cluster: string, revision: string) =>
    waitFor(`${fleet} Ready on ${cluster} at ${revision.slice(0, 7)}`, async () => {
      const s = await statusOf(fleet, cluster);
      return s?.phase === 'Ready' && s.appliedRevision === revision ? s : undefined;
    });
  const fleetOf = async (fleet: string) => (await cp.api<FleetView>('GET', `/api/v1/fleets/${fleet}`)).body;

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    for (const [cluster, envLabel, region] of [
      [dev, 'dev', 'eu'],
      [prod, 'prod', 'us'],
    ] as const) {
      await kubectlFor(cluster.kubeconfig)(['create', 'namespace', agentNs]);
      const name = `${cluster.name}-${id}`;
      const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name,
        labels: { src: id, env: envLabel, region },
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
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
        helmNs,
        kustNs,
        '--wait=false',
        '--ignore-not-found',
      ]).catch(() => {});
    }
  });

  const helmFleet = (extra = '') => `helm:
  chart: ./chart
  releaseName: podinfo
  namespace: ${helmNs}
  valuesFiles: [chart/values-prod.yaml]
  values:
    ui: { color: "#112233" }
    podAnnotations: { gitfleet.dev/cluster: "\${cluster.name}" }
    hooks: { preInstall: { job: { enabled: true } }, postInstall: { job: { enabled: true } } }
stages:
  - name: dev
    selector: { matchLabels: { src: "${id}", env: dev } }
    helm:
      values: { replicaCount: 1, ui: { message: "dev stage" } }
  - name: prod
    selector: { matchLabels: { src: "${id}", env: prod } }
    helm:
      values: { replicaCount: 2, ui: { message: "prod stage" } }
overrides:
  - name: eu
    selector: { matchLabels: { region: eu } }
    helm:
      values: { ui: { message: "hello from \${cluster.labels.region}" } }
${extra}`;

  it('deploys the podinfo chart from the fleet repository with per-stage values and a per-cluster override', async () => {
    await git.createRepo(`helm-${id}`, {
      'fleet.yaml': helmFleet(),
      ...filesOf(join(fixtures, 'podinfo-chart'), 'chart/'),
    });
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: `helm-${id}`,
      repo: git.repoUrl(`helm-${id}`),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);
    const head = created.body.head!;
    const devStatus = await readyAt(`helm-${id}`, devName, head);
    await readyAt(`helm-${id}`, prodName, head);

    // Helm's test hooks are not applied; every object sits in the release namespace, which the
    // fleet created (helm.createNamespace defaults to true, as --create-namespace).
    assert.ok(
      devStatus.objects.some((o) => o.kind === 'Namespace' && o.name === helmNs),
      JSON.stringify(devStatus.objects),
    );
    assert.ok(!devStatus.objects.some((o) => /test/.test(o.name)), JSON.stringify(devStatus.objects));
    const devKubectl = kubectlFor(dev.kubeconfig);
    // The chart's own hook Jobs ran (kwok completes Job pods) and, as their
    // hook-delete-policy says (hook-succeeded), are gone.
    const hooks = devStatus.objects.filter((o) => o.kind === 'Job').map((o) => `${o.name}: ${o.reason}`);
    assert.deepEqual(hooks.sort(), [
      'podinfo-post-install: HookSucceeded',
      'podinfo-pre-install: HookSucceeded',
    ]);
    assert.equal(
      (await devKubectl(['get', 'jobs', '-n', helmNs, '-o', 'name'])).trim(),
      '',
      'hook Jobs deleted after they succeeded',
    );
    const prodKubectl = kubectlFor(prod.kubeconfig);
    const devDeploy = JSON.parse(
      await devKubectl(['get', 'deployment', 'podinfo', '-n', helmNs, '-o', 'json']),
    );
    const prodDeploy = JSON.parse(
      await prodKubectl(['get', 'deployment', 'podinfo', '-n', helmNs, '-o', 'json']),
    );
    // values-prod.yaml (a values file) turns the HPA on, so replicaCount is its minimum and the
    // Deployment leaves replicas to it.
    const minReplicas = (kubectl: typeof devKubectl) =>
      kubectl(['get', 'hpa', 'podinfo', '-n', helmNs, '-o', 'jsonpath={.spec.minReplicas}']);
    assert.equal(await minReplicas(devKubectl), '1');
    assert.equal(await minReplicas(prodKubectl), '2');
    assert.equal(prodDeploy.status.availableReplicas, prodDeploy.spec.replicas);
    const envOf = (d: {
      spec: { template: { spec: { containers: { env?: { name: string; value: string }[] }[] } } };
    }) => Object.fromEntries((d.spec.template.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    // Order: chart defaults < valuesFiles < values < stage < overrides.
    assert.equal(envOf(devDeploy).PODINFO_UI_MESSAGE, 'hello from eu'); // the override wins
    assert.equal(envOf(prodDeploy).PODINFO_UI_MESSAGE, 'prod stage'); // no override matches prod
    assert.equal(envOf(prodDeploy).PODINFO_UI_COLOR, '#112233'); // values over the values file
    // values-prod.yaml turns on the Redis sub-template; the chart's default leaves it off.
    assert.ok(await prodKubectl(['get', 'deployment', 'podinfo-redis', '-n', helmNs, '-o', 'name']));
    assert.equal(devDeploy.spec.template.metadata.annotations['gitfleet.dev/cluster'], devName);
    assert.equal(prodDeploy.spec.template.metadata.annotations['gitfleet.dev/cluster'], prodName);
    const tests = await devKubectl(['get', 'pods', '-n', helmNs, '-o', 'name']);
    assert.ok(!/test/.test(tests), tests);
  });

  it('a template error is a fleet error with file and line, and every cluster keeps the last good revision', async () => {
    const good = (await fleetOf(`helm-${id}`)).lastGoodRevision!;
    const broken = readFileSync(join(fixtures, 'podinfo-chart/templates/service.yaml'), 'utf8').replace(
      'name: {{ template "podinfo.fullname" . }}',
      'name: {{ .Values.nope.deeper }}',
    );
    const bad = await git.commit(
      `helm-${id}`,
      { 'chart/templates/service.yaml': broken },
      'break the service template',
    );
    await cp.api('POST', `/api/v1/fleets/helm-${id}/sync`);
    const view = await waitFor('the template error', async () => {
      const v = await fleetOf(`helm-${id}`);
      return v.head === bad && v.errors.length > 0 ? v : undefined;
    });
    const error = view.errors[0]!;
    assert.equal(error.code, 'TemplateError', JSON.stringify(view.errors));
    assert.equal(error.file, 'chart/templates/service.yaml');
    assert.equal(error.line, 5);
    assert.match(error.message, /nope/);
    assert.equal(view.lastGoodRevision, good);
    assert.equal((await statusOf(`helm-${id}`, devName))?.appliedRevision, good);

    // Values that the chart's values.schema.json refuses: the same, naming the schema.
    const schema = JSON.stringify({ type: 'object', properties: { replicaCount: { type: 'integer' } } });
    const schemaBad = await git.commit(
      `helm-${id}`,
      {
        'chart/templates/service.yaml': readFileSync(
          join(fixtures, 'podinfo-chart/templates/service.yaml'),
          'utf8',
        ),
        'chart/values.schema.json': schema,
        'fleet.yaml': helmFleet().replace('replicaCount: 1,', 'replicaCount: "one",'),
      },
      'a value of the wrong type',
    );
    await cp.api('POST', `/api/v1/fleets/helm-${id}/sync`);
    const schemaView = await waitFor('the schema error', async () => {
      const v = await fleetOf(`helm-${id}`);
      return v.head === schemaBad && v.errors.length > 0 ? v : undefined;
    });
    assert.equal(schemaView.errors[0]!.code, 'ValuesSchema', JSON.stringify(schemaView.errors));
    assert.equal(schemaView.errors[0]!.file, 'chart/values.schema.json');
    assert.match(schemaView.errors[0]!.message, /replicaCount/);
    assert.equal(schemaView.lastGoodRevision, good);
  });

  it('deploys a Kustomize overlay of podinfo: patch, namePrefix and image tag as kustomize build does them', async () => {
    const overlay = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ${kustNs}
namePrefix: shop-
resources:
  - namespace.yaml
  - ../../base
images:
  - name: ghcr.io/stefanprodan/podinfo
    newTag: 6.9.0
patches:
  - path: patch.yaml
labels:
  - pairs: { stage: "\${stage}" }
`;
    const patch = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  template:
    spec:
      containers:
        - name: podinfod
          env:
            - name: PODINFO_UI_MESSAGE
              value: from the overlay on \${cluster.name}
`;
    const head = await git.createRepo(`kust-${id}`, {
      'fleet.yaml': `kustomize: { path: ./overlays/dev }
stages:
  - name: dev
    selector: { matchLabels: { src: "${id}", env: dev } }
`,
      ...filesOf(join(fixtures, 'podinfo'), 'base/'),
      'overlays/dev/kustomization.yaml': overlay,
      'overlays/dev/patch.yaml': patch,
      'overlays/dev/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${kustNs}\n`,
    });
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: `kust-${id}`,
      repo: git.repoUrl(`kust-${id}`),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);
    await readyAt(`kust-${id}`, devName, head);
    const kubectl = kubectlFor(dev.kubeconfig);
    const deploy = JSON.parse(
      await kubectl(['get', 'deployment', 'shop-podinfo', '-n', kustNs, '-o', 'json']),
    );
    const container = deploy.spec.template.spec.containers[0];
    assert.equal(container.image, 'ghcr.io/stefanprodan/podinfo:6.9.0');
    assert.equal(
      container.env.find((e: { name: string }) => e.name === 'PODINFO_UI_MESSAGE')?.value,
      `from the overlay on ${devName}`,
    );
    assert.equal(deploy.metadata.labels.stage, 'dev');
    assert.ok(await kubectl(['get', 'hpa', 'shop-podinfo', '-n', kustNs, '-o', 'name']));
    assert.ok(await kubectl(['get', 'service', 'shop-podinfo', '-n', kustNs, '-o', 'name']));

    // A remote base is refused before anything is fetched, naming the file; the fleet keeps running.
    const remote = await git.commit(
      `kust-${id}`,
      {
        'overlays/dev/kustomization.yaml': overlay.replace(
          '../../base',
          'github.com/stefanprodan/podinfo//kustomize?ref=6.9.0',
        ),
      },
      'use a remote base',
    );
    await cp.api('POST', `/api/v1/fleets/kust-${id}/sync`);
    const view = await waitFor('the remote base error', async () => {
      const v = await fleetOf(`kust-${id}`);
      return v.head === remote && v.errors.length > 0 ? v : undefined;
    });
    assert.equal(view.errors[0]!.code, 'RemoteBase', JSON.stringify(view.errors));
    assert.equal(view.errors[0]!.file, 'overlays/dev/kustomization.yaml');
    assert.equal(view.lastGoodRevision, head);

    // A path leaving the fleet directory: the same.
    const outside = await git.commit(
      `kust-${id}`,
      { 'overlays/dev/kustomization.yaml': overlay.replace('../../base', '../../../../etc') },
      'reach outside',
    );
    await cp.api('POST', `/api/v1/fleets/kust-${id}/sync`);
    const outsideView = await waitFor('the outside-path error', async () => {
      const v = await fleetOf(`kust-${id}`);
      return v.head === outside && v.errors.length > 0 ? v : undefined;
    });
    assert.equal(outsideView.errors[0]!.code, 'OutsideFleetPath', JSON.stringify(outsideView.errors));
    assert.equal((await statusOf(`kust-${id}`, devName))?.appliedRevision, head);
  });
});
