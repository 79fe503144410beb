// Bootstrap tokens and cluster credentials. Both are random, high-entropy secrets that the
// control plane stores only as SHA-256 hashes (a slow password hash buys nothing for 256-bit
// random tokens), so a Redis dump does not hand out cluster access.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const BOOTSTRAP_PREFIX = 'gfb_';
const CREDENTIAL_PREFIX = 'gfc_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newBootstrapToken(): string {
  return BOOTSTRAP_PREFIX + randomBytes(32).toString('base64url');
}

/** A credential names its cluster, so authenticating it is one lookup, not a scan. */
export function newCredential(cluster: string): string {
  return `${CREDENTIAL_PREFIX}${cluster}.${randomBytes(32).toString('base64url')}`;
}

export function clusterOfCredential(credential: string): string | undefined {
  if (!credential.startsWith(CREDENTIAL_PREFIX)) return undefined;
  const dot = credential.lastIndexOf('.');
  if (dot <= CREDENTIAL_PREFIX.length) return undefined;
  return credential.slice(CREDENTIAL_PREFIX.length, dot);
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
