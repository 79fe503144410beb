// gRPC errors as the AgentService returns them: a status code and details a person can act on.
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ReportNotReplicated } from '../status/ingest.ts';
import { isRedisUnavailable } from '../store/availability.ts';

export function serviceError(code: number, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: undefined as never });
}

export function toServiceError(err: unknown): ServiceError {
  if (err instanceof Error && 'code' in err && typeof err.code === 'number') {
    return serviceError(err.code, err.message);
  }
  if (isRedisUnavailable(err)) return redisUnavailable();
  if (err instanceof ReportNotReplicated) return serviceError(grpcStatus.UNAVAILABLE, err.message);
  return serviceError(grpcStatus.INTERNAL, err instanceof Error ? err.message : String(err));
}

/** UNAVAILABLE says "retry": a report that could not be enqueued stays in the agent's outbox. */
export const redisUnavailable = () =>
  serviceError(grpcStatus.UNAVAILABLE, 'the control plane cannot reach Redis; retry shortly');

export const invalidArgument = (details: string) => serviceError(grpcStatus.INVALID_ARGUMENT, details);
