// The agent's apply engine against a real kube-apiserver (with the controller-manager and
// kwok, so Deployments become Available): staged server-side apply with a ChangeSet, pruning,
// drift and health, checked with the real kubectl. Each test works in namespaces and
// cluster-scoped names of its own, and removes them at the end.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  FLEET_LABEL,
  INVENTORY_LABEL,
  PRUNE_OPT_OUT_ANNOTATION,
  PRUNE_OPT_OUT_VALUE,
} from '@gitfleet/proto/core';
import { Applier } from '../../agent/src/apply/apply.ts';
import type { ChangeAction, ChangeSet } from '../../agent/src/apply/changeset.ts';
import { formatChangeSet, summarize } from '../../agent/src/apply/changeset.ts';
import { deleteObjects } from '../../agent/src/apply/delete.ts';
import { detectDrift } from '../../agent/src/apply/drift.ts';
import { readHealth, waitForCurrent } from '../../agent/src/apply/wait.ts';
import { diffInventory } from '../../agent/src/inventory/diff.ts';
import { InventoryStore } from '../../agent/src/inventory/store.ts';
import type { KubeRequest, KubeResponse } from '../../agent/src/kube/client.ts';
import { KubeClient, loadKubeConfig } from '../../agent/src/kube/client.ts';
import type { KubeObject, ObjectRef } from '../../agent/src/objects.ts';
import { formatRef, refKey, refOf } from '../../agent/src/objects.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { ensureToolchain, toolPath } from '../src/toolchain.ts';

const env = environmentFromEnv();
const cluster = env.clusters[0];
if (!cluster)
  throw new Error('no Kubernetes cluster in the test environment: set GITFLEET_TEST_CLUSTERS >= 1');

let kubectlBin: string;
/** The real client, counting what it sends, to show what an apply did and did not write. */
class CountingClient extends KubeClient {
  writes: string[] = [];
  dryRuns = 0;
  override async request(req: KubeRequest): Promise<KubeResponse> {
    if (req.method !== 'GET') {
      if (req.query?.dryRun) this.dryRuns += 1;
      else this.writes.push(`${req.method} ${req.path}`);
    }
    return super.request(req);
  }
  reset(): void {
    this.writes = [];
    this.dryRuns = 0;
  }
}

const client = new CountingClient(loadKubeConfig({ kubeconfig: cluster.kubeconfig }));
// What each test created, removed in `after` even when the test failed.
const cleanup: string[][] = [];

before(async () => {
  kubectlBin = toolPath(await ensureToolchain(['kubectl']), 'kubectl');
});

after(async () => {
  for (const args of cleanup.reverse()) {
    await kubectl(['delete', '--ignore-not-found', '--wait=false', ...args]).catch(() => {});
  }
  client.close();
});

function kubectl(args: string[], options: { env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      kubectlBin,
      ['--kubeconfig', cluster!.kubeconfig, ...args],
      { env: { ...process.env, ...options.env } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

async function kubectlJson(args: string[]): Promise<KubeObject> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as KubeObject;
}

async function configMapData(ns: string, name: string): Promise<Record<string, string>> {
  return ((await kubectlJson(['get', 'configmap', name, '-n', ns])).data ?? {}) as Record<string, string>;
}

/** A name no other test (or earlier run against the same cluster) uses. */
function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

function useNamespace(name = unique('e2e-apply')): string {
  cleanup.push(['namespace', name]);
  return name;
}

function actions(cs: ChangeSet): Record<string, ChangeAction> {
  return Object.fromEntries(cs.entries.map((e) => [formatRef(e.ref), e.action]));
}

function allActions(cs: ChangeSet, action: ChangeAction): void {
  const other = cs.entries.filter((e) => e.action !== action);
  assert.equal(other.length, 0, `expected every object ${action}, got:\n${formatChangeSet(cs)}`);
}

// ---- manifests -----------------------------------------------------------------------------

function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

function configMap(ns: string | undefined, name: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(ns ? { namespace: ns } : {}) },
    data,
  };
}

function service(ns: string, name: string, port = 80): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort: 8080 }] },
  };
}

function deployment(ns: string, name: string, replicas?: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'web', image: 'registry.example/web:1.0' }] },
      },
    },
  };
}

function clusterRole(name: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
  };
}

function widgetCrd(group: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
            },
          },
        },
      ],
    },
  };
}

function widget(group: string, ns: string | undefined, name: string, size: number): KubeObject {
  return {
    apiVersion: `${group}/v1`,
    kind: 'Widget',
    metadata: { name, ...(ns ? { namespace: ns } : {}) },
    spec: { size },
  };
}

// ---- tests ---------------------------------------------------------------------------------

describe('apply', () => {
  it('lists live objects page by page: 250 ConfigMaps are all found, warm and after a restart', async () => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    const many = Array.from({ length: 250 }, (_, i) => configMap(ns, `cm-${i}`, { n: String(i) }));
    const bundle = [namespace(ns), ...many];
    const applier = new Applier(client);
    allActions(await applier.apply(bundle, { fleet }), 'created');

    // Warm: every ConfigMap is on one of the three pages, so none is read or written again.
    client.reset();
    allActions(await applier.apply(bundle, { fleet }), 'unchanged');
    assert.deepEqual(client.writes, []);
    assert.equal(client.dryRuns, 0);

    // After a restart (no cache), each one listed is compared with a dry-run, none written:
    // an object missed by the paging would have been applied as if absent.
    client.reset();
    allActions(await new Applier(client).apply(bundle, { fleet }), 'unchanged');
    assert.deepEqual(client.writes, []);
    assert.equal(client.dryRuns, bundle.length);

    // Drift on the last page is found as well.
    await kubectl(['delete', 'configmap', 'cm-249', '-n', ns]);
    const drift = await detectDrift(applier, bundle, { fleet });
    assert.deepEqual(
      drift.drifted.map((d) => `${d.ref.name} ${d.reason}`),
      ['cm-249 Deleted'],
    );
    assert.equal(drift.checked, bundle.length);
  });

  it('applies a mixed bundle cold (all created), warm (all unchanged), and one change (only it configured)', async (t) => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    const group = `${unique('e2e')}.gitfleet.test`;
    const role = unique('e2e-reader');
    // A namespaced object without a namespace lands in `default`, as with kubectl.
    const defaulted = unique('e2e-defaulted');
    cleanup.push(
      ['crd', `widgets.${group}`],
      ['clusterrole', role],
      ['configmap', '-n', 'default', defaulted],
    );
    // In an order that would fail if applied as written: the custom resource and the
    // namespaced objects before their CRD and Namespace.
    const bundle = [
      widget(group, ns, 'big', 3),
      deployment(ns, 'web', 1),
      service(ns, 'web'),
      configMap(ns, 'settings', { mode: 'a' }),
      configMap(undefined, defaulted, { x: '1' }),
      clusterRole(role),
      widgetCrd(group),
      namespace(ns),
    ];
    const applier = new Applier(client);

    let started = performance.now();
    const cold = await applier.apply(bundle, { fleet });
    const coldMs = performance.now() - started;
    allActions(cold, 'created');
    assert.equal(cold.entries.length, bundle.length);
    // Stages: definitions first (CRD, Namespace, ClusterRole), custom resources last among
    // the namespaced objects.
    assert.deepEqual(
      cold.entries.map((e) => e.ref.kind),
      [
        'CustomResourceDefinition',
        'Namespace',
        'ClusterRole',
        'ConfigMap',
        'ConfigMap',
        'Service',
        'Deployment',
        'Widget',
      ],
    );
    assert.ok(
      cold.entries.some(
        (e) => e.ref.kind === 'ConfigMap' && e.ref.namespace === 'default' && e.ref.name === defaulted,
      ),
      'the ConfigMap without a namespace is keyed in default',
    );

    // Everything is there for kubectl, with our field manager and fleet label.
    const cm = await kubectlJson(['get', 'configmap', 'settings', '-n', ns, '--show-managed-fields']);
    assert.deepEqual(cm.data, { mode: 'a' });
    assert.equal(cm.metadata.labels?.[FLEET_LABEL], fleet);
    assert.ok(
      (cm.metadata.managedFields as { manager: string; operation: string }[]).some(
        (m) => m.manager === 'gitfleet' && m.operation === 'Apply',
      ),
    );
    assert.deepEqual((await kubectlJson(['get', `widgets.${group}`, 'big', '-n', ns])).spec, { size: 3 });
    await kubectl(['get', 'deployment/web', 'service/web', '-n', ns]);
    await kubectl(['get', 'configmap', defaulted, '-n', 'default']);
    await kubectl(['get', 'clusterrole', role]);

    client.reset();
    started = performance.now();
    const warm = await applier.apply(bundle, { fleet });
    const warmMs = performance.now() - started;
    allActions(warm, 'unchanged');
    assert.deepEqual(client.writes, [], 'a warm apply writes nothing');

    // A new agent (after a restart) has no cache: the dry-run comparison says the same, and
    // nothing is written either.
    client.reset();
    started = performance.now();
    const restarted = await new Applier(client).apply(bundle, { fleet });
    const restartedMs = performance.now() - started;
    allActions(restarted, 'unchanged');
    assert.deepEqual(client.writes, []);
    assert.equal(client.dryRuns, bundle.length);

    const changed = bundle.map((o) =>
      o.kind === 'ConfigMap' && o.metadata.name === 'settings' ? configMap(ns, 'settings', { mode: 'b' }) : o,
    );
    client.reset();
    const third = await applier.apply(changed, { fleet });
    assert.deepEqual(client.writes, [`PATCH /api/v1/namespaces/${ns}/configmaps/settings`]);
    assert.deepEqual(summarize(third), {
      created: 0,
      configured: 1,
      unchanged: bundle.length - 1,
      deleted: 0,
      failed: 0,
      skipped: 0,
    });
    assert.equal(actions(third)[`ConfigMap/${ns}/settings`], 'configured');
    assert.deepEqual((await kubectlJson(['get', 'configmap', 'settings', '-n', ns])).data, { mode: 'b' });

    t.diagnostic(
      `mixed bundle of ${bundle.length}: cold ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(1)} ms, ` +
        `warm after restart ${restartedMs.toFixed(1)} ms`,
    );
  });

  it('reports an invalid object as failed with the API server’s reason and applies the others', async () => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    const bundle = [
      namespace(ns),
      configMap(ns, 'fine', { a: '1' }),
      service(ns, 'broken', 70000),
      deployment(ns, 'web', 1),
      configMap(ns, 'fine', { a: 'the same object again' }),
    ];
    const cs = await new Applier(client).apply(bundle, { fleet });
    // The second copy of ConfigMap/fine fails, the first is applied.
    const duplicate = cs.entries.at(-1);
    assert.equal(duplicate?.action, 'failed');
    assert.equal(duplicate?.reason, 'Duplicate');
    assert.deepEqual(await configMapData(ns, 'fine'), { a: '1' });
    const byRef = Object.fromEntries(cs.entries.slice(0, -1).map((e) => [formatRef(e.ref), e]));
    const broken = byRef[`Service/${ns}/broken`];
    assert.equal(broken?.action, 'failed');
    assert.equal(broken?.reason, 'Invalid');
    assert.match(broken?.message ?? '', /spec\.ports\[0\]\.port/);
    assert.match(broken?.message ?? '', /between 1 and 65535/);
    assert.equal(byRef[`ConfigMap/${ns}/fine`]?.action, 'created');
    assert.equal(byRef[`Deployment/${ns}/web`]?.action, 'created');
    await kubectl(['get', 'configmap/fine', 'deployment/web', '-n', ns]);
    await assert.rejects(kubectl(['get', 'service', 'broken', '-n', ns]), /NotFound/);
  });

  it('fails a custom resource whose CRD is missing with KindNotServed, and applies the rest', async () => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    const cs = await new Applier(client).apply(
      [namespace(ns), widget('missing.gitfleet.test', ns, 'w', 1), configMap(ns, 'c', {})],
      { fleet },
    );
    const widgetEntry = cs.entries.find((e) => e.ref.kind === 'Widget');
    assert.equal(widgetEntry?.action, 'failed');
    assert.equal(widgetEntry?.reason, 'KindNotServed');
    assert.equal(actions(cs)[`ConfigMap/${ns}/c`], 'created');
  });
});

describe('prune', () => {
  it('deletes what left Git, namespaced and cluster-scoped, and skips objects opted out', async () => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    const role = unique('e2e-pruned');
    cleanup.push(['clusterrole', role]);
    const kept = configMap(ns, 'kept', { a: '1' });
    const optedOut = configMap(ns, 'opted-out', {});
    optedOut.metadata.annotations = { [PRUNE_OPT_OUT_ANNOTATION]: PRUNE_OPT_OUT_VALUE };
    const first = [
      namespace(ns),
      kept,
      configMap(ns, 'gone', {}),
      optedOut,
      deployment(ns, 'old', 1),
      clusterRole(role),
    ];
    const applier = new Applier(client);
    const applied = await applier.apply(first, { fleet });
    allActions(applied, 'created');
    const inventory = applied.entries.map((e) => e.ref);

    // The next revision keeps the Namespace and one ConfigMap.
    const next = [namespace(ns), kept];
    const nextApplied = await applier.apply(next, { fleet });
    allActions(nextApplied, 'unchanged');
    const diff = diffInventory({
      previous: inventory,
      desired: next,
      allowEmpty: false,
      // The delete reads the live object and decides itself; see below.
      optedOut: () => false,
    });
    assert.equal(diff.toDelete.length, 4);
    // One ref that was deleted by someone else already: not a failure.
    const alreadyGone: ObjectRef = {
      group: '',
      version: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: 'never-there',
    };
    // Refs parsed from ref keys have no version: the group's preferred one is used.
    const toDelete = diff.toDelete.map((r) => (r.kind === 'Deployment' ? { ...r, version: '' } : r));
    const pruned = await deleteObjects(client, [...toDelete, { ...alreadyGone, version: '' }], { fleet });
    const byName = Object.fromEntries(pruned.entries.map((e) => [e.ref.name, e]));
    assert.equal(byName.gone?.action, 'deleted');
    assert.equal(byName.old?.action, 'deleted');
    assert.equal(byName[role]?.action, 'deleted');
    assert.equal(byName['never-there']?.action, 'deleted');
    assert.equal(byName['opted-out']?.action, 'skipped');
    assert.equal(byName['opted-out']?.reason, 'OptOutAnnotation');
    // Namespaced objects go before cluster-scoped ones.
    assert.equal(pruned.entries.at(-1)?.ref.kind, 'ClusterRole');

    await assert.rejects(kubectl(['get', 'configmap', 'gone', '-n', ns]), /NotFound/);
    await assert.rejects(kubectl(['get', 'deployment', 'old', '-n', ns]), /NotFound/);
    await assert.rejects(kubectl(['get', 'clusterrole', role]), /NotFound/);
    await kubectl(['get', 'configmap', 'opted-out', '-n', ns]);
    await kubectl(['get', 'configmap', 'kept', '-n', ns]);
  });

  it('leaves an object that another fleet applies now', async () => {
    const ns = useNamespace();
    const first = unique('fleet');
    const second = unique('fleet');
    const applier = new Applier(client);
    await applier.apply([namespace(ns), configMap(ns, 'shared', {})], { fleet: first });
    await applier.apply([configMap(ns, 'shared', {})], { fleet: second });
    const ref = refOf(configMap(ns, 'shared', {}));
    const cs = await deleteObjects(client, [ref], { fleet: first });
    assert.equal(cs.entries[0]?.action, 'skipped');
    assert.equal(cs.entries[0]?.reason, 'OwnedByAnotherFleet');
    await kubectl(['get', 'configmap', 'shared', '-n', ns]);
  });
});

describe('drift', () => {
  it('detects kubectl scale, kubectl edit and kubectl delete, and a re-apply restores them', async () => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    const bundle = [namespace(ns), deployment(ns, 'web', 2), configMap(ns, 'settings', { mode: 'a' })];
    const applier = new Applier(client);
    allActions(await applier.apply(bundle, { fleet }), 'created');
    // The Deployment controller writes status meanwhile: that is not drift.
    await waitForCurrent(client, [refOf(bundle[1] as KubeObject)], { timeoutMs: 60_000 });
    assert.deepEqual((await detectDrift(applier, bundle, { fleet })).drifted, []);

    await kubectl(['scale', 'deployment/web', '-n', ns, '--replicas=5']);
    await kubectl(['edit', 'configmap/settings', '-n', ns], {
      env: { KUBE_EDITOR: `sed -i -e 's/mode: a/mode: edited/'` },
    });
    assert.equal((await configMapData(ns, 'settings')).mode, 'edited');

    const report = await detectDrift(applier, bundle, { fleet });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(
      report.drifted.map((d) => [formatRef(d.ref), d.reason, d.changes]),
      [
        [`ConfigMap/${ns}/settings`, 'Modified', ['data.mode changed']],
        [`Deployment/${ns}/web`, 'Modified', ['spec.replicas changed']],
      ],
    );

    // Without force the fields kubectl took over are a conflict, named in the result.
    const unforced = await applier.apply(bundle, { fleet, force: false });
    const conflict = unforced.entries.find((e) => e.ref.kind === 'Deployment');
    assert.equal(conflict?.action, 'failed');
    assert.equal(conflict?.reason, 'FieldConflict');
    assert.match(conflict?.message ?? '', /\.spec\.replicas is managed by "kubectl"/);

    const corrected = await applier.apply(bundle, { fleet });
    assert.equal(actions(corrected)[`Deployment/${ns}/web`], 'configured');
    assert.equal(actions(corrected)[`ConfigMap/${ns}/settings`], 'configured');
    assert.equal(
      ((await kubectlJson(['get', 'deployment', 'web', '-n', ns])).spec as { replicas: number }).replicas,
      2,
    );
    assert.equal((await configMapData(ns, 'settings')).mode, 'a');
    assert.deepEqual((await detectDrift(applier, bundle, { fleet })).drifted, []);

    await kubectl(['delete', 'configmap', 'settings', '-n', ns]);
    const afterDelete = await detectDrift(applier, bundle, { fleet });
    assert.deepEqual(
      afterDelete.drifted.map((d) => [formatRef(d.ref), d.reason, d.changes]),
      [[`ConfigMap/${ns}/settings`, 'Deleted', ['deleted']]],
    );
    assert.equal(actions(await applier.apply(bundle, { fleet }))[`ConfigMap/${ns}/settings`], 'created');
  });

  it('does not count fields another manager owns (an HPA on replicas the manifest leaves out)', async () => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    // No replicas in the manifest: the HPA decides them.
    const bundle = [namespace(ns), deployment(ns, 'scaled')];
    const applier = new Applier(client);
    allActions(await applier.apply(bundle, { fleet }), 'created');
    await kubectl([
      'patch',
      'deployment/scaled',
      '-n',
      ns,
      '--field-manager=hpa-controller',
      '--type=merge',
      '-p',
      '{"spec":{"replicas":3}}',
    ]);
    const live = await kubectlJson(['get', 'deployment', 'scaled', '-n', ns]);
    assert.equal((live.spec as { replicas: number }).replicas, 3);

    // Also for an agent that has no cache, so the dry-run comparison itself is what says so.
    for (const a of [applier, new Applier(client)]) {
      const report = await detectDrift(a, bundle, { fleet });
      assert.deepEqual(report.drifted, []);
      assert.deepEqual(report.errors, []);
    }
    allActions(await applier.apply(bundle, { fleet }), 'unchanged');
    assert.equal(
      ((await kubectlJson(['get', 'deployment', 'scaled', '-n', ns])).spec as { replicas: number }).replicas,
      3,
    );

    // An owned label changed by the same other manager is drift, though.
    await kubectl(['label', 'deployment/scaled', '-n', ns, '--overwrite', 'app=changed']);
    const report = await detectDrift(applier, bundle, { fleet });
    assert.deepEqual(
      report.drifted.map((d) => d.changes),
      [['metadata.labels.app changed']],
    );
  });
});

describe('health', () => {
  it('a Deployment becomes Current (kwok runs its pods); a missing object is NotFound', async () => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    const bundle = [namespace(ns), deployment(ns, 'web', 2)];
    await new Applier(client).apply(bundle, { fleet });
    const ref = refOf(bundle[1] as KubeObject);
    const [waited] = await waitForCurrent(client, [ref], { timeoutMs: 90_000 });
    assert.equal(waited?.error, undefined, waited?.error?.message);
    assert.equal(waited?.health.status, 'Current');
    const pods = JSON.parse(await kubectl(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'json'])) as {
      items: { status: { phase: string } }[];
    };
    assert.deepEqual(
      pods.items.map((p) => p.status.phase),
      ['Running', 'Running'],
    );

    const missing: ObjectRef = { ...ref, name: 'missing' };
    const unserved: ObjectRef = {
      group: 'missing.gitfleet.test',
      version: 'v1',
      kind: 'Widget',
      namespace: ns,
      name: 'w',
    };
    const health = await readHealth(client, [ref, missing, unserved]);
    assert.deepEqual(
      health.map((h) => h.health.status),
      ['Current', 'NotFound', 'NotFound'],
    );
  });

  it('times out with WaitTimeout, naming the object and its last health', async () => {
    const fleet = unique('fleet');
    const ns = useNamespace();
    const broken = deployment(ns, 'never', 1);
    // A node selector no node has: the pod is never scheduled.
    (broken.spec as { template: { spec: Record<string, unknown> } }).template.spec.nodeSelector = {
      'gitfleet.test/none': 'x',
    };
    await new Applier(client).apply([namespace(ns), broken], { fleet });
    const [result] = await waitForCurrent(client, [refOf(broken)], { timeoutMs: 1_500 });
    assert.equal(result?.error?.code, 'WaitTimeout');
    assert.match(result?.error?.message ?? '', new RegExp(`Deployment/${ns}/never not ready after 2s`));
  });
});

describe('inventory store', () => {
  it('saves, loads, lists and removes a fleet’s inventory in a ConfigMap', async () => {
    const ns = useNamespace();
    await kubectl(['create', 'namespace', ns]);
    const store = new InventoryStore(client, ns);
    const fleet = unique('fleet');
    const other = unique('fleet');
    assert.equal(await store.load(fleet), null);
    assert.deepEqual(await store.list(), []);

    const refs: ObjectRef[] = [
      { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
      { group: '', version: 'v1', kind: 'Namespace', namespace: '', name: 'shop' },
    ];
    await store.save(fleet, { refs, revision: 'abc123', digest: 'sha256:1' });
    await store.save(other, { refs: [], revision: 'def456', digest: 'sha256:2' });
    const loaded = await store.load(fleet);
    assert.deepEqual(loaded?.refs.map(refKey).sort(), refs.map(refKey).sort());
    assert.deepEqual(
      loaded?.refs.map((r) => r.version),
      ['v1', 'v1'],
    );
    assert.equal(loaded?.revision, 'abc123');
    assert.equal(loaded?.digest, 'sha256:1');
    assert.deepEqual(await store.list(), [fleet, other].sort());

    const cm = await kubectlJson(['get', 'configmap', `gitfleet-inventory-${fleet}`, '-n', ns]);
    assert.equal(cm.metadata.labels?.[INVENTORY_LABEL], fleet);

    await store.save(fleet, { refs: refs.slice(1), revision: 'abc124', digest: 'sha256:3' });
    assert.equal((await store.load(fleet))?.refs.length, 1);

    await store.remove(fleet);
    await store.remove(fleet);
    assert.equal(await store.load(fleet), null);
    assert.deepEqual(await store.list(), [other]);

    // A damaged inventory is refused, not read as empty: pruning from it would be wrong.
    await kubectl([
      'patch',
      'configmap',
      `gitfleet-inventory-${other}`,
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"data":{"inventory.json":"{not json"}}',
    ]);
    await assert.rejects(store.load(other), /unreadable.*delete it/);
  });
});
