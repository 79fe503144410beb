import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeHealth } from './health.ts';

// Live objects as the API server returns them (trimmed to what matters for status).
function deployment(spec: Record<string, unknown>, status: Record<string, unknown>, generation = 2) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: '5c1bbf0e-8f3e-4a53-9d0e-3f1e3a0c1a01',
      generation,
      resourceVersion: '48213',
      creationTimestamp: '2025-11-20T10:00:00Z',
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    },
    spec: {
      replicas: 3,
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'ghcr.io/shop/web:1.4.2' }] },
      },
      ...spec,
    },
    status: { observedGeneration: generation, ...status },
  };
}

const availableTrue = {
  type: 'Available',
  status: 'True',
  lastUpdateTime: '2025-11-20T10:01:00Z',
  lastTransitionTime: '2025-11-20T10:01:00Z',
  reason: 'MinimumReplicasAvailable',
  message: 'Deployment has minimum availability.',
};
const progressingDone = {
  type: 'Progressing',
  status: 'True',
  lastUpdateTime: '2025-11-20T10:02:00Z',
  lastTransitionTime: '2025-11-20T10:00:00Z',
  reason: 'NewReplicaSetAvailable',
  message: 'ReplicaSet "web-7d9c5b8f6d" has successfully progressed.',
};
const progressingUpdating = {
  ...progressingDone,
  reason: 'ReplicaSetUpdated',
  message: 'ReplicaSet "web-6f7b9c4d8" is progressing.',
};

describe('Deployment', () => {
  it('is Current when every replica is updated, ready and available', () => {
    const h = computeHealth(
      deployment(
        {},
        {
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [availableTrue, progressingDone],
        },
      ),
    );
    assert.deepEqual(h, {
      status: 'Current',
      reason: 'Available',
      message: '3 replicas updated and available',
    });
  });

  it('is InProgress while the controller has not seen the new generation', () => {
    const d = deployment({}, { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }, 3);
    d.status.observedGeneration = 2;
    const h = computeHealth(d);
    assert.equal(h.status, 'InProgress');
    assert.equal(h.reason, 'LatestGenerationNotObserved');
    assert.match(h.message, /generation 3 yet \(observed 2\)/);
  });

  it('says how many replicas are ready', () => {
    const h = computeHealth(
      deployment(
        {},
        {
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 2,
          availableReplicas: 2,
          unavailableReplicas: 1,
          conditions: [availableTrue, progressingUpdating],
        },
      ),
    );
    assert.deepEqual(h, { status: 'InProgress', reason: 'LessReady', message: '2 of 3 replicas ready' });
  });

  it('waits for the rollout: updated replicas, then old ones terminating', () => {
    const midRollout = computeHealth(
      deployment(
        {},
        {
          replicas: 4,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [availableTrue, progressingUpdating],
        },
      ),
    );
    assert.deepEqual(midRollout, {
      status: 'InProgress',
      reason: 'LessUpdated',
      message: '1 of 3 replicas updated',
    });
    const terminating = computeHealth(
      deployment(
        {},
        {
          replicas: 4,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [availableTrue, progressingUpdating],
        },
      ),
    );
    assert.deepEqual(terminating, {
      status: 'InProgress',
      reason: 'ExtraPods',
      message: '1 old replica pending termination',
    });
  });

  it('waits for minReadySeconds: ready but not yet available', () => {
    const h = computeHealth(
      deployment(
        { minReadySeconds: 30 },
        {
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 1,
          conditions: [availableTrue, progressingUpdating],
        },
      ),
    );
    assert.deepEqual(h, {
      status: 'InProgress',
      reason: 'LessAvailable',
      message: '1 of 3 updated replicas available',
    });
  });

  it('waits for the Progressing condition to say the new ReplicaSet is available', () => {
    const h = computeHealth(
      deployment(
        {},
        {
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [availableTrue, progressingUpdating],
        },
      ),
    );
    assert.equal(h.reason, 'NewReplicaSetNotAvailable');
  });

  it('fails with ProgressDeadlineExceeded and the controller message', () => {
    const h = computeHealth(
      deployment(
        {},
        {
          replicas: 4,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
          unavailableReplicas: 1,
          conditions: [
            availableTrue,
            {
              type: 'Progressing',
              status: 'False',
              lastUpdateTime: '2025-11-20T10:12:00Z',
              lastTransitionTime: '2025-11-20T10:12:00Z',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "web-6f7b9c4d8" has timed out progressing.',
            },
          ],
        },
      ),
    );
    assert.deepEqual(h, {
      status: 'Failed',
      reason: 'ProgressDeadlineExceeded',
      message: 'rollout made no progress within 600s: ReplicaSet "web-6f7b9c4d8" has timed out progressing.',
    });
  });

  it('shows why pods cannot be created (quota, PodSecurity)', () => {
    const h = computeHealth(
      deployment(
        {},
        {
          replicas: 0,
          unavailableReplicas: 3,
          conditions: [
            {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            },
            {
              type: 'ReplicaFailure',
              status: 'True',
              reason: 'FailedCreate',
              message:
                'pods "web-7d9c5b8f6d-x2x7q" is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=8',
            },
            progressingUpdating,
          ],
        },
      ),
    );
    assert.equal(h.status, 'InProgress');
    assert.equal(h.reason, 'ReplicaFailure');
    assert.match(
      h.message,
      /^0 of 3 replicas created: pods "web-7d9c5b8f6d-x2x7q" is forbidden: exceeded quota/,
    );
  });

  it('treats a missing spec.replicas as 1 and a scale to zero as done', () => {
    const one = deployment(
      {},
      {
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        conditions: [availableTrue, progressingDone],
      },
    );
    delete (one.spec as { replicas?: number }).replicas;
    assert.equal(computeHealth(one).status, 'Current');
    const zero = computeHealth(deployment({ replicas: 0 }, { conditions: [availableTrue, progressingDone] }));
    assert.equal(zero.status, 'Current');
    assert.equal(zero.message, '0 replicas updated and available');
  });

  it('is InProgress with no status at all (just created)', () => {
    const d = deployment({}, {});
    d.status = {} as typeof d.status;
    assert.deepEqual(computeHealth(d), {
      status: 'InProgress',
      reason: 'LessReplicas',
      message: '0 of 3 replicas created',
    });
  });

  it('says so when the rollout is paused', () => {
    const mid = computeHealth(
      deployment(
        { paused: true },
        {
          replicas: 3,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [
            availableTrue,
            {
              ...progressingDone,
              status: 'Unknown',
              reason: 'DeploymentPaused',
              message: 'Deployment is paused',
            },
          ],
        },
      ),
    );
    assert.deepEqual(mid, {
      status: 'InProgress',
      reason: 'DeploymentPaused',
      message: '1 of 3 replicas updated (rollout paused)',
    });
    const done = computeHealth(
      deployment(
        { paused: true },
        {
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [availableTrue, { ...progressingDone, status: 'Unknown', reason: 'DeploymentPaused' }],
        },
      ),
    );
    assert.equal(done.status, 'Current');
  });
});

function statefulSet(spec: Record<string, unknown>, status: Record<string, unknown>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'shop', generation: 4 },
    spec: {
      replicas: 3,
      serviceName: 'db',
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { containers: [{ name: 'db', image: 'postgres:17' }] },
      },
      ...spec,
    },
    status: {
      observedGeneration: 4,
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
      currentRevision: 'db-5d8f7c9b6',
      updateRevision: 'db-5d8f7c9b6',
      collisionCount: 0,
      ...status,
    },
  };
}

describe('StatefulSet', () => {
  it('is Current when all replicas run the update revision', () => {
    assert.deepEqual(computeHealth(statefulSet({}, {})), {
      status: 'Current',
      reason: 'AllReplicasReady',
      message: '3 replicas updated and ready',
    });
  });

  it('counts ready replicas', () => {
    assert.deepEqual(computeHealth(statefulSet({}, { readyReplicas: 1, availableReplicas: 1 })), {
      status: 'InProgress',
      reason: 'LessReady',
      message: '1 of 3 replicas ready',
    });
  });

  it('waits for the rolling update to reach every pod', () => {
    const h = computeHealth(
      statefulSet({}, { updatedReplicas: 1, currentReplicas: 2, updateRevision: 'db-7f9c6d5b4' }),
    );
    assert.deepEqual(h, { status: 'InProgress', reason: 'LessUpdated', message: '1 of 3 replicas updated' });
    const revs = computeHealth(statefulSet({}, { updateRevision: 'db-7f9c6d5b4' }));
    assert.equal(revs.reason, 'RevisionMismatch');
    assert.match(revs.message, /rolling out revision db-7f9c6d5b4 \(current db-5d8f7c9b6\)/);
  });

  it('honours a partition: replicas below it stay on the old revision', () => {
    const partial = statefulSet(
      { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
      { updatedReplicas: 0, currentReplicas: 3, updateRevision: 'db-7f9c6d5b4' },
    );
    assert.deepEqual(computeHealth(partial), {
      status: 'InProgress',
      reason: 'PartitionRollout',
      message: '0 of 1 replica updated (partition 2)',
    });
    partial.status.updatedReplicas = 1;
    const done = computeHealth(partial);
    assert.equal(done.status, 'Current');
    assert.equal(done.reason, 'PartitionRolledOut');
  });

  it('does not wait for updates under OnDelete', () => {
    const h = computeHealth(
      statefulSet(
        { updateStrategy: { type: 'OnDelete' } },
        { updatedReplicas: 0, updateRevision: 'db-7f9c6d5b4' },
      ),
    );
    assert.equal(h.status, 'Current');
    assert.equal(h.reason, 'OnDelete');
  });

  it('waits for scale-up and scale-down', () => {
    assert.equal(computeHealth(statefulSet({ replicas: 5 }, {})).reason, 'LessReplicas');
    assert.equal(computeHealth(statefulSet({ replicas: 2 }, {})).reason, 'ExtraPods');
  });
});

function daemonSet(status: Record<string, unknown>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'node-exporter', namespace: 'monitoring', generation: 1 },
    spec: {
      selector: { matchLabels: { app: 'node-exporter' } },
      template: {
        spec: { containers: [{ name: 'node-exporter', image: 'quay.io/prometheus/node-exporter:v1.8.2' }] },
      },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
    },
    status: {
      observedGeneration: 1,
      currentNumberScheduled: 4,
      desiredNumberScheduled: 4,
      numberAvailable: 4,
      numberMisscheduled: 0,
      numberReady: 4,
      updatedNumberScheduled: 4,
      ...status,
    },
  };
}

describe('DaemonSet', () => {
  it('is Current when every node runs a ready, updated pod', () => {
    assert.deepEqual(computeHealth(daemonSet({})), {
      status: 'Current',
      reason: 'AllPodsReady',
      message: '4 pods updated and ready',
    });
  });

  it('names what is missing', () => {
    assert.equal(
      computeHealth(daemonSet({ currentNumberScheduled: 3 })).message,
      '3 of 4 nodes running a pod',
    );
    assert.equal(computeHealth(daemonSet({ updatedNumberScheduled: 2 })).message, '2 of 4 pods updated');
    assert.equal(
      computeHealth(daemonSet({ numberReady: 3, numberAvailable: 3 })).message,
      '3 of 4 pods ready',
    );
    assert.equal(computeHealth(daemonSet({ numberAvailable: 3 })).message, '3 of 4 pods available');
  });

  it('waits for the controller to report at all', () => {
    const fresh = daemonSet({});
    fresh.status = {} as typeof fresh.status;
    assert.equal(computeHealth(fresh).reason, 'NotObserved');
    const noDesired = daemonSet({});
    delete (noDesired.status as { desiredNumberScheduled?: number }).desiredNumberScheduled;
    assert.equal(computeHealth(noDesired).reason, 'NoDesiredNumber');
  });

  it('is Current when no node matches', () => {
    const h = computeHealth(
      daemonSet({
        currentNumberScheduled: 0,
        desiredNumberScheduled: 0,
        numberAvailable: 0,
        numberReady: 0,
        updatedNumberScheduled: 0,
      }),
    );
    assert.equal(h.status, 'Current');
  });
});

describe('ReplicaSet', () => {
  const rs = (status: Record<string, unknown>) => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-7d9c5b8f6d', namespace: 'shop', generation: 1 },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } } },
    status: {
      observedGeneration: 1,
      replicas: 2,
      fullyLabeledReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      ...status,
    },
  });

  it('is Current when all replicas are available', () => {
    assert.equal(computeHealth(rs({})).status, 'Current');
  });

  it('counts ready replicas and surfaces ReplicaFailure', () => {
    assert.equal(
      computeHealth(rs({ readyReplicas: 1, availableReplicas: 1 })).message,
      '1 of 2 replicas ready',
    );
    const h = computeHealth(
      rs({
        replicas: 0,
        readyReplicas: 0,
        availableReplicas: 0,
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message:
              'pods "web-7d9c5b8f6d-" is forbidden: error looking up service account shop/web: serviceaccount "web" not found',
          },
        ],
      }),
    );
    assert.equal(h.reason, 'ReplicaFailure');
    assert.match(h.message, /serviceaccount "web" not found/);
  });
});
