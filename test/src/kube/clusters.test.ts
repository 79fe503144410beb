// The Kubernetes test clusters behave like real clusters to what gitfleet uses: kubectl and
// @kubernetes/client-node reach each with its kubeconfig, clusters sharing one etcd do not
// see each other's objects, Deployments become Available, and nothing outlives stop().
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, test } from 'node:test';
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { type KubeClusters, startKubeClusters } from './clusters.ts';

let kube: KubeClusters;

// Generous: on a fresh machine ensureToolchain() first builds the binaries from source.
before(
  async () => {
    kube = await startKubeClusters({ count: 2 });
  },
  { timeout: 20 * 60_000 },
);

after(async () => {
  await kube?.stop();
});

/** Processes whose command line mentions the environment's temp dir (all of them do). */
function environmentProcesses(): string[] {
  const root = dirname(dirname(kube.clusters[0]?.kubeconfig ?? '/nonexistent/x/y'));
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter(
      (line) =>
        line.includes(`${root}/`) &&
        /\/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok) /.test(line),
    );
}

test('kubectl reaches every cluster with its kubeconfig, and the server is v1.35.4', async () => {
  assert.deepEqual(
    kube.clusters.map((c) => c.name),
    ['cluster-1', 'cluster-2'],
  );
  for (const cluster of kube.clusters) {
    const namespaces = await cluster.kubectl(['get', 'namespaces', '-o', 'name']);
    assert.ok(namespaces.split('\n').includes('namespace/default'), `${cluster.name} lists: ${namespaces}`);
    const version = JSON.parse(await cluster.kubectl(['version', '-o', 'json']));
    assert.equal(version.serverVersion.gitVersion, 'v1.35.4');
    assert.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/);
  }
});

test('clusters sharing one etcd are isolated: server-side apply to each, read back with kubectl', async () => {
  await Promise.all(
    kube.clusters.map(async (cluster) => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(cluster.kubeconfig);
      const client = KubernetesObjectApi.makeApiClient(kubeConfig);
      await client.patch(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'gitfleet-isolation', namespace: 'default' },
          data: { cluster: cluster.name },
        },
        undefined,
        undefined,
        'gitfleet-test',
        true,
        PatchStrategy.ServerSideApply,
      );
    }),
  );
  for (const cluster of kube.clusters) {
    const configMap = JSON.parse(
      await cluster.kubectl([
        'get',
        'configmap',
        'gitfleet-isolation',
        '-n',
        'default',
        '-o',
        'json',
        '--show-managed-fields',
      ]),
    );
    assert.deepEqual(configMap.data, { cluster: cluster.name });
    const managers = configMap.metadata.managedFields.map(
      (f: { manager: string; operation: string }) => `${f.manager}/${f.operation}`,
    );
    assert.deepEqual(managers, ['gitfleet-test/Apply']);
  }
});

test('a Deployment becomes Available, a Job completes, and their namespace can be deleted', {
  timeout: 120_000,
}, async () => {
  const namespace = 'deployment-test';
  const manifest = `apiVersion: v1
kind: Namespace
metadata:
  name: ${namespace}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
spec:
  replicas: 1
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: ${namespace}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: registry.example/once:1.0
`;
  await Promise.all(
    kube.clusters.map(async (cluster) => {
      await cluster.kubectl(['apply', '--server-side', '--field-manager=gitfleet-test', '-f', '-'], manifest);
      const started = Date.now();
      await cluster.kubectl([
        'wait',
        '-n',
        namespace,
        '--for=condition=Available',
        'deployment/web',
        '--timeout=60s',
      ]);
      const deployment = JSON.parse(
        await cluster.kubectl(['get', '-n', namespace, 'deployment/web', '-o', 'json']),
      );
      assert.equal(deployment.status.readyReplicas, 1);
      const available = deployment.status.conditions.find((c: { type: string }) => c.type === 'Available');
      assert.equal(available?.status, 'True');
      assert.ok(Date.now() - started < 60_000);

      const pods = JSON.parse(
        await cluster.kubectl(['get', 'pods', '-n', namespace, '-l', 'app=web', '-o', 'json']),
      );
      assert.equal(pods.items.length, 1);
      assert.equal(pods.items[0].spec.nodeName, 'kwok-node-0');
      assert.equal(pods.items[0].status.phase, 'Running');

      // kwok's pod-complete stage ends a Job's pods with exit code 0, so hook Jobs and charts
      // with Jobs can be Ready in tests.
      await cluster.kubectl([
        'wait',
        '-n',
        namespace,
        '--for=condition=Complete',
        'job/once',
        '--timeout=60s',
      ]);
      const job = JSON.parse(await cluster.kubectl(['get', '-n', namespace, 'job/once', '-o', 'json']));
      assert.equal(job.status.succeeded, 1);

      // The namespace controller empties the namespace (kwok finishes the pod's deletion).
      await cluster.kubectl(['delete', 'namespace', namespace, '--wait=true', '--timeout=60s']);
      await assert.rejects(cluster.kubectl(['get', 'namespace', namespace]), /NotFound/);
    }),
  );
});

test('stop() ends every process it started and removes its files', async () => {
  const root = dirname(dirname(kube.clusters[0]?.kubeconfig ?? ''));
  // etcd, then per cluster: apiserver, controller-manager, scheduler, kwok.
  assert.equal(
    environmentProcesses().length,
    1 + 4 * kube.clusters.length,
    environmentProcesses().join('\n'),
  );
  await kube.stop();
  assert.deepEqual(environmentProcesses(), []);
  assert.equal(existsSync(root), false);
});
