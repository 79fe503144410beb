import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  collectionPath,
  currentNamespace,
  groupVersion,
  loadKubeConfig,
  mapConcurrent,
  objectPath,
} from './client.ts';

describe('paths', () => {
  const deployments = { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true };
  const namespaces = { group: '', version: 'v1', plural: 'namespaces', namespaced: false };

  it('builds core and group paths, namespaced and cluster-scoped', () => {
    assert.equal(objectPath(deployments, 'shop', 'web'), '/apis/apps/v1/namespaces/shop/deployments/web');
    assert.equal(objectPath(namespaces, '', 'shop'), '/api/v1/namespaces/shop');
    assert.equal(collectionPath(deployments, ''), '/apis/apps/v1/deployments');
    assert.equal(
      collectionPath({ group: '', version: 'v1', plural: 'configmaps' }, 'a'),
      '/api/v1/namespaces/a/configmaps',
    );
  });

  it('ignores a namespace on a cluster-scoped object, and escapes names', () => {
    assert.equal(objectPath(namespaces, 'stray', 'shop'), '/api/v1/namespaces/shop');
    assert.equal(
      objectPath(
        { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', namespaced: false },
        '',
        'system:x',
      ),
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Ax',
    );
  });

  it('writes group/version as apiVersion does', () => {
    assert.equal(groupVersion('', 'v1'), 'v1');
    assert.equal(groupVersion('apps', 'v1'), 'apps/v1');
  });
});

describe('mapConcurrent', () => {
  it('keeps the input order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const out = await mapConcurrent([5, 1, 4, 2, 3, 0], 2, async (n, i) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running -= 1;
      return `${i}:${n}`;
    });
    assert.deepEqual(out, ['0:5', '1:1', '2:4', '3:2', '4:3', '5:0']);
    assert.equal(most, 2);
  });

  it('handles no items, and refuses a limit below 1', async () => {
    assert.deepEqual(await mapConcurrent([], 3, async () => 1), []);
    await assert.rejects(
      mapConcurrent([1], 0, async () => 1),
      /positive integer/,
    );
  });

  it('rejects with the first error', async () => {
    await assert.rejects(
      mapConcurrent([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('two');
        return n;
      }),
      /two/,
    );
  });
});

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-kubeconfig-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: { server: 'https://127.0.0.1:6443' }
- name: b
  cluster: { server: 'https://127.0.0.2:6443' }
users:
- name: u
  user: { token: t }
contexts:
- name: ctx-a
  context: { cluster: a, user: u, namespace: agents }
- name: ctx-b
  context: { cluster: b, user: u }
current-context: ctx-a
`,
  );

  it('reads a kubeconfig file, its current context or the one asked for', () => {
    assert.equal(loadKubeConfig({ kubeconfig: file }).getCurrentCluster()?.server, 'https://127.0.0.1:6443');
    assert.equal(
      loadKubeConfig({ kubeconfig: file, context: 'ctx-b' }).getCurrentCluster()?.server,
      'https://127.0.0.2:6443',
    );
  });

  it('names the contexts there are when asked for one that is not', () => {
    assert.throws(
      () => loadKubeConfig({ kubeconfig: file, context: 'nope' }),
      /no context "nope" \(it has: ctx-a, ctx-b\)/,
    );
  });

  it('takes the namespace from the context', () => {
    assert.equal(currentNamespace(loadKubeConfig({ kubeconfig: file })), 'agents');
    assert.equal(
      currentNamespace(loadKubeConfig({ kubeconfig: file, context: 'ctx-b' }), 'fallback'),
      'fallback',
    );
  });
});
