// The AgentService implementation: Register (bootstrap token → credential), Connect (the
// desired-state stream) and ReportStatus (acked once durably enqueued).
import {
  Action,
  type AgentServiceServer,
  type FleetStatus,
  Health,
  type ObjectStatus,
  Phase,
} from '@gitfleet/proto';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ClusterRegistry } from '../registry/clusters.ts';
import type { StatusIngestion } from '../status/ingest.ts';
import type { ClusterFleetStatus, FleetPhase, ObjectAction, ObjectHealth } from '../status/types.ts';
import type { DesiredStateStore } from '../store/desired.ts';
import { inSpan } from '../telemetry.ts';
import { authenticate } from './auth.ts';
import { AgentConnection, type ConnectionManager } from './connection.ts';

export interface AgentServiceDeps {
  registry: ClusterRegistry;
  desired: DesiredStateStore;
  ingestion: StatusIngestion;
  connections: ConnectionManager;
  logger: Logger;
  heartbeatMs: number;
}

function serviceError(code: number, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: undefined as never });
}

function toServiceError(err: unknown): ServiceError {
  if (err instanceof Error && 'code' in err && typeof err.code === 'number') {
    return serviceError(err.code, err.message);
  }
  return serviceError(grpcStatus.INTERNAL, err instanceof Error ? err.message : String(err));
}

export function agentService(deps: AgentServiceDeps): AgentServiceServer {
  return {
    register(call, callback) {
      const { bootstrapToken, agent } = call.request;
      inSpan('grpc.Register', {}, () =>
        deps.registry.exchange(bootstrapToken, {
          version: agent?.version ?? '',
          kubernetesVersion: agent?.kubernetesVersion ?? '',
        }),
      )
        .then((result) => {
          if (!result) {
            callback(
              serviceError(
                grpcStatus.UNAUTHENTICATED,
                'bootstrap token unknown, already used or expired: create a new one with `gitfleet cluster register` (or POST /api/v1/clusters/{name}/bootstrap-token)',
              ),
            );
            return;
          }
          deps.logger.info({ cluster: result.clusterName }, 'agent registered');
          callback(null, result);
        })
        .catch((err) => callback(toServiceError(err)));
    },

    connect(call) {
      authenticate(call.metadata, deps.registry)
        .then((cluster) => {
          const connection = new AgentConnection(cluster, call, deps);
          deps.connections.add(connection);
          deps.logger.info({ cluster }, 'agent connected');
          connection.done.then(() => {
            deps.logger.info({ cluster }, 'agent disconnected');
            if (!deps.connections.has(cluster)) deps.registry.markDisconnected(cluster).catch(() => {});
          });
        })
        .catch((err) => call.emit('error', toServiceError(err)));
    },

    reportStatus(call, callback) {
      const { sequence, status } = call.request;
      // One span around the whole call, so the enqueue (and, through the job, the worker's
      // ingest) belong to the agent's report in one trace.
      inSpan('grpc.ReportStatus', { 'gitfleet.fleet': status?.fleet ?? '' }, async (span) => {
        const cluster = await authenticate(call.metadata, deps.registry);
        span.setAttribute('gitfleet.cluster', cluster);
        if (!status?.fleet || sequence <= 0) {
          throw Object.assign(new Error('a report needs a sequence > 0 and a status with a fleet'), {
            code: grpcStatus.INVALID_ARGUMENT,
          });
        }
        return inSpan('status.enqueue', { 'gitfleet.cluster': cluster, 'gitfleet.fleet': status.fleet }, () =>
          deps.ingestion.enqueue(cluster, toClusterFleetStatus(cluster, sequence, status)),
        );
      })
        .then(({ duplicate }) => callback(null, { sequence, duplicate }))
        .catch((err) => callback(toServiceError(err)));
    },
  };
}

const PHASES: Record<number, FleetPhase> = {
  [Phase.PHASE_PENDING]: 'Pending',
  [Phase.PHASE_APPLYING]: 'Applying',
  [Phase.PHASE_PROGRESSING]: 'Progressing',
  [Phase.PHASE_READY]: 'Ready',
  [Phase.PHASE_FAILED]: 'Failed',
  [Phase.PHASE_DRIFTED]: 'Drifted',
};
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
    phase: PHASES[s.phase] ?? 'Pending',
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
    })),
    driftCorrections: s.driftCorrections,
    observedAt: new Date(s.observedAtUnixMs || Date.now()).toISOString(),
    receivedAt: new Date().toISOString(),
  };
}
