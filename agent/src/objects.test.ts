import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from './objects.ts';
import { formatRef, isKubeObject, parseRefKey, refKey, refOf, sameRef, splitApiVersion } from './objects.ts';

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { replicas: 3 },
};

describe('splitApiVersion', () => {
  it('splits group and version, with the core group empty', () => {
    assert.deepEqual(splitApiVersion('apps/v1'), { group: 'apps', version: 'v1' });
    assert.deepEqual(splitApiVersion('v1'), { group: '', version: 'v1' });
    assert.deepEqual(splitApiVersion('apiextensions.k8s.io/v1'), {
      group: 'apiextensions.k8s.io',
      version: 'v1',
    });
  });
});

describe('refOf', () => {
  it('takes group, version, kind, namespace and name', () => {
    assert.deepEqual(refOf(deployment), {
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
    });
  });

  it("gives cluster-scoped objects namespace ''", () => {
    const ns = refOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    assert.equal(ns.namespace, '');
    assert.equal(ns.group, '');
  });

  it('throws, showing the object, when it has no name', () => {
    const bad = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
    } as unknown as KubeObject;
    assert.throws(() => refOf(bad), /not a Kubernetes object.*Kustomization/);
  });
});

describe('refKey and parseRefKey', () => {
  it('writes group/kind/namespace/name without the version', () => {
    assert.equal(refKey(refOf(deployment)), 'apps/Deployment/shop/web');
    assert.equal(refKey(refOf({ ...deployment, apiVersion: 'apps/v1beta2' })), 'apps/Deployment/shop/web');
  });

  it('leaves the core group and a cluster scope empty', () => {
    assert.equal(
      refKey(refOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' } })),
      '/ConfigMap/shop/cfg',
    );
    assert.equal(
      refKey(refOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } })),
      '/Namespace//shop',
    );
  });

  it('round-trips, with an empty version', () => {
    for (const key of [
      'apps/Deployment/shop/web',
      '/Namespace//shop',
      'rbac.authorization.k8s.io/ClusterRole//system:aggregate-to-view',
    ]) {
      const ref = parseRefKey(key);
      assert.equal(ref.version, '');
      assert.equal(refKey(ref), key);
    }
  });

  it('rejects keys refKey cannot have written', () => {
    assert.throws(() => parseRefKey('apps/Deployment/web'), /invalid object key/);
    assert.throws(() => parseRefKey('apps/Deployment/shop/web/extra'), /invalid object key/);
    assert.throws(() => parseRefKey('apps//shop/web'), /kind and name are required/);
    assert.throws(() => parseRefKey('apps/Deployment/shop/'), /kind and name are required/);
  });
});

describe('formatRef', () => {
  it('reads like kubectl: Kind/namespace/name, or Kind/name when cluster-scoped', () => {
    assert.equal(formatRef(refOf(deployment)), 'Deployment/shop/web');
    assert.equal(formatRef(parseRefKey('/Namespace//shop')), 'Namespace/shop');
  });
});

describe('isKubeObject', () => {
  it('accepts addressable objects and rejects the rest', () => {
    assert.equal(isKubeObject(deployment), true);
    assert.equal(isKubeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '' } }), false);
    assert.equal(isKubeObject({ apiVersion: 'v1', kind: 'ConfigMap' }), false);
    assert.equal(isKubeObject({ kind: 'ConfigMap', metadata: { name: 'x' } }), false);
    assert.equal(
      isKubeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 3 } }),
      false,
    );
    assert.equal(isKubeObject(null), false);
    assert.equal(isKubeObject([deployment]), false);
  });
});

describe('sameRef', () => {
  it('ignores the version', () => {
    assert.equal(sameRef(refOf(deployment), parseRefKey('apps/Deployment/shop/web')), true);
    assert.equal(sameRef(refOf(deployment), parseRefKey('apps/Deployment/other/web')), false);
  });
});
