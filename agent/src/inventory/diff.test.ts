import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRUNE_OPT_OUT_ANNOTATION, PRUNE_OPT_OUT_VALUE } from '@gitfleet/proto/core';
import type { KubeObject, ObjectRef } from '../objects.ts';
import { refKey } from '../objects.ts';
import { diffInventory, isPruneOptedOut } from './diff.ts';

const obj = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: namespace === undefined ? { name } : { name, namespace },
});

const keys = (refs: ObjectRef[]) => refs.map(refKey);
const never = () => false;

const previous = [
  '/Namespace//shop',
  '/ConfigMap/shop/settings',
  'apps/Deployment/shop/web',
  'apps/Deployment/shop/legacy',
  '/Service/shop/legacy',
  'rbac.authorization.k8s.io/ClusterRole//legacy-read',
  'apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com',
];

describe('diffInventory', () => {
  it('deletes what Git no longer has, in deletion order, and keeps the rest', () => {
    const diff = diffInventory({
      previous,
      desired: [
        obj('v1', 'Namespace', 'shop'),
        obj('v1', 'ConfigMap', 'settings', 'shop'),
        obj('apps/v1', 'Deployment', 'web', 'shop'),
        obj('v1', 'Secret', 'new', 'shop'),
      ],
      allowEmpty: false,
      optedOut: never,
    });
    assert.deepEqual(keys(diff.toDelete), [
      'apps/Deployment/shop/legacy',
      '/Service/shop/legacy',
      'rbac.authorization.k8s.io/ClusterRole//legacy-read',
      'apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com',
    ]);
    assert.deepEqual(keys(diff.keep), [
      '/ConfigMap/shop/settings',
      '/Namespace//shop',
      'apps/Deployment/shop/web',
    ]);
    assert.deepEqual(diff.skipped, []);
    assert.deepEqual(keys(diff.inventory), [
      '/ConfigMap/shop/settings',
      '/Namespace//shop',
      '/Secret/shop/new',
      'apps/Deployment/shop/web',
    ]);
  });

  it('puts Namespaces and CRDs last when everything goes', () => {
    const diff = diffInventory({
      previous,
      desired: [obj('v1', 'ConfigMap', 'other', 'shop')],
      allowEmpty: false,
      optedOut: never,
    });
    const order = keys(diff.toDelete);
    assert.equal(order.at(-2), '/Namespace//shop');
    assert.equal(order.at(-1), 'apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com');
    assert.ok(
      order.indexOf('/ConfigMap/shop/settings') <
        order.indexOf('rbac.authorization.k8s.io/ClusterRole//legacy-read'),
    );
  });

  it('treats a change of apiVersion as the same object', () => {
    const diff = diffInventory({
      previous: ['autoscaling/HorizontalPodAutoscaler/shop/web'],
      desired: [obj('autoscaling/v2', 'HorizontalPodAutoscaler', 'web', 'shop')],
      allowEmpty: false,
      optedOut: never,
    });
    assert.deepEqual(diff.toDelete, []);
    assert.equal(diff.inventory[0]?.version, 'v2');
  });

  it('skips objects whose live copy opted out, and drops them from the inventory', () => {
    const asked: string[] = [];
    const diff = diffInventory({
      previous,
      desired: [obj('v1', 'Namespace', 'shop'), obj('apps/v1', 'Deployment', 'web', 'shop')],
      allowEmpty: false,
      optedOut: (ref) => {
        asked.push(refKey(ref));
        return ref.name === 'legacy' && ref.kind === 'Service';
      },
    });
    // Only objects about to be deleted are looked up.
    assert.ok(!asked.includes('apps/Deployment/shop/web'));
    assert.deepEqual(diff.skipped, [
      {
        ref: { group: '', version: '', kind: 'Service', namespace: 'shop', name: 'legacy' },
        reason: 'OptOutAnnotation',
        message: 'Service/shop/legacy not deleted: it has gitfleet.dev/prune: disabled',
      },
    ]);
    assert.ok(!keys(diff.toDelete).includes('/Service/shop/legacy'));
    assert.ok(!keys(diff.inventory).includes('/Service/shop/legacy'));
  });

  it('deletes nothing when the render is empty and empty is not allowed', () => {
    const diff = diffInventory({ previous, desired: [], allowEmpty: false, optedOut: never });
    assert.deepEqual(diff.toDelete, []);
    assert.deepEqual(diff.keep, []);
    assert.equal(diff.skipped.length, previous.length);
    assert.ok(diff.skipped.every((s) => s.reason === 'EmptyRenderGuard'));
    assert.match(diff.skipped[0]?.message ?? '', /not deleted: the render has no objects/);
    // Still ours: a later render that is not empty prunes them.
    assert.deepEqual(keys(diff.inventory).sort(), [...previous].sort());
  });

  it('deletes everything on an empty render when the policy allows it', () => {
    const diff = diffInventory({ previous, desired: [], allowEmpty: true, optedOut: never });
    assert.equal(diff.toDelete.length, previous.length);
    assert.deepEqual(diff.skipped, []);
    assert.deepEqual(diff.inventory, []);
  });

  it('has nothing to do on a first apply or an empty start', () => {
    const first = diffInventory({
      previous: [],
      desired: [obj('v1', 'ConfigMap', 'a', 'shop')],
      allowEmpty: false,
      optedOut: never,
    });
    assert.deepEqual(first.toDelete, []);
    assert.deepEqual(first.keep, []);
    assert.deepEqual(keys(first.inventory), ['/ConfigMap/shop/a']);
    const nothing = diffInventory({ previous: [], desired: [], allowEmpty: false, optedOut: never });
    assert.deepEqual(nothing, { keep: [], toDelete: [], skipped: [], inventory: [] });
  });

  it('keeps the versions of stored refs for the objects it deletes', () => {
    const diff = diffInventory({
      previous: [{ group: 'example.com', version: 'v1beta1', kind: 'Widget', namespace: 'shop', name: 'w1' }],
      desired: [obj('v1', 'ConfigMap', 'a', 'shop')],
      allowEmpty: false,
      optedOut: never,
    });
    assert.equal(diff.toDelete[0]?.version, 'v1beta1');
  });

  it('ignores duplicates', () => {
    const diff = diffInventory({
      previous: ['/ConfigMap/shop/a', '/ConfigMap/shop/a', '/ConfigMap/shop/b'],
      desired: [obj('v1', 'ConfigMap', 'a', 'shop'), obj('v1', 'ConfigMap', 'a', 'shop')],
      allowEmpty: false,
      optedOut: never,
    });
    assert.deepEqual(keys(diff.toDelete), ['/ConfigMap/shop/b']);
    assert.deepEqual(keys(diff.inventory), ['/ConfigMap/shop/a']);
  });

  it('refuses a corrupted inventory instead of guessing', () => {
    assert.throws(
      () => diffInventory({ previous: ['not-a-key'], desired: [], allowEmpty: true, optedOut: never }),
      /invalid object key/,
    );
  });
});

describe('isPruneOptedOut', () => {
  it('reads gitfleet.dev/prune: disabled from the live object', () => {
    const live = obj('v1', 'Secret', 'keep', 'shop');
    assert.equal(isPruneOptedOut(live), false);
    live.metadata.annotations = { [PRUNE_OPT_OUT_ANNOTATION]: PRUNE_OPT_OUT_VALUE };
    assert.equal(isPruneOptedOut(live), true);
    live.metadata.annotations = { 'gitfleet.dev/prune': 'enabled' };
    assert.equal(isPruneOptedOut(live), false);
    assert.equal(PRUNE_OPT_OUT_ANNOTATION, 'gitfleet.dev/prune');
  });
});
