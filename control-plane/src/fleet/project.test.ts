import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clustersOf, holdsFleet, matchesPattern, objectProblems, type Project } from './project.ts';

const shop: Project = {
  name: 'shop',
  description: '',
  fleets: ['shop-*'],
  clusters: 'team=shop',
  namespaces: ['shop', 'shop-*'],
  clusterScoped: false,
  deniedKinds: ['rbac.authorization.k8s.io/*', 'Secret'],
  repos: ['https://git.example.com/shop/*'],
  roles: {
    viewer: { groups: [], tokens: [] },
    operator: { groups: [], tokens: [] },
    admin: { groups: [], tokens: [] },
  },
};

test('patterns: * is any run of characters, the rest is literal', () => {
  assert.ok(matchesPattern('shop-*', 'shop-web'));
  assert.ok(!matchesPattern('shop-*', 'shopweb'));
  assert.ok(matchesPattern('a.b', 'a.b') && !matchesPattern('a.b', 'axb'));
  assert.ok(holdsFleet(shop, 'shop-api') && !holdsFleet(shop, 'billing'));
});

test('a project selects only the clusters of its selector', () => {
  const clusters: { name: string; labels: Record<string, string> }[] = [
    { name: 'a', labels: { team: 'shop' } },
    { name: 'b', labels: { team: 'billing' } },
    { name: 'c', labels: {} },
  ];
  assert.deepEqual(
    clustersOf(shop, clusters).map((c) => c.name),
    ['a'],
  );
});

test('objects outside the namespaces, cluster-scoped or of a denied kind are refused, naming object and rule', () => {
  const problems = objectProblems(
    shop,
    [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok', namespace: 'shop-web' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'elsewhere', namespace: 'kube-system' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unset' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop-new' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'r', namespace: 'shop' },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'shop' } },
    ],
    'deploy/fleet.yaml',
  );
  assert.deepEqual(
    problems.map((p) => p.message),
    [
      'deploy/fleet.yaml: ConfigMap kube-system/elsewhere: project shop does not allow namespace kube-system (namespaces: shop, shop-*)',
      'deploy/fleet.yaml: ConfigMap unset: project shop does not allow namespace default (namespaces: shop, shop-*)',
      'deploy/fleet.yaml: Namespace shop-new: project shop does not allow cluster-scoped objects (clusterScoped: false)',
      'deploy/fleet.yaml: Role shop/r: project shop does not allow kind rbac.authorization.k8s.io/Role (deniedKinds: rbac.authorization.k8s.io/*)',
      'deploy/fleet.yaml: Secret shop/s: project shop does not allow kind Secret (deniedKinds: Secret)',
    ],
  );
  assert.ok(problems.every((p) => p.code === 'ProjectRule'));
});
