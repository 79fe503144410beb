import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeHealth } from './health.ts';

const NOW = Date.parse('2025-11-20T10:05:00Z');

function pod(status: Record<string, unknown>, creationTimestamp = '2025-11-20T10:00:00Z') {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-7d9c5b8f6d-x2x7q', namespace: 'shop', creationTimestamp },
    spec: { containers: [{ name: 'web', image: 'ghcr.io/shop/web:1.4.2' }], nodeName: 'kwok-node-0' },
    status,
  };
}

const containerStatus = (state: Record<string, unknown>, ready = false) => ({
  name: 'web',
  image: 'ghcr.io/shop/web:1.4.2',
  imageID: '',
  ready,
  started: ready,
  restartCount: 4,
  state,
});

describe('Pod', () => {
  it('is Current when Running and Ready', () => {
    const h = computeHealth(
      pod({
        phase: 'Running',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Initialized', status: 'True' },
          { type: 'ContainersReady', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        containerStatuses: [containerStatus({ running: { startedAt: '2025-11-20T10:00:10Z' } }, true)],
      }),
      { now: NOW },
    );
    assert.equal(h.status, 'Current');
  });

  it('names the containers that are not ready', () => {
    const h = computeHealth(
      pod({
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
        containerStatuses: [containerStatus({ running: { startedAt: '2025-11-20T10:00:10Z' } })],
      }),
      { now: NOW },
    );
    assert.deepEqual(h, {
      status: 'InProgress',
      reason: 'PodNotReady',
      message: 'running, containers not ready: web',
    });
  });

  // A decision of ours (kstatus fails only CrashLoopBackOff): see core.ts.
  it('fails on CrashLoopBackOff and ImagePullBackOff, not on a first ErrImagePull', () => {
    const crash = computeHealth(
      pod({
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          containerStatus({
            waiting: {
              reason: 'CrashLoopBackOff',
              message: 'back-off 1m20s restarting failed container=web pod=web-7d9c5b8f6d-x2x7q_shop(5c1b)',
            },
          }),
        ],
      }),
      { now: NOW },
    );
    assert.equal(crash.status, 'Failed');
    assert.equal(crash.reason, 'CrashLoopBackOff');
    assert.match(crash.message, /^container "web" is in CrashLoopBackOff: back-off 1m20s/);

    const pull = computeHealth(
      pod({
        phase: 'Pending',
        containerStatuses: [
          containerStatus({
            waiting: {
              reason: 'ImagePullBackOff',
              message: 'Back-off pulling image "ghcr.io/shop/web:1.4.3"',
            },
          }),
        ],
      }),
      { now: NOW },
    );
    assert.equal(pull.status, 'Failed');
    assert.equal(pull.reason, 'ImagePullBackOff');

    const first = computeHealth(
      pod({
        phase: 'Pending',
        containerStatuses: [containerStatus({ waiting: { reason: 'ErrImagePull' } })],
      }),
      { now: NOW },
    );
    assert.equal(first.status, 'InProgress');
  });

  it('fails on a broken init container too', () => {
    const h = computeHealth(
      pod({
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'migrate',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "db" not found' } },
          },
        ],
      }),
      { now: NOW },
    );
    assert.equal(h.status, 'Failed');
    assert.equal(h.message, 'container "migrate" is in CreateContainerConfigError: secret "db" not found');
  });

  it('gives an unschedulable pod 15 seconds before failing it', () => {
    const unschedulable = {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message:
            '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
        },
      ],
    };
    assert.equal(
      computeHealth(pod(unschedulable, '2025-11-20T10:04:55Z'), { now: NOW }).status,
      'InProgress',
    );
    const h = computeHealth(pod(unschedulable), { now: NOW });
    assert.equal(h.status, 'Failed');
    assert.equal(h.reason, 'PodUnschedulable');
    assert.match(h.message, /^cannot be scheduled: 0\/3 nodes are available: 3 Insufficient cpu/);
  });

  // Another decision of ours: kstatus calls a failed pod Current (it has finished).
  it('fails a pod whose phase is Failed, and completes one that Succeeded', () => {
    const h = computeHealth(
      pod({
        phase: 'Failed',
        containerStatuses: [containerStatus({ terminated: { exitCode: 137, reason: 'OOMKilled' } })],
      }),
      { now: NOW },
    );
    assert.deepEqual(h, {
      status: 'Failed',
      reason: 'PodFailed',
      message: 'pod failed: container "web" OOMKilled',
    });
    assert.equal(computeHealth(pod({ phase: 'Succeeded' }), { now: NOW }).status, 'Current');
  });

  it('is InProgress before any phase and Unknown when the node is lost', () => {
    assert.equal(computeHealth(pod({}), { now: NOW }).reason, 'PodNotObserved');
    assert.equal(computeHealth(pod({ phase: 'Unknown' }), { now: NOW }).status, 'Unknown');
    assert.equal(computeHealth(pod({ phase: 'Pending' }), { now: NOW }).reason, 'PodPending');
  });
});

function job(spec: Record<string, unknown>, status: Record<string, unknown>) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate-42', namespace: 'shop', generation: 1 },
    spec: {
      backoffLimit: 3,
      completions: 1,
      parallelism: 1,
      template: { spec: { restartPolicy: 'Never' } },
      ...spec,
    },
    status,
  };
}

describe('Job', () => {
  it('is InProgress until it completes (a departure from kstatus, see core.ts)', () => {
    assert.deepEqual(computeHealth(job({}, {})), {
      status: 'InProgress',
      reason: 'JobNotStarted',
      message: 'not started yet',
    });
    assert.deepEqual(computeHealth(job({}, { startTime: '2025-11-20T10:00:00Z', active: 1, ready: 1 })), {
      status: 'InProgress',
      reason: 'JobRunning',
      message: 'running: 0 of 1 completion succeeded, 1 active, 0 failed',
    });
  });

  it('is Current once Complete', () => {
    const h = computeHealth(
      job(
        {},
        {
          startTime: '2025-11-20T10:00:00Z',
          completionTime: '2025-11-20T10:00:42Z',
          succeeded: 1,
          conditions: [
            { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached' },
            { type: 'Complete', status: 'True', reason: 'CompletionsReached' },
          ],
        },
      ),
    );
    assert.deepEqual(h, {
      status: 'Current',
      reason: 'JobComplete',
      message: 'completed: 1 of 1 completion succeeded',
    });
  });

  it('fails with the reason the Job controller gives', () => {
    const h = computeHealth(
      job(
        {},
        {
          startTime: '2025-11-20T10:00:00Z',
          failed: 4,
          conditions: [
            {
              type: 'FailureTarget',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        },
      ),
    );
    assert.deepEqual(h, {
      status: 'Failed',
      reason: 'BackoffLimitExceeded',
      message: 'job failed: Job has reached the specified backoff limit (4 failed, 0 succeeded)',
    });
  });

  it('is Current while suspended', () => {
    const h = computeHealth(
      job({ suspend: true }, { conditions: [{ type: 'Suspended', status: 'True', reason: 'JobSuspended' }] }),
    );
    assert.equal(h.status, 'Current');
  });

  it('counts completions by parallelism when completions is unset', () => {
    const h = computeHealth(
      job({ completions: undefined, parallelism: 3 }, { startTime: '2025-11-20T10:00:00Z', active: 3 }),
    );
    assert.match(h.message, /0 of 3 completions succeeded/);
  });
});

describe('PersistentVolumeClaim', () => {
  const pvc = (phase?: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data-db-0', namespace: 'shop' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '10Gi' } },
      storageClassName: 'standard',
    },
    status: phase === undefined ? {} : { phase },
  });

  it('is Current when Bound, InProgress when Pending, Failed when Lost', () => {
    assert.equal(computeHealth(pvc('Bound')).status, 'Current');
    assert.deepEqual(computeHealth(pvc('Pending')), {
      status: 'InProgress',
      reason: 'NotBound',
      message: 'waiting for a volume to bind (phase Pending)',
    });
    assert.equal(computeHealth(pvc()).message, 'waiting for a volume to bind (phase not reported)');
    assert.equal(computeHealth(pvc('Lost')).status, 'Failed');
  });
});

describe('Service', () => {
  const svc = (type: string, status: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'frontend-external', namespace: 'shop' },
    spec: {
      type,
      clusterIP: '10.96.14.2',
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      selector: { app: 'frontend' },
    },
    status,
  });

  it('is Current for a ClusterIP Service', () => {
    assert.equal(computeHealth(svc('ClusterIP', { loadBalancer: {} })).status, 'Current');
  });

  it('waits for a LoadBalancer address, unless told not to', () => {
    assert.deepEqual(computeHealth(svc('LoadBalancer', { loadBalancer: {} })), {
      status: 'InProgress',
      reason: 'NoLoadBalancerAddress',
      message: 'waiting for a load balancer address',
    });
    assert.equal(
      computeHealth(svc('LoadBalancer', { loadBalancer: {} }), { requireLoadBalancerIngress: false }).status,
      'Current',
    );
    const h = computeHealth(
      svc('LoadBalancer', { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }] } }),
    );
    assert.deepEqual(h, {
      status: 'Current',
      reason: 'LoadBalancerReady',
      message: 'load balancer at 203.0.113.10',
    });
    const byName = computeHealth(
      svc('LoadBalancer', { loadBalancer: { ingress: [{ hostname: 'a1b2.elb.amazonaws.com' }] } }),
    );
    assert.equal(byName.message, 'load balancer at a1b2.elb.amazonaws.com');
  });
});

describe('CustomResourceDefinition', () => {
  const crd = (conditions: unknown[]) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com', generation: 1 },
    spec: {
      group: 'example.com',
      names: { kind: 'Widget', plural: 'widgets' },
      scope: 'Namespaced',
      versions: [],
    },
    status: { conditions, acceptedNames: { kind: 'Widget', plural: 'widgets' }, storedVersions: ['v1'] },
  });

  it('is Current once Established', () => {
    const h = computeHealth(
      crd([
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
        {
          type: 'Established',
          status: 'True',
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
        },
      ]),
    );
    assert.equal(h.status, 'Current');
  });

  it('is InProgress while installing, Failed when its names conflict', () => {
    assert.equal(
      computeHealth(
        crd([
          {
            type: 'Established',
            status: 'False',
            reason: 'Installing',
            message: 'the initial names have not been accepted',
          },
        ]),
      ).status,
      'InProgress',
    );
    assert.equal(computeHealth(crd([])).reason, 'Installing');
    const h = computeHealth(
      crd([
        {
          type: 'NamesAccepted',
          status: 'False',
          reason: 'MultipleNamesConflict',
          message: '"widgets" is already in use',
        },
        {
          type: 'Established',
          status: 'False',
          reason: 'NotAccepted',
          message: 'not all names are accepted',
        },
      ]),
    );
    assert.deepEqual(h, {
      status: 'Failed',
      reason: 'MultipleNamesConflict',
      message: 'names not accepted: "widgets" is already in use',
    });
  });
});

describe('Namespace', () => {
  it('is Current when Active and Terminating when being deleted', () => {
    const ns = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop' },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    assert.equal(computeHealth(ns).status, 'Current');
    assert.equal(computeHealth({ ...ns, status: { phase: 'Terminating' } }).status, 'Terminating');
    const deleting = computeHealth({
      ...ns,
      metadata: { name: 'shop', deletionTimestamp: '2025-11-20T10:00:00Z' },
    });
    assert.deepEqual(deleting, { status: 'Terminating', reason: 'Terminating', message: 'being deleted' });
  });
});
