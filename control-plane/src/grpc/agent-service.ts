// The AgentService implementation: Register (bootstrap token → credential), Connect (the
// desired-state stream) and ReportStatus (acked once durably enqueued, see reports.ts).
import type { AgentServiceServer } from '@gitfleet/proto';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ClusterRegistry } from '../registry/clusters.ts';
import type { StatusIngestion } from '../status/ingest.ts';
import type { DesiredStateStore } from '../store/desired.ts';
import { inSpan } from '../telemetry.ts';
import { authenticate } from './auth.ts';
import { AgentConnection, type ConnectionManager } from './connection.ts';
import { acceptReport } from './reports.ts';
import { invalidArgument, redisUnavailable, serviceError, toServiceError } from './service-error.ts';
import { agentInfoProblem, decodeProblem } from './validate.ts';

export interface AgentServiceDeps {
  registry: ClusterRegistry;
  desired: DesiredStateStore;
  ingestion: StatusIngestion;
  connections: ConnectionManager;
  logger: Logger;
  heartbeatMs: number;
  onCapabilitiesChanged?: (cluster: string) => void;
}

/**
 * Logs a refused call: who (peer, and the cluster once authenticated), which call, the status
 * and why. Never the metadata: it holds the credential.
 */
function logRefusal(logger: Logger, method: string, peer: string, err: ServiceError, cluster?: string): void {
  const fields = { method, peer, cluster, code: grpcStatus[err.code], reason: err.details };
  if (err.code === grpcStatus.INTERNAL) logger.error(fields, 'agent call failed');
  else logger.warn(fields, 'agent call refused');
}

export function agentService(deps: AgentServiceDeps): AgentServiceServer {
  return {
    register(call, callback) {
      const refuse = (err: ServiceError) => {
        logRefusal(deps.logger, 'Register', call.getPeer(), err);
        callback(err);
      };
      const problem = decodeProblem(call.request) ?? agentInfoProblem(call.request.agent, 'agent');
      if (problem) {
        refuse(invalidArgument(problem));
        return;
      }
      const { bootstrapToken, agent } = call.request;
      inSpan('grpc.Register', {}, () =>
        deps.registry.exchange(bootstrapToken, {
          version: agent?.version ?? '',
          kubernetesVersion: agent?.kubernetesVersion ?? '',
          apiVersions: agent?.apiVersions ?? [],
        }),
      )
        .then((result) => {
          if (!result) {
            refuse(
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
        .catch((err) => refuse(toServiceError(err)));
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
        .catch((err) => {
          const error = toServiceError(err);
          logRefusal(deps.logger, 'Connect', call.getPeer(), error);
          call.emit('error', error);
        });
    },

    reportStatus(call, callback) {
      let cluster: string | undefined;
      const refuse = (err: ServiceError) => {
        logRefusal(deps.logger, 'ReportStatus', call.getPeer(), err, cluster);
        callback(err);
      };
      const undecodable = decodeProblem(call.request);
      if (undecodable) {
        refuse(invalidArgument(undecodable));
        return;
      }
      if (!deps.ingestion.reachable) {
        refuse(redisUnavailable());
        return;
      }
      const { sequence, status } = call.request;
      // One span around the whole call, so the enqueue (and, through the job, the worker's
      // ingest) belong to the agent's report in one trace.
      inSpan('grpc.ReportStatus', { 'gitfleet.fleet': status?.fleet ?? '' }, async (span) => {
        cluster = await authenticate(call.metadata, deps.registry);
        span.setAttribute('gitfleet.cluster', cluster);
        return acceptReport(deps.ingestion, cluster, sequence, status);
      })
        .then(({ duplicate }) => callback(null, { sequence, duplicate }))
        .catch((err) => refuse(toServiceError(err)));
    },
  };
}
