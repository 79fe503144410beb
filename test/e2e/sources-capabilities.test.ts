// A chart renders per cluster against what that cluster serves, as `helm install` run against
// it would: the agent reports its Kubernetes version and discovery summary, and a chart that
// adds a ServiceMonitor only where monitoring.coreos.com/v1 exists does so only there. A CRD
// installed later shows up after the agent's next reconnect and renders the fleet again.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import type { ManagedProcess } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');

// The ServiceMonitor CRD's identity as prometheus-operator ships it; its schema does not
// matter to discovery, so it is left open.
const SERVICE_MONITOR_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: { kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;

const CHART = {
  'chart/Chart.yaml': 'apiVersion: v2\nname: probe\nversion: 0.1.0\n',
  'chart/templates/configmap.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: capabilities
data:
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  hasAppsV1: {{ .Capabilities.APIVersions.Has "apps/v1/Deployment" | quote }}
  hasServiceMonitor: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}
`,
  'chart/templates/servicemonitor.yaml': `{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: probe
spec:
  selector: { matchLabels: { app: probe } }
  endpoints: [{ port: http }]
{{- end }}
`,
};

interface StatusItem {
  cluster: string;
  phase: string;
  appliedRevision: string | null;
  objects: { kind: string; name: string }[];
}

describe('Helm capabilities per cluster', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  const agents = new Map<string, ManagedProcess>();
  const withCrd = env.clusters[1]!;
  const without = env.clusters[0]!;
  const agentNs = `gitfleet-${id}`;
  const ns = `caps-${id}`;
  const fleet = `caps-${id}`;
  const nameOf = (c: { name: string }) => `${c.name}-${id}`;

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> => {
    const deadline = Date.now() + 90_000;
    let last: unknown;
    while (Date.now() < deadline) {
      last = await probe();
      if (last) return last as T;
      await sleep(300);
    }
    const logs = [...agents.values()].map((a) => `--- ${a.name}\n${a.tail(15)}`).join('\n');
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}\n${logs}`);
  };
  const statusOn = async (cluster: string) =>
    (await cp.api<{ items: StatusItem[] }>('GET', `/api/v1/fleets/${fleet}/status`)).body.items.find(
      (i) => i.cluster === cluster,
    );
  const startAgent = (cluster: typeof withCrd, bootstrapToken?: string) => {
    agents.set(
      cluster.name,
      startAgentProcess({
        name: cluster.name,
        kubeconfig: cluster.kubeconfig,
        controlPlane: cp.grpcAddress,
        caPem: cp.caPem,
        namespace: agentNs,
        ...(bootstrapToken ? { bootstrapToken } : {}),
      }),
    );
  };
  const installCrd = async (cluster: typeof withCrd) => {
    const kubectl = kubectlFor(cluster.kubeconfig);
    await kubectl(['apply', '-f', '-'], SERVICE_MONITOR_CRD);
    await kubectl(['wait', '--for=condition=Established', 'crd/servicemonitors.monitoring.coreos.com']);
  };

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    await installCrd(withCrd);
    for (const cluster of [without, withCrd]) {
      const kubectl = kubectlFor(cluster.kubeconfig);
      // A previous run may have left the CRD on the cluster that must not have it.
      if (cluster === without) {
        await kubectl([
          'delete',
          'crd',
          'servicemonitors.monitoring.coreos.com',
          '--ignore-not-found',
          '--wait',
        ]);
      }
      await kubectl(['create', 'namespace', agentNs]);
      const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name: nameOf(cluster),
        labels: { caps: id },
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      startAgent(cluster, reg.body.bootstrapToken);
    }
  });

  after(async () => {
    for (const a of agents.values()) await a.stop();
    await cp?.stop();
    await git?.stop();
    for (const c of [without, withCrd]) {
      const kubectl = kubectlFor(c.kubeconfig);
      await kubectl(['delete', 'namespace', agentNs, ns, '--wait=false', '--ignore-not-found']).catch(
        () => {},
      );
      await kubectl(['delete', 'crd', 'servicemonitors.monitoring.coreos.com', '--ignore-not-found']).catch(
        () => {},
      );
    }
  });

  it('renders the ServiceMonitor only where its CRD is served, and where it is installed later', async () => {
    const head = await git.createRepo(fleet, {
      'fleet.yaml': `helm:\n  chart: ./chart\n  namespace: ${ns}\nstages:\n  - name: all\n    selector: { matchLabels: { caps: "${id}" } }\n`,
      ...CHART,
    });
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    for (const cluster of [without, withCrd]) {
      await waitFor(`Ready on ${cluster.name}`, async () => {
        const s = await statusOn(nameOf(cluster));
        return s?.phase === 'Ready' && s.appliedRevision === head ? s : undefined;
      });
    }
    const config = async (cluster: typeof withCrd) =>
      JSON.parse(
        await kubectlFor(cluster.kubeconfig)([
          'get',
          'configmap',
          'capabilities',
          '-n',
          ns,
          '-o',
          'jsonpath={.data}',
        ]),
      ) as Record<string, string>;
    const serverVersion = async (cluster: typeof withCrd) =>
      (
        JSON.parse(await kubectlFor(cluster.kubeconfig)(['version', '-o', 'json'])) as {
          serverVersion: { gitVersion: string };
        }
      ).serverVersion.gitVersion;

    // Both clusters: their own Kubernetes version and their real API groups, not Helm's defaults.
    for (const cluster of [without, withCrd]) {
      const data = await config(cluster);
      assert.equal(data.kubeVersion, await serverVersion(cluster), cluster.name);
      assert.equal(data.hasAppsV1, 'true', cluster.name);
    }
    assert.equal((await config(withCrd)).hasServiceMonitor, 'true');
    assert.equal((await config(without)).hasServiceMonitor, 'false');
    const monitors = await kubectlFor(withCrd.kubeconfig)(['get', 'servicemonitors', '-n', ns, '-o', 'name']);
    assert.equal(monitors.trim(), 'servicemonitor.monitoring.coreos.com/probe');
    const withoutStatus = await statusOn(nameOf(without));
    assert.ok(
      !withoutStatus?.objects.some((o) => o.kind === 'ServiceMonitor'),
      JSON.stringify(withoutStatus),
    );

    // The CRD arrives on the other cluster; its agent tells the control plane when it
    // reconnects (here: restarts), and the fleet renders again for it.
    await installCrd(without);
    await agents.get(without.name)?.stop();
    startAgent(without);
    await waitFor(`the ServiceMonitor on ${without.name}`, async () => {
      const s = await statusOn(nameOf(without));
      return s?.phase === 'Ready' && s.objects.some((o) => o.kind === 'ServiceMonitor') ? s : undefined;
    });
    assert.equal((await config(without)).hasServiceMonitor, 'true');
    const later = await kubectlFor(without.kubeconfig)(['get', 'servicemonitors', '-n', ns, '-o', 'name']);
    assert.equal(later.trim(), 'servicemonitor.monitoring.coreos.com/probe');
  });
});
