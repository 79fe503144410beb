import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectionPath, groupVersion, mapConcurrent, objectPath } from './client.ts';

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
