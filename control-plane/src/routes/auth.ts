// API authentication in one hook: bearer tokens with roles. A viewer may read; writing
// needs admin. A bearer token is one of the installation's (GITFLEET_API_TOKENS), an API token
// created over the API (auth/tokens.ts), or an OpenID Connect token of the configured
// provider (auth/oidc.ts). Webhooks authenticate by HMAC signature instead (routes/webhooks.ts),
// and the probes and metrics are open so that kubelets and Prometheus can reach them, and so
// are the dashboard's page and files (routes with `config: { public: true }`), whose API calls
// carry a token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type ApiTokenStore, isApiToken, type Role } from '../auth/tokens.ts';
import { DomainError } from '../errors.ts';

export type { Role };

/** How the caller proved who they are, for the audit. */
export type AuthenticatedBy = 'installation-token' | 'api-token' | 'oidc';

/** An OpenID Connect verifier (auth/oidc.ts): the caller's name and role, or DomainError Unauthorized. */
export interface BearerVerifier {
  accepts(token: string): boolean;
  verify(token: string): Promise<{ name: string; role: Role }>;
}

export interface ApiToken {
  role: Role;
  /** Shown in logs and as the author of promotions, never the token itself. */
  name: string;
  token: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: { name: string; role: Role; by: AuthenticatedBy };
  }
  interface FastifyContextConfig {
    /** Served without a token: the dashboard's page and static files (dashboard/routes.ts), which hold no data. */
    public?: boolean;
    /** Reading needs the admin role too (the API tokens: their names and who made them). */
    adminOnly?: boolean;
  }
}

const OPEN = new Set([
  '/healthz',
  '/readyz',
  '/version',
  '/metrics',
  '/openapi.json',
  '/api/v1/webhooks/git',
]);

/** Paths served without a token (the webhook is authenticated by its signature). */
export const isOpenPath = (path: string) => OPEN.has(path);

const digest = (s: string) => createHash('sha256').update(s).digest();

export interface Authenticators {
  /** The installation's tokens (GITFLEET_API_TOKENS). */
  tokens: ApiToken[];
  /** API tokens created over the API. */
  apiTokens?: ApiTokenStore;
  oidc?: BearerVerifier;
}

export function registerAuth(app: FastifyInstance, auth: Authenticators): void {
  const known = auth.tokens.map((t) => ({ ...t, hash: digest(t.token) }));
  const authenticate = async (token: string): Promise<{ name: string; role: Role; by: AuthenticatedBy }> => {
    const hash = digest(token);
    const match = known.find((t) => timingSafeEqual(t.hash, hash));
    if (match) return { name: match.name, role: match.role, by: 'installation-token' };
    if (auth.oidc?.accepts(token)) {
      const { name, role } = await auth.oidc.verify(token);
      return { name, role, by: 'oidc' };
    }
    if (auth.apiTokens && isApiToken(token)) {
      const found = await auth.apiTokens.lookup(token);
      if (found === 'expired') {
        throw new DomainError('Unauthorized', 'API token expired: create a new one (POST /api/v1/tokens)');
      }
      if (found !== 'unknown') return { name: found.name, role: found.role, by: 'api-token' };
    }
    throw new DomainError('Unauthorized', 'API token not recognised: check the token you logged in with');
  };
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const path = request.url.split('?')[0] ?? '';
    if (OPEN.has(path) || request.routeOptions.config?.public) return;
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!token) {
      throw new DomainError(
        'Unauthorized',
        'missing API token: send `Authorization: Bearer <token>` (see `gitfleet login`)',
      );
    }
    const caller = await authenticate(token);
    request.caller = caller;
    const reads = request.method === 'GET' || request.method === 'HEAD';
    if (caller.role !== 'admin' && (!reads || request.routeOptions.config?.adminOnly)) {
      throw new DomainError(
        'Forbidden',
        `${caller.name} has the viewer role: ${reads ? 'this' : request.method} needs an admin token`,
      );
    }
  });
}

/** Parses `GITFLEET_API_TOKENS`: `role:name:token` entries separated by commas. */
export function parseApiTokens(text: string): ApiToken[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [role, name, ...rest] = entry.split(':');
      const token = rest.join(':');
      if ((role !== 'admin' && role !== 'viewer') || !name || token.length < 16) {
        throw new Error(
          `GITFLEET_API_TOKENS entry "${role}:${name ?? ''}:…" is not valid: use role:name:token with role admin or viewer and a token of at least 16 characters`,
        );
      }
      return { role, name, token };
    });
}
