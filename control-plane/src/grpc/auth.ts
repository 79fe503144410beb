// Every call but Register carries the cluster credential as a bearer token.
import { type Metadata, status } from '@grpc/grpc-js';
import type { ClusterRegistry } from '../registry/clusters.ts';

export class GrpcAuthError extends Error {
  readonly code = status.UNAUTHENTICATED;
}

export async function authenticate(metadata: Metadata, registry: ClusterRegistry): Promise<string> {
  const header = metadata.get('authorization')[0];
  const value = typeof header === 'string' ? header : header?.toString();
  const token = value?.startsWith('Bearer ') ? value.slice(7) : undefined;
  if (!token)
    throw new GrpcAuthError('missing credential: send `authorization: Bearer <cluster credential>`');
  const cluster = await registry.authenticate(token);
  if (!cluster) {
    throw new GrpcAuthError(
      'cluster credential unknown or revoked (was the cluster deleted?): register the cluster again and reinstall the agent with the new bootstrap token',
    );
  }
  return cluster;
}
