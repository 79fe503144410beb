// Status reports from agents, whichever way they arrive (a ReportStatus call or a report on
// the Connect stream): validated, converted to what the status store keeps, and durably
// enqueued before anything is acknowledged.
import { Action, type FleetStatus, Health, type ObjectStatus, phaseFromProto } from '@gitfleet/proto';
import type { StatusIngestion } from '../status/ingest.ts';
import type { ClusterFleetStatus, ObjectAction, ObjectHealth } from '../status/types.ts';
import { inSpan } from '../telemetry.ts';
import { invalidArgument, redisUnavailable } from './service-error.ts';
import { reportProblem } from './validate.ts';

/**
 * Enqueues one report of an authenticated cluster. Throws INVALID_ARGUMENT for a report that
 * can never be stored; an unreachable Redis rejects (see toServiceError: UNAVAILABLE, retry).
 */
export function acceptReport(
  ingestion: StatusIngestion,
  cluster: string,
  sequence: number,
  status: FleetStatus | undefined,
): Promise<{ duplicate: boolean }> {
  const problem = reportProblem(sequence, status, Date.now());
  if (problem || !status) return Promise.reject(invalidArgument(problem ?? 'a report needs a status'));
  if (!ingestion.reachable) return Promise.reject(redisUnavailable());
  return inSpan('status.enqueue', { 'gitfleet.cluster': cluster, 'gitfleet.fleet': status.fleet }, () =>
    ingestion.enqueue(cluster, toClusterFleetStatus(cluster, sequence, status)),
  );
}

const ACTIONS: Record<number, ObjectAction> = {
  [Action.ACTION_CREATED]: 'created',
  [Action.ACTION_CONFIGURED]: 'configured',
  [Action.ACTION_UNCHANGED]: 'unchanged',
  [Action.ACTION_DELETED]: 'deleted',
  [Action.ACTION_FAILED]: 'failed',
  [Action.ACTION_SKIPPED]: 'skipped',
};
const HEALTHS: Record<number, ObjectHealth> = {
  [Health.HEALTH_CURRENT]: 'Current',
  [Health.HEALTH_IN_PROGRESS]: 'InProgress',
  [Health.HEALTH_FAILED]: 'Failed',
  [Health.HEALTH_TERMINATING]: 'Terminating',
  [Health.HEALTH_NOT_FOUND]: 'NotFound',
};

export function toClusterFleetStatus(cluster: string, sequence: number, s: FleetStatus): ClusterFleetStatus {
  return {
    cluster,
    fleet: s.fleet,
    sequence,
    desiredRevision: s.desiredRevision,
    desiredDigest: s.desiredDigest,
    appliedRevision: s.appliedRevision,
    attemptedRevision: s.attemptedRevision,
    phase: phaseFromProto(s.phase) ?? 'Pending',
    message: s.message,
    objects: s.objects.map((o: ObjectStatus) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      action: ACTIONS[o.action] ?? 'unknown',
      health: HEALTHS[o.health] ?? 'Unknown',
      reason: o.reason,
      message: o.message,
      drifted: o.drifted,
      ...(o.driftCorrectedAtUnixMs
        ? {
            lastDrift: {
              changes: o.driftChanges,
              managers: o.driftManagers,
              correctedAt: new Date(o.driftCorrectedAtUnixMs).toISOString(),
            },
          }
        : {}),
    })),
    driftCorrections: s.driftCorrections,
    observedAt: new Date(s.observedAtUnixMs || Date.now()).toISOString(),
    receivedAt: new Date().toISOString(),
  };
}
