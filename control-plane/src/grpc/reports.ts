// Status reports from agents, whichever way they arrive (a ReportStatus call or a report on
// the Connect stream): validated, converted to what the status store keeps, and durably
// enqueued before anything is acknowledged.
import {
  actionFromProto,
  type FleetStatus,
  healthFromProto,
  type ObjectStatus,
  phaseFromProto,
} from '@gitfleet/proto';
import type { StatusIngestion } from '../status/ingest.ts';
import type { ClusterFleetStatus } from '../status/types.ts';
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
      action: actionFromProto(o.action) ?? 'unknown',
      health: healthFromProto(o.health) ?? 'Unknown',
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
