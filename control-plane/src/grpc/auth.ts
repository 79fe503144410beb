// Every call but Register carries the cluster credential as a bearer token. The cluster an
// agent acts for comes from its credential alone: no message names a cluster.
import { type Metadata, status } from '@grpc/grpc-js';
import type { ClusterRegistry } from '../registry/clusters.ts';

export class GrpcAuthError extends Error {
  readonly code = status.UNAUTHENTICATED;
}

// `gfc_<cluster name>.<32 random bytes, base64url>`: checked before anything touches Redis, so
// a forged value cannot make the registry read keys outside the cluster namespace.
const CREDENTIAL = /^gfc_[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\.[A-Za-z0-9_-]{43}$/;

export async function authenticate(metadata: Metadata, registry: ClusterRegistry): Promise<string> {
  const header = metadata.get('authorization')[0];
  const value = typeof header === 'string' ? header : header?.toString();
  const token = value?.startsWith('Bearer ') ? value.slice(7) : undefined;
  if (!token)
    throw new GrpcAuthError('missing credential: send `authorization: Bearer <cluster credential>`');
  if (token.startsWith('gfb_')) {
    throw new GrpcAuthError(
      'a bootstrap token is not a cluster credential: exchange it once with Register, then present the credential it returns',
    );
  }
  if (!CREDENTIAL.test(token)) {
    throw new GrpcAuthError(
      'malformed cluster credential: expected `gfc_<cluster>.<secret>` as returned by Register; reinstall the agent with a new bootstrap token',
    );
  }
  const cluster = await registry.authenticate(token);
  if (!cluster) {
    throw new GrpcAuthError(
      'cluster credential unknown or revoked (was the cluster deleted?): register the cluster again and reinstall the agent with the new bootstrap token',
    );
  }
  return cluster;
}
