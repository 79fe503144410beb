import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, FLEET_LABEL } from '@gitfleet/proto/core';
import type { KubeObject } from '../objects.ts';
import {
  applyDigest,
  applyOptionsWithDefaults,
  bundleCrdScopes,
  changedPaths,
  comparableObject,
  isLabelValue,
  normalizeForApply,
  sameComparable,
  VerifiedObjects,
} from './apply.ts';

const deployment = (extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
  ...extra,
});

describe('normalizeForApply', () => {
  it('puts a namespaced object without a namespace in default, as kubectl does', () => {
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    const out = normalizeForApply(obj, { fleet: 'shop', namespaced: true });
    assert.equal(out.metadata.namespace, 'default');
    assert.equal(obj.metadata.namespace, undefined, 'the input is not modified');
  });

  it('keeps a namespace that is set, and drops one from a cluster-scoped object', () => {
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'shop' },
    };
    assert.equal(normalizeForApply(cm, { fleet: 'f', namespaced: true }).metadata.namespace, 'shop');
    const role: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'r', namespace: 'oops' },
    };
    assert.equal('namespace' in normalizeForApply(role, { fleet: 'f', namespaced: false }).metadata, false);
  });

  it('leaves the namespace as written when the scope is unknown', () => {
    const obj: KubeObject = { apiVersion: 'x.io/v1', kind: 'Thing', metadata: { name: 't' } };
    assert.equal(normalizeForApply(obj, { fleet: 'f', namespaced: undefined }).metadata.namespace, undefined);
  });

  it('adds the fleet label, keeping the others, and overrides a label naming another fleet', () => {
    const obj = deployment();
    obj.metadata.labels = { app: 'web', [FLEET_LABEL]: 'other' };
    assert.deepEqual(normalizeForApply(obj, { fleet: 'shop', namespaced: true }).metadata.labels, {
      app: 'web',
      [FLEET_LABEL]: 'shop',
    });
  });

  it('removes server-maintained metadata a manifest exported from a cluster carries', () => {
    const obj = deployment();
    Object.assign(obj.metadata, {
      resourceVersion: '42',
      uid: 'u',
      creationTimestamp: '2024-01-01T00:00:00Z',
      generation: 3,
      managedFields: [{}],
    });
    const meta = normalizeForApply(obj, { fleet: 'f', namespaced: true }).metadata;
    for (const field of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields']) {
      assert.equal(field in meta, false, field);
    }
  });
});

describe('comparableObject and sameComparable', () => {
  it('ignore what the server maintains and status, but not labels, annotations or spec', () => {
    const live = deployment({ status: { readyReplicas: 2 } });
    Object.assign(live.metadata, {
      resourceVersion: '7',
      generation: 2,
      uid: 'u',
      creationTimestamp: 'then',
      managedFields: [{ manager: 'gitfleet' }],
    });
    const dryRun = deployment({ status: { readyReplicas: 0 } });
    Object.assign(dryRun.metadata, { resourceVersion: '8', generation: 3, managedFields: [] });
    assert.ok(sameComparable(live, dryRun));
    assert.equal('status' in comparableObject(live), false);
    assert.equal(comparableObject(live).metadata.labels?.app, 'web');

    assert.equal(sameComparable(live, deployment({ spec: { replicas: 3 } })), false);
    const relabelled = deployment();
    relabelled.metadata.labels = { app: 'other' };
    assert.equal(sameComparable(live, relabelled), false);
  });

  it('does not depend on key order', () => {
    const a: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { x: '1', y: '2' },
    };
    const b: KubeObject = {
      kind: 'ConfigMap',
      data: { y: '2', x: '1' },
      metadata: { name: 'c' },
      apiVersion: 'v1',
    };
    assert.ok(sameComparable(a, b));
  });
});

describe('changedPaths', () => {
  it('names changed, removed and added fields from the cluster’s side', () => {
    const live = deployment();
    (live.spec as Record<string, unknown>).replicas = 5;
    (live.spec as Record<string, unknown>).paused = true;
    live.metadata.labels = {};
    const desired = deployment();
    desired.metadata.labels = { app: 'web', 'gitfleet.dev/fleet': 'shop' };
    assert.deepEqual(changedPaths(live, desired), [
      'metadata.labels.app removed',
      'metadata.labels["gitfleet.dev/fleet"] removed',
      'spec.paused added',
      'spec.replicas changed',
    ]);
  });

  it('goes into arrays of the same length, and names an array whose length changed', () => {
    const live = deployment();
    const desired = deployment({
      spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'web:2' }] } } },
    });
    assert.deepEqual(changedPaths(live, desired), ['spec.template.spec.containers[0].image changed']);
    const more = deployment({
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              { name: 'web', image: 'web:1' },
              { name: 'sidecar', image: 's:1' },
            ],
          },
        },
      },
    });
    assert.deepEqual(changedPaths(live, more), ['spec.template.spec.containers changed']);
  });

  it('ignores status and server metadata, and caps the list', () => {
    const live = deployment({ status: { replicas: 1 } });
    live.metadata.resourceVersion = '1';
    assert.deepEqual(changedPaths(live, deployment()), []);
    const many: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} };
    const manyDesired: KubeObject = {
      ...many,
      data: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'])),
    };
    const paths = changedPaths(many, manyDesired, 5);
    assert.equal(paths.length, 6);
    assert.equal(paths[0], 'data.k00 removed');
    assert.equal(paths[5], 'and 25 more');
  });

  it('never prints values (a Secret’s data is secret)', () => {
    const live: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { pw: 'aHVudGVyMg==' },
    };
    const desired: KubeObject = { ...live, data: { pw: 'c2VjcmV0' } };
    const out = changedPaths(live, desired).join(' ');
    assert.equal(out, 'data.pw changed');
  });
});

describe('applyDigest and canonicalJson', () => {
  it('is the same for the same object with keys in another order', () => {
    const a: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { x: '1', y: '2' },
    };
    const b: KubeObject = {
      data: { y: '2', x: '1' },
      metadata: { name: 'c' },
      kind: 'ConfigMap',
      apiVersion: 'v1',
    };
    const how = { fieldManager: 'gitfleet', force: true };
    assert.equal(applyDigest(a, how), applyDigest(b, how));
    assert.match(applyDigest(a, how), /^[0-9a-f]{64}$/);
  });

  it('differs when the object, the field manager or force differ', () => {
    const a: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { x: '1' } };
    const how = { fieldManager: 'gitfleet', force: true };
    const digest = applyDigest(a, how);
    assert.notEqual(applyDigest({ ...a, data: { x: '2' } }, how), digest);
    assert.notEqual(applyDigest(a, { ...how, fieldManager: 'other' }), digest);
    assert.notEqual(applyDigest(a, { ...how, force: false }), digest);
  });

  it('writes sorted keys, drops undefined properties and keeps array order', () => {
    assert.equal(canonicalJson({ b: [2, 1], a: 'x', c: undefined, d: null }), '{"a":"x","b":[2,1],"d":null}');
  });
});

describe('bundleCrdScopes', () => {
  it('reads group, kind and scope from the CRDs in a bundle', () => {
    const crd = (group: string, kind: string, scope: string): KubeObject => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${kind.toLowerCase()}s.${group}` },
      spec: { group, scope, names: { kind } },
    });
    const scopes = bundleCrdScopes([
      crd('a.io', 'Widget', 'Namespaced'),
      crd('b.io', 'Gadget', 'Cluster'),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
    ]);
    assert.deepEqual(
      [...scopes],
      [
        ['a.io/Widget', true],
        ['b.io/Gadget', false],
      ],
    );
  });
});

describe('applyOptionsWithDefaults', () => {
  it('fills in the defaults', () => {
    assert.deepEqual(applyOptionsWithDefaults({ fleet: 'shop' }), {
      fleet: 'shop',
      fieldManager: 'gitfleet',
      force: true,
      concurrency: 8,
      waitTimeoutMs: 60_000,
      pollIntervalMs: 1_000,
    });
  });

  it('refuses a fleet name that cannot be a label value, and a concurrency below 1', () => {
    assert.throws(() => applyOptionsWithDefaults({ fleet: '' }), /cannot be a label value/);
    assert.throws(() => applyOptionsWithDefaults({ fleet: 'a/b' }), /cannot be a label value/);
    assert.throws(() => applyOptionsWithDefaults({ fleet: 'x'.repeat(64) }), /at most 63/);
    assert.throws(() => applyOptionsWithDefaults({ fleet: 'ok', concurrency: 0 }), /positive integer/);
  });
});

describe('isLabelValue', () => {
  it('follows the Kubernetes rules', () => {
    for (const ok of ['', 'a', 'shop-prod', 'a.b_c-d', 'x'.repeat(63)]) assert.ok(isLabelValue(ok), ok);
    for (const bad of ['-a', 'a-', 'a/b', 'a b', 'x'.repeat(64)]) assert.equal(isLabelValue(bad), false, bad);
  });
});

describe('VerifiedObjects', () => {
  it('trusts an entry only for the same digest and resourceVersion, and only until it expires', () => {
    const v = new VerifiedObjects({ ttlMs: 1000 });
    const key = 'apps/Deployment/shop/web';
    v.record(key, 'd1', '10', 0);
    const lifetime = v.lifetimeMs(key);
    assert.ok(v.has(key, 'd1', '10', lifetime - 1));
    assert.equal(v.has(key, 'd1', '10', lifetime), false);
    assert.equal(v.has(key, 'd2', '10', 0), false);
    assert.equal(v.has(key, 'd1', '11', 0), false);
    assert.equal(v.has('apps/Deployment/shop/other', 'd1', '10', 0), false);
  });

  it('spreads the expiry of objects verified together over the second half of the TTL', () => {
    const v = new VerifiedObjects({ ttlMs: 1000 });
    const keys = Array.from({ length: 1000 }, (_, i) => `/ConfigMap/shop/settings-${i}`);
    for (const key of keys) v.record(key, 'd', '1', 0);
    const alive = (at: number) => keys.filter((key) => v.has(key, 'd', '1', at)).length;
    assert.equal(alive(499), 1000, 'none expires before half the TTL');
    assert.equal(alive(1000), 0, 'all have expired at the TTL');
    // Evenly: about a fifth of them in each tenth of the TTL.
    for (const at of [600, 700, 800, 900]) {
      const expired = 1000 - alive(at);
      const expected = ((at - 500) / 500) * 1000;
      assert.ok(Math.abs(expired - expected) < 60, `at ${at} ms: ${expired} expired, expected ~${expected}`);
    }
    assert.equal(v.lifetimeMs(keys[0]!), v.lifetimeMs(keys[0]!), 'the same key, the same lifetime');
  });

  it('forgets one key, a whole group, or an entry recorded without a resourceVersion', () => {
    const v = new VerifiedObjects();
    v.record('a.io/Widget/ns/w', 'd', '1');
    v.record('a.io.other/Thing/ns/t', 'd', '1');
    v.record('/ConfigMap/ns/c', 'd', '1');
    v.forgetGroup('a.io');
    assert.equal(v.size, 2);
    v.record('/ConfigMap/ns/c', 'd', undefined);
    assert.equal(v.has('/ConfigMap/ns/c', 'd', undefined), false);
    v.forget('a.io.other/Thing/ns/t');
    assert.equal(v.size, 0);
  });
});
