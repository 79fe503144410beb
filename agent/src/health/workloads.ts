// Health of the apps/v1 workloads, following kstatus: their controllers report counts, not
// Ready conditions, so readiness is read from the counts. Messages say what is missing.
// All of these run after the generic checks (deletion, observedGeneration) in health.ts.

import { condition, int, isTrue, ofTotal, plural, str } from './fields.ts';
import type { HealthResult } from './types.ts';
import { current, failed, inProgress } from './types.ts';

export function deploymentHealth(obj: unknown): HealthResult {
  const progressingCond = condition(obj, 'Progressing');
  if (progressingCond?.reason === 'ProgressDeadlineExceeded') {
    const deadline = int(obj, ['spec', 'progressDeadlineSeconds'], 0);
    const within = deadline > 0 ? ` within ${deadline}s` : '';
    return failed(
      'ProgressDeadlineExceeded',
      `rollout made no progress${within}${progressingCond.message ? `: ${progressingCond.message}` : ''}`,
    );
  }

  const paused = isPaused(obj);
  const pausedNote = paused ? ' (rollout paused)' : '';
  // Quota, PodSecurity and admission refusals surface here, and say more than the counts.
  const replicaFailure = condition(obj, 'ReplicaFailure');
  const failure = replicaFailure?.status === 'True' ? replicaFailure : undefined;
  const shortfall = (reason: string, message: string) =>
    failure
      ? inProgress('ReplicaFailure', `${message}${pausedNote}: ${failure.message || failure.reason}`)
      : inProgress(paused ? 'DeploymentPaused' : reason, `${message}${pausedNote}`);

  // The controller treats a missing spec.replicas as 1.
  const spec = int(obj, ['spec', 'replicas'], 1);
  const replicas = int(obj, ['status', 'replicas'], 0);
  const updated = int(obj, ['status', 'updatedReplicas'], 0);
  const ready = int(obj, ['status', 'readyReplicas'], 0);
  const available = int(obj, ['status', 'availableReplicas'], 0);

  if (spec > replicas) return shortfall('LessReplicas', ofTotal(replicas, spec, 'replica', 'created'));
  if (spec > updated) return shortfall('LessUpdated', ofTotal(updated, spec, 'replica', 'updated'));
  if (replicas > spec)
    return shortfall('ExtraPods', `${plural(replicas - spec, 'old replica')} pending termination`);
  // Ready before available: pods become available minReadySeconds after they are ready.
  if (spec > ready) return shortfall('LessReady', ofTotal(ready, spec, 'replica', 'ready'));
  if (updated > available)
    return shortfall('LessAvailable', ofTotal(available, updated, 'updated replica', 'available'));

  // Without progressDeadlineSeconds the controller never sets Progressing; the API server
  // defaults it, so live objects have it, but a manifest may not.
  const hasDeadline = int(obj, ['spec', 'progressDeadlineSeconds'], -1) >= 0;
  const newRsAvailable =
    progressingCond?.status === 'True' && progressingCond.reason === 'NewReplicaSetAvailable';
  if (hasDeadline && !newRsAvailable && !paused) {
    return inProgress('NewReplicaSetNotAvailable', 'waiting for the new ReplicaSet to become available');
  }
  if (!isTrue(obj, 'Available')) {
    const av = condition(obj, 'Available');
    return inProgress('DeploymentNotAvailable', `not Available${av?.message ? `: ${av.message}` : ''}`);
  }
  return current('Available', `${plural(replicas, 'replica')} updated and available${pausedNote}`);
}

function isPaused(obj: unknown): boolean {
  return (obj as { spec?: { paused?: unknown } }).spec?.paused === true;
}

// StatefulSet sets no conditions, so a failed rollout looks like one in progress; the
// rollout's progress deadline at the fleet level is what turns it into a failure.
export function statefulSetHealth(obj: unknown): HealthResult {
  const spec = int(obj, ['spec', 'replicas'], 1);
  const replicas = int(obj, ['status', 'replicas'], 0);
  const ready = int(obj, ['status', 'readyReplicas'], 0);
  const updated = int(obj, ['status', 'updatedReplicas'], 0);

  if (spec > replicas) return inProgress('LessReplicas', ofTotal(replicas, spec, 'replica', 'created'));
  if (spec > ready) return inProgress('LessReady', ofTotal(ready, spec, 'replica', 'ready'));
  if (replicas > spec) {
    return inProgress('ExtraPods', `${plural(replicas - spec, 'old replica')} pending termination`);
  }

  // With OnDelete the controller updates nothing by itself: pods change when someone deletes
  // them, so waiting for the update would wait forever.
  if (str(obj, ['spec', 'updateStrategy', 'type']) === 'OnDelete') {
    return current(
      'OnDelete',
      `${plural(ready, 'replica')} ready; update strategy OnDelete updates pods as they are deleted`,
    );
  }

  // A partition keeps the replicas below it at the old revision on purpose (canary).
  const partition = int(obj, ['spec', 'updateStrategy', 'rollingUpdate', 'partition'], 0);
  if (partition > 0) {
    const want = Math.max(spec - partition, 0);
    if (updated < want) {
      return inProgress(
        'PartitionRollout',
        `${ofTotal(updated, want, 'replica', 'updated')} (partition ${partition})`,
      );
    }
    return current(
      'PartitionRolledOut',
      `${plural(updated, 'replica')} updated, ${partition} held back by the partition`,
    );
  }

  if (spec > updated) return inProgress('LessUpdated', ofTotal(updated, spec, 'replica', 'updated'));
  const currentRevision = str(obj, ['status', 'currentRevision']);
  const updateRevision = str(obj, ['status', 'updateRevision']);
  if (currentRevision !== updateRevision) {
    return inProgress(
      'RevisionMismatch',
      `rolling out revision ${updateRevision} (current ${currentRevision || 'none'})`,
    );
  }
  // availableReplicas (minReadySeconds) is reported by newer API servers only.
  const available = int(obj, ['status', 'availableReplicas'], ready);
  if (spec > available) return inProgress('LessAvailable', ofTotal(available, spec, 'replica', 'available'));
  return current('AllReplicasReady', `${plural(replicas, 'replica')} updated and ready`);
}

export function daemonSetHealth(obj: unknown): HealthResult {
  // kstatus is lenient when observedGeneration is missing, except here: the DaemonSet
  // controller always sets it, so without it the controller has not seen the object yet.
  if (int(obj, ['status', 'observedGeneration'], -1) < 0) {
    return inProgress('NotObserved', 'the DaemonSet controller has not reported status yet');
  }
  const desired = int(obj, ['status', 'desiredNumberScheduled'], -1);
  if (desired < 0) return inProgress('NoDesiredNumber', 'the number of nodes to run on is not known yet');
  const scheduled = int(obj, ['status', 'currentNumberScheduled'], 0);
  const updated = int(obj, ['status', 'updatedNumberScheduled'], 0);
  const available = int(obj, ['status', 'numberAvailable'], 0);
  const ready = int(obj, ['status', 'numberReady'], 0);

  if (desired > scheduled)
    return inProgress('LessScheduled', ofTotal(scheduled, desired, 'node', 'running a pod'));
  if (desired > updated) return inProgress('LessUpdated', ofTotal(updated, desired, 'pod', 'updated'));
  if (desired > ready) return inProgress('LessReady', ofTotal(ready, desired, 'pod', 'ready'));
  if (desired > available)
    return inProgress('LessAvailable', ofTotal(available, desired, 'pod', 'available'));
  if (desired === 0) return current('NoNodes', 'no node matches: nothing to run');
  return current('AllPodsReady', `${plural(desired, 'pod')} updated and ready`);
}

export function replicaSetHealth(obj: unknown): HealthResult {
  const failure = condition(obj, 'ReplicaFailure');
  if (failure?.status === 'True') {
    return inProgress('ReplicaFailure', `cannot create pods: ${failure.message || failure.reason}`);
  }
  const spec = int(obj, ['spec', 'replicas'], 1);
  const replicas = int(obj, ['status', 'replicas'], 0);
  const ready = int(obj, ['status', 'readyReplicas'], 0);
  const available = int(obj, ['status', 'availableReplicas'], 0);
  if (spec > ready) return inProgress('LessReady', ofTotal(ready, spec, 'replica', 'ready'));
  if (spec > available) return inProgress('LessAvailable', ofTotal(available, spec, 'replica', 'available'));
  if (replicas > spec)
    return inProgress('ExtraPods', `${plural(replicas - spec, 'replica')} pending termination`);
  return current('AllReplicasReady', `${plural(spec, 'replica')} ready`);
}
