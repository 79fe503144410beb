import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { API_VERSIONS_LIMITS } from '@gitfleet/proto';
import {
  addAggregated,
  addResourceList,
  classicGroupVersions,
  discoverApiVersions,
  isAggregatedList,
  withinLimits,
} from './discovery.ts';

describe('API discovery as Helm reads it', () => {
  test('an aggregated document gives each group version and its kinds, not subresources', () => {
    const doc = {
      kind: 'APIGroupDiscoveryList',
      apiVersion: 'apidiscovery.k8s.io/v2',
      items: [
        {
          metadata: { name: 'apps' },
          versions: [
            {
              version: 'v1',
              resources: [
                { resource: 'deployments', responseKind: { kind: 'Deployment' }, subresources: [{}] },
              ],
            },
          ],
        },
        {
          metadata: { name: 'metrics.example.com' },
          versions: [
            { version: 'v1beta1', freshness: 'Stale', resources: [{ responseKind: { kind: 'X' } }] },
          ],
        },
      ],
    };
    assert.ok(isAggregatedList(doc));
    const found = new Set<string>();
    const stale = addAggregated(found, doc);
    assert.deepEqual([...found].sort(), ['apps/v1', 'apps/v1/Deployment', 'metrics.example.com/v1beta1']);
    assert.equal(stale.length, 1);
    assert.match(stale[0]!, /metrics\.example\.com\/v1beta1.*stale/);
  });

  test('classic documents: every version of every group, kinds without subresources', () => {
    assert.deepEqual(classicGroupVersions({ versions: ['v1'] }), ['v1']);
    assert.deepEqual(
      classicGroupVersions({
        groups: [{ name: 'batch', versions: [{ groupVersion: 'batch/v1' }, { version: 'v1beta1' }] }],
      }),
      ['batch/v1', 'batch/v1beta1'],
    );
    const found = new Set<string>();
    addResourceList(found, 'v1', {
      resources: [
        { name: 'pods', kind: 'Pod' },
        { name: 'pods/log', kind: 'Pod' },
        { name: 'bindings', kind: 'Binding' },
      ],
    });
    assert.deepEqual([...found].sort(), ['v1/Binding', 'v1/Pod']);
  });

  test('what the control plane would refuse is left out and named; too long a list is not sent', () => {
    const kept = withinLimits(['v1', 'apps/v1', 'bad entry', 'x'.repeat(API_VERSIONS_LIMITS.length + 1)]);
    assert.deepEqual(kept.apiVersions, ['v1', 'apps/v1']);
    assert.equal(kept.problems.length, 2);
    const many = Array.from({ length: API_VERSIONS_LIMITS.entries + 1 }, (_, i) => `g${i}.example.com/v1`);
    const none = withinLimits(many);
    assert.deepEqual(none.apiVersions, []);
    assert.match(none.problems[0]!, /none are sent/);
  });

  test('falls back to classic discovery, keeps what it read when a group version fails', async () => {
    const answers: Record<string, { status: number; body: unknown }> = {
      '/api': { status: 200, body: { kind: 'APIVersions', versions: ['v1'] } },
      '/apis': {
        status: 200,
        body: {
          kind: 'APIGroupList',
          groups: [
            { name: 'apps', versions: [{ groupVersion: 'apps/v1' }] },
            { name: 'broken.example.com', versions: [{ groupVersion: 'broken.example.com/v1' }] },
          ],
        },
      },
      '/api/v1': { status: 200, body: { resources: [{ name: 'configmaps', kind: 'ConfigMap' }] } },
      '/apis/apps/v1': { status: 200, body: { resources: [{ name: 'deployments', kind: 'Deployment' }] } },
      '/apis/broken.example.com/v1': { status: 503, body: { message: 'service unavailable' } },
    };
    const client = {
      request: async (req: { path: string }) => {
        const a = answers[req.path];
        if (!a) throw new Error(`unexpected ${req.path}`);
        return { status: a.status, body: a.body, headers: {} };
      },
    };
    const summary = await discoverApiVersions(client as never);
    assert.deepEqual(summary.apiVersions, [
      'apps/v1',
      'apps/v1/Deployment',
      'broken.example.com/v1',
      'v1',
      'v1/ConfigMap',
    ]);
    assert.equal(summary.problems.length, 1);
    assert.match(summary.problems[0]!, /broken\.example\.com\/v1: HTTP 503: service unavailable/);
  });
});
