// Health of the built-in kinds that are not apps/v1 workloads. Where we depart from kstatus it
// is because a fleet rollout waits on Current and halts on Failed, and kstatus answers a
// narrower question ("has the controller caught up?"); each departure says why.

import { condition, field, int, isTrue, list, ofTotal, str } from './fields.ts';
import type { HealthResult } from './types.ts';
import { current, failed, inProgress } from './types.ts';

// How long a Pod may be unschedulable before we call it Failed (kstatus uses the same window):
// the scheduler often needs a moment, or a node autoscaler a first try.
export const POD_SCHEDULE_GRACE_MS = 15_000;

// Container waiting reasons that do not resolve without a change: a crashing program, an image
// that does not exist or cannot be pulled, a missing ConfigMap or Secret key. kstatus calls
// only CrashLoopBackOff Failed; a wrong image tag is as permanent, and halting the rollout now
// beats waiting out its deadline. ErrImagePull is left out: it is the first, possibly transient
// failure, and turns into ImagePullBackOff when it repeats.
const FAILING_WAIT_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
]);

// kstatus calls a Pod whose phase is Failed "Current" (it has finished). A Pod in a bundle
// is meant to run, so here it is Failed.
export function podHealth(obj: unknown, now: number): HealthResult {
  const phase = str(obj, ['status', 'phase']);
  if (phase === 'Succeeded') return current('PodSucceeded', 'completed successfully');
  if (phase === 'Failed') {
    const why = str(obj, ['status', 'message']) || terminatedReasons(obj) || str(obj, ['status', 'reason']);
    return failed('PodFailed', `pod failed${why ? `: ${why}` : ''}`);
  }
  if (phase === 'Unknown')
    return { status: 'Unknown', reason: 'PodPhaseUnknown', message: 'its node is not reporting' };
  if (phase === '') return inProgress('PodNotObserved', 'no phase reported yet');

  const stuck = failingContainers(obj);
  if (stuck.length > 0) {
    const first = stuck[0] as { name: string; reason: string; message: string };
    return failed(
      first.reason,
      stuck
        .map((c) => `container "${c.name}" is in ${c.reason}${c.message ? `: ${c.message}` : ''}`)
        .join('; '),
    );
  }

  if (phase === 'Running') {
    if (isTrue(obj, 'Ready')) return current('PodReady', 'running and ready');
    const notReady = list(obj, ['status', 'containerStatuses'])
      .filter((c) => field(c, ['ready']) !== true)
      .map((c) => str(c, ['name']));
    return inProgress(
      'PodNotReady',
      notReady.length > 0 ? `running, containers not ready: ${notReady.join(', ')}` : 'running but not ready',
    );
  }

  // Pending
  const scheduled = condition(obj, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const created = Date.parse(str(obj, ['metadata', 'creationTimestamp']));
    if (Number.isFinite(created) && now - created < POD_SCHEDULE_GRACE_MS) {
      return inProgress('PodNotScheduled', 'not scheduled yet');
    }
    return failed(
      'PodUnschedulable',
      `cannot be scheduled${scheduled.message ? `: ${scheduled.message}` : ''}`,
    );
  }
  return inProgress('PodPending', 'pending');
}

function failingContainers(obj: unknown): { name: string; reason: string; message: string }[] {
  const statuses = [
    ...list(obj, ['status', 'initContainerStatuses']),
    ...list(obj, ['status', 'containerStatuses']),
  ];
  return statuses
    .map((c) => ({
      name: str(c, ['name']),
      reason: str(c, ['state', 'waiting', 'reason']),
      message: str(c, ['state', 'waiting', 'message']),
    }))
    .filter((c) => FAILING_WAIT_REASONS.has(c.reason));
}

function terminatedReasons(obj: unknown): string {
  return list(obj, ['status', 'containerStatuses'])
    .map((c) => {
      const reason = str(c, ['state', 'terminated', 'reason']);
      return reason ? `container "${str(c, ['name'])}" ${reason}` : '';
    })
    .filter((s) => s !== '')
    .join('; ');
}

// kstatus calls a running Job Current. A Job in a bundle is usually a migration or a seed the
// rest of the release depends on, so it is InProgress until it completes. A long-running
// worker Job keeps its fleet Progressing: such work belongs in a Deployment.
export function jobHealth(obj: unknown): HealthResult {
  const parallelism = int(obj, ['spec', 'parallelism'], 1);
  const completions = int(obj, ['spec', 'completions'], parallelism);
  const succeeded = int(obj, ['status', 'succeeded'], 0);
  const active = int(obj, ['status', 'active'], 0);
  const failedPods = int(obj, ['status', 'failed'], 0);

  const failedCond = condition(obj, 'Failed');
  if (failedCond?.status === 'True') {
    return failed(
      failedCond.reason || 'JobFailed',
      `job failed${failedCond.message ? `: ${failedCond.message}` : ''} (${failedPods} failed, ${succeeded} succeeded)`,
    );
  }
  if (isTrue(obj, 'Complete') || isTrue(obj, 'SuccessCriteriaMet')) {
    return current('JobComplete', `completed: ${ofTotal(succeeded, completions, 'completion', 'succeeded')}`);
  }
  // Suspending is how a bundle says "not now"; waiting on it would never end.
  if (isTrue(obj, 'Suspended')) return current('JobSuspended', 'suspended');
  if (str(obj, ['status', 'startTime']) === '') return inProgress('JobNotStarted', 'not started yet');
  return inProgress(
    'JobRunning',
    `running: ${ofTotal(succeeded, completions, 'completion', 'succeeded')}, ${active} active, ${failedPods} failed`,
  );
}

export function pvcHealth(obj: unknown): HealthResult {
  const phase = str(obj, ['status', 'phase']);
  if (phase === 'Bound') return current('Bound', 'bound');
  if (phase === 'Lost') return failed('ClaimLost', 'its bound volume no longer exists');
  // WaitForFirstConsumer storage classes keep a claim Pending until a pod uses it; that pod is
  // usually in the same bundle, so this resolves as the rollout goes on.
  return inProgress('NotBound', `waiting for a volume to bind (phase ${phase || 'not reported'})`);
}

export function serviceHealth(obj: unknown, requireLoadBalancerIngress: boolean): HealthResult {
  if (str(obj, ['spec', 'type'], 'ClusterIP') !== 'LoadBalancer' || !requireLoadBalancerIngress) {
    return current('ServiceReady', 'ready');
  }
  const ingress = list(obj, ['status', 'loadBalancer', 'ingress']);
  if (ingress.length === 0) return inProgress('NoLoadBalancerAddress', 'waiting for a load balancer address');
  const addresses = ingress.map((i) => str(i, ['ip']) || str(i, ['hostname'])).filter((a) => a !== '');
  return current('LoadBalancerReady', `load balancer at ${addresses.join(', ') || 'an address'}`);
}

export function crdHealth(obj: unknown): HealthResult {
  const names = condition(obj, 'NamesAccepted');
  if (names?.status === 'False') {
    return failed(names.reason || 'NamesNotAccepted', `names not accepted: ${names.message}`);
  }
  const established = condition(obj, 'Established');
  if (established?.status === 'True') return current('Established', 'established');
  if (established?.status === 'False' && established.reason !== 'Installing') {
    return failed(established.reason || 'NotEstablished', `not established: ${established.message}`);
  }
  return inProgress('Installing', 'waiting to be established');
}

export function namespaceHealth(obj: unknown): HealthResult {
  // Deletion is caught before this by deletionTimestamp; the phase says the same.
  if (str(obj, ['status', 'phase']) === 'Terminating') {
    return { status: 'Terminating', reason: 'Terminating', message: 'being deleted' };
  }
  return current('Active', 'active');
}
