// API authentication in one hook: bearer tokens with roles. A viewer may read; writing
// needs admin. Webhooks authenticate by HMAC signature instead (routes/webhooks.ts), and the
// probes and metrics are open so that kubelets and Prometheus can reach them, and so are the
// dashboard's page and files (routes with `config: { public: true }`), whose API calls carry a token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../errors.ts';

export type Role = 'admin' | 'viewer';

export interface ApiToken {
  role: Role;
  /** Shown in logs and as the author of promotions, never the token itself. */
  name: string;
  token: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: { name: string; role: Role };
  }
  interface FastifyContextConfig {
    /** Served without a token: the dashboard's page and static files (dashboard/routes.ts), which hold no data. */
    public?: boolean;
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

export function registerAuth(app: FastifyInstance, tokens: ApiToken[]): void {
  const known = tokens.map((t) => ({ ...t, hash: digest(t.token) }));
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
    const hash = digest(token);
    const match = known.find((t) => timingSafeEqual(t.hash, hash));
    if (!match)
      throw new DomainError('Unauthorized', 'API token not recognised: check the token you logged in with');
    request.caller = { name: match.name, role: match.role };
    if (match.role !== 'admin' && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new DomainError(
        'Forbidden',
        `${match.name} has the viewer role: ${request.method} needs an admin token`,
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
