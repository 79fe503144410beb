// Health of one object, in kstatus's terms (sigs.k8s.io/cli-utils/pkg/kstatus):
//   Current      the object is what its spec asks for
//   InProgress   a controller is still working toward it
//   Failed       it will not get there without someone changing something
//   Terminating  it is being deleted
//   NotFound     it is not in the cluster (set by the IO layer, which looked)
//   Unknown      its status cannot be read
import { OBJECT_HEALTHS, type ObjectHealth } from '@gitfleet/proto/core';

export type HealthStatus = ObjectHealth;
export const HEALTH_STATUSES: readonly HealthStatus[] = OBJECT_HEALTHS;

export interface HealthResult {
  status: HealthStatus;
  // Stable CamelCase code, e.g. 'LessReady', 'ProgressDeadlineExceeded'.
  reason: string;
  // For people, about this object without naming it (callers add the name), e.g.
  // '2 of 3 replicas ready'.
  message: string;
}

export interface HealthOptions {
  // Milliseconds since the epoch; only Pods use it (grace before calling one unschedulable).
  now?: number;
  // A LoadBalancer Service is InProgress until it has an address (default). Clusters without
  // a load-balancer controller (bare metal, kwok) never give one; they turn this off.
  requireLoadBalancerIngress?: boolean;
}

export const current = (reason: string, message: string): HealthResult => ({
  status: 'Current',
  reason,
  message,
});
export const inProgress = (reason: string, message: string): HealthResult => ({
  status: 'InProgress',
  reason,
  message,
});
export const failed = (reason: string, message: string): HealthResult => ({
  status: 'Failed',
  reason,
  message,
});
