import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectRef } from '../objects.ts';
import { parseRefKey } from '../objects.ts';
import type { HealthResult, ObjectHealth } from './health.ts';
import { aggregateHealth, computeHealth, notFoundHealth } from './health.ts';

// A Flux-style custom resource: observedGeneration and a Ready condition.
function kustomization(generation: number, status: Record<string, unknown>) {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'apps', namespace: 'flux-system', generation },
    spec: {
      interval: '10m',
      path: './apps',
      prune: true,
      sourceRef: { kind: 'GitRepository', name: 'fleet' },
    },
    status,
  };
}

const ready = (status: string, reason: string, message: string, observedGeneration?: number) => ({
  type: 'Ready',
  status,
  reason,
  message,
  lastTransitionTime: '2025-11-20T10:00:00Z',
  ...(observedGeneration === undefined ? {} : { observedGeneration }),
});

describe('computeHealth: generic rules', () => {
  it('calls objects without status Current (ConfigMap, Secret, RBAC)', () => {
    for (const obj of [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'shop' },
        data: { LOG_LEVEL: 'info' },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'shop' },
        type: 'Opaque',
        data: {},
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: 'shop' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'web-read' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      },
    ]) {
      assert.deepEqual(computeHealth(obj), {
        status: 'Current',
        reason: 'NoStatus',
        message: 'has no status to wait for',
      });
    }
  });

  it('calls any object being deleted Terminating, naming its finalizers', () => {
    const h = computeHealth({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        deletionTimestamp: '2025-11-20T10:00:00Z',
        finalizers: ['example.com/drain'],
      },
      status: { replicas: 3, readyReplicas: 3 },
    });
    assert.deepEqual(h, {
      status: 'Terminating',
      reason: 'Terminating',
      message: 'being deleted, waiting for finalizers: example.com/drain',
    });
  });

  it('follows Ready on custom resources', () => {
    const ok = computeHealth(
      kustomization(3, {
        observedGeneration: 3,
        conditions: [ready('True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:5b1c0e7')],
      }),
    );
    assert.deepEqual(ok, {
      status: 'Current',
      reason: 'Ready',
      message: 'Applied revision: main@sha1:5b1c0e7',
    });

    const waiting = computeHealth(
      kustomization(3, {
        observedGeneration: 3,
        conditions: [ready('False', 'DependencyNotReady', "dependency 'flux-system/infra' is not ready")],
      }),
    );
    assert.deepEqual(waiting, {
      status: 'InProgress',
      reason: 'DependencyNotReady',
      message: "Ready is False: dependency 'flux-system/infra' is not ready",
    });
  });

  it('calls a False Ready Failed when its reason says failure', () => {
    const h = computeHealth(
      kustomization(3, {
        observedGeneration: 3,
        conditions: [
          ready('False', 'ReconciliationFailed', 'Deployment/shop/web dry-run failed: field is immutable'),
        ],
      }),
    );
    assert.equal(h.status, 'Failed');
    assert.equal(h.reason, 'ReconciliationFailed');
    const knative = computeHealth({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace: 'shop', generation: 1 },
      status: {
        observedGeneration: 1,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'RevisionFailed',
            message: 'Revision "hello-00001" failed',
          },
        ],
      },
    });
    // A Service outside the core group gets the generic rules, not the core Service rule.
    assert.equal(knative.status, 'Failed');
  });

  it('ignores a Ready condition written for an older generation', () => {
    const h = computeHealth(
      kustomization(4, {
        conditions: [ready('False', 'ReconciliationFailed', 'old failure', 3)],
      }),
    );
    assert.equal(h.status, 'InProgress');
    assert.equal(h.reason, 'LatestGenerationNotObserved');
  });

  it('waits for the controller to observe the latest generation before reading conditions', () => {
    const h = computeHealth(
      kustomization(4, {
        observedGeneration: 3,
        conditions: [ready('True', 'ReconciliationSucceeded', 'ok')],
      }),
    );
    assert.equal(h.status, 'InProgress');
    assert.equal(h.reason, 'LatestGenerationNotObserved');
  });

  it('follows the kstatus standard conditions Reconciling and Stalled first', () => {
    const reconciling = computeHealth(
      kustomization(3, {
        observedGeneration: 3,
        conditions: [
          {
            type: 'Reconciling',
            status: 'True',
            reason: 'Progressing',
            message: 'Building manifests for revision main@sha1:5b1c0e7',
          },
          ready('Unknown', 'Progressing', 'Reconciliation in progress'),
        ],
      }),
    );
    assert.deepEqual(reconciling, {
      status: 'InProgress',
      reason: 'Progressing',
      message: 'Building manifests for revision main@sha1:5b1c0e7',
    });
    const stalled = computeHealth(
      kustomization(3, {
        observedGeneration: 3,
        conditions: [
          { type: 'Stalled', status: 'True', reason: 'InvalidPath', message: 'path ./apps does not exist' },
          ready('False', 'InvalidPath', 'path ./apps does not exist'),
        ],
      }),
    );
    assert.deepEqual(stalled, {
      status: 'Failed',
      reason: 'InvalidPath',
      message: 'path ./apps does not exist',
    });
  });

  it('falls back to Available when there is no Ready condition', () => {
    const apiService = {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io' },
      status: {
        conditions: [
          {
            type: 'Available',
            status: 'False',
            reason: 'MissingEndpoints',
            message:
              'endpoints for service/metrics-server in "kube-system" have no addresses with port name "https"',
          },
        ],
      },
    };
    const h = computeHealth(apiService);
    assert.equal(h.status, 'InProgress');
    assert.equal(h.reason, 'MissingEndpoints');
  });

  it('treats Ready Unknown as progress', () => {
    const h = computeHealth(
      kustomization(1, { observedGeneration: 1, conditions: [ready('Unknown', '', '')] }),
    );
    assert.deepEqual(h, { status: 'InProgress', reason: 'NotReady', message: 'Ready is Unknown' });
  });

  it('calls a status without known conditions Current', () => {
    const h = computeHealth({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'podinfo', namespace: 'podinfo' },
      status: {
        currentReplicas: 2,
        desiredReplicas: 2,
        conditions: [{ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale' }],
      },
    });
    assert.equal(h.status, 'Current');
  });

  it('returns Unknown for something that is not an object, never throws', () => {
    assert.equal(computeHealth(null).status, 'Unknown');
    assert.equal(computeHealth('Deployment').status, 'Unknown');
    const odd = computeHealth({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      status: { conditions: 'nope', replicas: 'three' },
    });
    assert.equal(odd.status, 'InProgress');
  });
});

describe('aggregateHealth', () => {
  const at = (key: string, health: HealthResult): ObjectHealth => ({
    ref: parseRefKey(key) as ObjectRef,
    health,
  });
  const ok: HealthResult = { status: 'Current', reason: 'NoStatus', message: 'has no status to wait for' };

  it('is Ready when every object is Current, and for no objects', () => {
    const a = aggregateHealth([at('/ConfigMap/shop/a', ok), at('/ConfigMap/shop/b', ok)]);
    assert.equal(a.phase, 'Ready');
    assert.equal(a.message, 'all 2 objects current');
    assert.equal(a.counts.Current, 2);
    assert.deepEqual(aggregateHealth([]).phase, 'Ready');
  });

  it('is Progressing, naming the first object not yet ready', () => {
    const a = aggregateHealth([
      at('/ConfigMap/shop/a', ok),
      at('apps/Deployment/shop/web', {
        status: 'InProgress',
        reason: 'LessReady',
        message: '2 of 3 replicas ready',
      }),
      at('apps/Deployment/shop/api', {
        status: 'Terminating',
        reason: 'Terminating',
        message: 'being deleted',
      }),
      at('/ConfigMap/shop/gone', notFoundHealth()),
    ]);
    assert.equal(a.phase, 'Progressing');
    assert.equal(a.message, 'Deployment/shop/web: 2 of 3 replicas ready (and 2 more not ready)');
    assert.equal(a.counts.NotFound, 1);
  });

  it('is Failed when any object failed, naming the first failure', () => {
    const a = aggregateHealth([
      at('apps/Deployment/shop/api', {
        status: 'InProgress',
        reason: 'LessReady',
        message: '0 of 1 replica ready',
      }),
      at('apps/Deployment/shop/web', {
        status: 'Failed',
        reason: 'ProgressDeadlineExceeded',
        message: 'rollout made no progress within 600s',
      }),
    ]);
    assert.equal(a.phase, 'Failed');
    assert.equal(a.message, 'Deployment/shop/web: rollout made no progress within 600s');
  });
});
