// API authentication in one hook: bearer tokens with roles. An installation-wide viewer may
// read, an admin may also write; project roles (auth/access.ts) are checked by the routes that
// declare `config.access`. A bearer token is one of the installation's (GITFLEET_API_TOKENS), an API token
// created over the API (auth/tokens.ts), or an OpenID Connect token of the configured
// provider (auth/oidc.ts). Webhooks authenticate by HMAC signature instead (routes/webhooks.ts),
// and the probes and metrics are open so that kubelets and Prometheus can reach them, and so
// are the dashboard's page and files (routes with `config: { public: true }`), whose API calls
// carry a token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Access, type GlobalRole, projectGroups, projectRolesOf } from '../auth/access.ts';
import type { ProjectStore } from '../auth/projects.ts';
import { type ApiTokenStore, isApiToken } from '../auth/tokens.ts';
import { DomainError } from '../errors.ts';

/** The roles of the installation's own tokens (GITFLEET_API_TOKENS). */
export type Role = 'admin' | 'viewer';

/** How the caller proved who they are, for the audit. */
export type AuthenticatedBy = 'installation-token' | 'api-token' | 'oidc';

/**
 * An OpenID Connect verifier (auth/oidc.ts): the caller's name, installation role and groups,
 * or DomainError Unauthorized. `projectGroups` may give a caller without a global role one.
 */
export interface BearerVerifier {
  accepts(token: string): boolean;
  verify(
    token: string,
    projectGroups: ReadonlySet<string>,
  ): Promise<{ name: string; role: GlobalRole; groups: string[] }>;
}

/**
 * How a route is authorised beyond the installation-wide role: `fleet-viewer|operator|admin`
 * checks the caller's role on the fleet in its path (404 without one); `scoped`: the route
 * itself shows only what the caller's projects may see.
 */
export type RouteAccess = 'fleet-viewer' | 'fleet-operator' | 'fleet-admin' | 'scoped';

export interface ApiToken {
  role: Role;
  /** Shown in logs and as the author of promotions, never the token itself. */
  name: string;
  token: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: { name: string; role: GlobalRole; by: AuthenticatedBy };
    /** What the caller may see and do (set with `caller`). */
    access?: Access;
  }
  interface FastifyContextConfig {
    /** Served without a token: the dashboard's page and static files (dashboard/routes.ts), which hold no data. */
    public?: boolean;
    /** Reading needs the admin role too (the API tokens: their names and who made them). */
    adminOnly?: boolean;
    access?: RouteAccess;
  }
}

const OPEN = new Set([
  '/healthz',
  '/readyz',
  '/version',
  '/metrics',
  '/openapi.json',
  '/api/v1/webhooks/git',
  '/api/v1/sso',
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
  /** Projects, whose roles name OpenID Connect groups and API tokens. */
  projects?: ProjectStore;
}

interface Identity {
  name: string;
  role: GlobalRole;
  by: AuthenticatedBy;
  groups?: string[];
  token?: string;
}

export function registerAuth(app: FastifyInstance, auth: Authenticators): void {
  const known = auth.tokens.map((t) => ({ ...t, hash: digest(t.token) }));
  const authenticate = async (token: string, projects: () => Promise<ProjectsView>): Promise<Identity> => {
    const hash = digest(token);
    const match = known.find((t) => timingSafeEqual(t.hash, hash));
    if (match) return { name: match.name, role: match.role, by: 'installation-token', token: match.name };
    if (auth.oidc?.accepts(token)) {
      const { name, role, groups } = await auth.oidc.verify(token, (await projects()).groups);
      return { name, role, by: 'oidc', groups };
    }
    if (auth.apiTokens && isApiToken(token)) {
      const found = await auth.apiTokens.lookup(token);
      if (found === 'expired') {
        throw new DomainError('Unauthorized', 'API token expired: create a new one (POST /api/v1/tokens)');
      }
      if (found !== 'unknown')
        return { name: found.name, role: found.role, by: 'api-token', token: found.name };
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
    // Projects are read once per request, and only for callers they can matter to.
    let view: Promise<ProjectsView> | undefined;
    const projects = () => {
      view ??= readProjects(auth.projects);
      return view;
    };
    const identity = await authenticate(token, projects);
    request.caller = { name: identity.name, role: identity.role, by: identity.by };
    const { list } = identity.role === 'admin' ? { list: [] } : await projects();
    const roles = projectRolesOf(list, { groups: identity.groups, token: identity.token });
    if (identity.role === 'none' && Object.keys(roles).length === 0) {
      throw new DomainError('Forbidden', `${identity.name} has no role: no project names it or its groups`);
    }
    request.access = new Access(identity, list, roles);
    // A route that checks project roles decides for a caller that has some; others are held
    // to their installation-wide role here.
    const scoped = request.routeOptions.config?.access !== undefined && Object.keys(roles).length > 0;
    const reads = request.method === 'GET' || request.method === 'HEAD';
    if (identity.role === 'admin' || scoped) return;
    if (identity.role === 'none') {
      throw new DomainError(
        'Forbidden',
        `${identity.name} has roles in projects only: this needs an installation-wide role`,
      );
    }
    if (!reads || request.routeOptions.config?.adminOnly) {
      throw new DomainError(
        'Forbidden',
        `${identity.name} has the viewer role: ${reads ? 'this' : request.method} needs an admin token`,
      );
    }
  });
}

interface ProjectsView {
  list: Awaited<ReturnType<ProjectStore['list']>>;
  groups: Set<string>;
}

async function readProjects(store: ProjectStore | undefined): Promise<ProjectsView> {
  const list = store ? await store.list() : [];
  return { list, groups: projectGroups(list) };
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
