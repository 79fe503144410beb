// Health of a live object, following kstatus's order of rules:
//   1. being deleted                                     -> Terminating
//   2. metadata.generation not yet observed              -> InProgress
//   3. the standard conditions: Reconciling True         -> InProgress
//                               Stalled True             -> Failed
//   4. the rules of a built-in kind (workloads, Pod, Job, PVC, Service, CRD, Namespace)
//   5. a Ready (or else Available) condition, for everything else, custom resources mostly
//   6. nothing to wait for (ConfigMap, Secret, RBAC...)  -> Current
// And the fleet-level view of a set of results: Ready, Progressing or Failed.

import type { ObjectRef } from '../objects.ts';
import { formatRef, splitApiVersion } from '../objects.ts';
import { crdHealth, jobHealth, namespaceHealth, podHealth, pvcHealth, serviceHealth } from './core.ts';
import type { Condition } from './fields.ts';
import { condition, conditions, field, int, list, str } from './fields.ts';
import type { HealthOptions, HealthResult, HealthStatus } from './types.ts';
import { current, failed, HEALTH_STATUSES, inProgress } from './types.ts';
import { daemonSetHealth, deploymentHealth, replicaSetHealth, statefulSetHealth } from './workloads.ts';

export type { HealthOptions, HealthResult, HealthStatus } from './types.ts';
export { HEALTH_STATUSES } from './types.ts';

type KindRule = (obj: unknown, options: Required<HealthOptions>) => HealthResult;

const KIND_RULES: Record<string, KindRule> = {
  'apps/Deployment': deploymentHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  'apps/ReplicaSet': replicaSetHealth,
  '/Pod': (obj, o) => podHealth(obj, o.now),
  'batch/Job': jobHealth,
  '/PersistentVolumeClaim': pvcHealth,
  '/Service': (obj, o) => serviceHealth(obj, o.requireLoadBalancerIngress),
  'apiextensions.k8s.io/CustomResourceDefinition': crdHealth,
  '/Namespace': namespaceHealth,
};

// Takes the object as JSON from the API server; anything that is not an object is Unknown
// rather than an exception, since health is computed for every object on every poll.
export function computeHealth(obj: unknown, options: HealthOptions = {}): HealthResult {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { status: 'Unknown', reason: 'NotAnObject', message: 'no object to read status from' };
  }
  const opts: Required<HealthOptions> = {
    now: options.now ?? Date.now(),
    requireLoadBalancerIngress: options.requireLoadBalancerIngress ?? true,
  };

  if (str(obj, ['metadata', 'deletionTimestamp']) !== '') {
    const finalizers = list(obj, ['metadata', 'finalizers']).filter((f) => typeof f === 'string');
    const waiting = finalizers.length > 0 ? `, waiting for finalizers: ${finalizers.join(', ')}` : '';
    return { status: 'Terminating', reason: 'Terminating', message: `being deleted${waiting}` };
  }

  const generation = int(obj, ['metadata', 'generation'], -1);
  const observed = int(obj, ['status', 'observedGeneration'], -1);
  if (generation >= 0 && observed >= 0 && observed !== generation) {
    return inProgress(
      'LatestGenerationNotObserved',
      `the controller has not caught up with generation ${generation} yet (observed ${observed})`,
    );
  }

  const reconciling = condition(obj, 'Reconciling');
  if (reconciling?.status === 'True') {
    return inProgress(reconciling.reason || 'Reconciling', reconciling.message || 'reconciling');
  }
  const stalled = condition(obj, 'Stalled');
  if (stalled?.status === 'True') return failed(stalled.reason || 'Stalled', stalled.message || 'stalled');

  const { group } = splitApiVersion(str(obj, ['apiVersion']));
  const rule = KIND_RULES[`${group}/${str(obj, ['kind'])}`];
  if (rule) return rule(obj, opts);

  const ready = condition(obj, 'Ready') ?? condition(obj, 'Available');
  if (ready) return readyConditionHealth(ready, generation);

  if (conditions(obj).length === 0 && field(obj, ['status']) === undefined) {
    return current('NoStatus', 'has no status to wait for');
  }
  return current('Current', 'current');
}

// The reason is the only place a custom resource says whether a False Ready is a failure or a
// step on the way (Flux: 'ReconciliationFailed' vs 'DependencyNotReady'; Knative:
// 'RevisionFailed' vs 'Deploying'). Reasons ending in Failed, Failure or Error are taken as
// failures; the rest as progress, which the rollout's progress deadline bounds anyway.
// A condition stamped with an older generation says nothing about the current spec.
function readyConditionHealth(cond: Condition, generation: number): HealthResult {
  const what = `${cond.type} is ${cond.status}`;
  const detail = cond.message ? `: ${cond.message}` : '';
  if (cond.status === 'True') return current(cond.type, cond.message || cond.type.toLowerCase());
  if (cond.observedGeneration !== undefined && generation >= 0 && cond.observedGeneration < generation) {
    return inProgress('LatestGenerationNotObserved', `${cond.type} condition is for an older generation`);
  }
  if (cond.status === 'False' && /(Failed|Failure|Error)$/.test(cond.reason)) {
    return failed(cond.reason, `${what}${detail}`);
  }
  return inProgress(cond.reason || `Not${cond.type}`, `${what}${detail}`);
}

// For the IO layer: the object was looked up and is not there.
export function notFoundHealth(): HealthResult {
  return { status: 'NotFound', reason: 'NotFound', message: 'not found in the cluster' };
}

export interface ObjectHealth {
  ref: ObjectRef;
  health: HealthResult;
}

export type FleetHealthPhase = 'Ready' | 'Progressing' | 'Failed';

export interface AggregateHealth {
  phase: FleetHealthPhase;
  // Names the first object (in the given order, i.e. apply order) that keeps the phase from
  // being Ready, so the status says where to look.
  message: string;
  counts: Record<HealthStatus, number>;
}

// Ready when every object is Current (also when there are none), Failed when any is Failed,
// otherwise Progressing: Terminating, NotFound (the next apply recreates it) and Unknown are
// all states the agent is still working through.
export function aggregateHealth(results: readonly ObjectHealth[]): AggregateHealth {
  const counts = Object.fromEntries(HEALTH_STATUSES.map((s) => [s, 0])) as Record<HealthStatus, number>;
  for (const r of results) counts[r.health.status] += 1;

  const describe = (matching: ObjectHealth[], what: string) => {
    const first = matching[0] as ObjectHealth;
    const more = matching.length > 1 ? ` (and ${matching.length - 1} more ${what})` : '';
    return `${formatRef(first.ref)}: ${first.health.message}${more}`;
  };

  const failing = results.filter((r) => r.health.status === 'Failed');
  if (failing.length > 0) return { phase: 'Failed', message: describe(failing, 'failed'), counts };
  const pending = results.filter((r) => r.health.status !== 'Current');
  if (pending.length > 0) return { phase: 'Progressing', message: describe(pending, 'not ready'), counts };
  const n = results.length;
  return {
    phase: 'Ready',
    message: n === 0 ? 'no objects' : `all ${n} object${n === 1 ? '' : 's'} current`,
    counts,
  };
}
