// The web dashboard, served by the control plane itself: `/` is its page, `/ui/*` its browser
// modules and styles (public/, plain ES modules, no build step) and the two libraries it runs
// on (Preact and htm), read from node_modules at start. The page and its files carry no data
// and need no token; everything it shows comes from the REST API and the event stream, called
// with the token the person typed (see public/api.js). Every file is sent with a strict
// Content-Security-Policy: scripts, styles and requests from this origin only, plus the one
// inline script the page has (its import map), allowed by hash, and, with single sign-on, the
// identity provider's origin for requests (its discovery document and token endpoint, which
// the page calls itself). docs/dashboard.md.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSettings } from '../auth/oidc.ts';

const PUBLIC_DIR = join(import.meta.dirname, 'public');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The libraries the browser imports by bare name, as the import map names them: each the ES
 * module file Node itself would import (the packages' `import` export), served as is.
 */
const VENDOR = [
  { specifier: 'preact', as: 'preact.mjs' },
  { specifier: 'preact/hooks', as: 'preact-hooks.mjs' },
  { specifier: 'htm', as: 'htm.mjs' },
] as const;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const asset = (body: Buffer | string, type: string): Asset => {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { body: buf, type, etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 27)}"` };
};

/** Files under public/ that are served, by URL path under /ui/. */
function publicAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const entry of readdirSync(PUBLIC_DIR, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const type = TYPES[extname(entry.name)];
    if (!type || entry.name === 'index.html') continue;
    const path = join(entry.parentPath, entry.name);
    out.set(`/ui/${relative(PUBLIC_DIR, path).split(sep).join('/')}`, asset(readFileSync(path), type));
  }
  // Stripped of their source-map comment: the maps are not served.
  for (const v of VENDOR) {
    const file = fileURLToPath(import.meta.resolve(v.specifier));
    const code = readFileSync(file, 'utf8').replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n');
    out.set(`/ui/vendor/${v.as}`, asset(code, TYPES['.mjs']!));
  }
  return out;
}

/** The page, with its import map inline (browsers take no external one), and that map's CSP hash. */
function page(modules: string[]): { html: Asset; importMapHash: string } {
  const importMap = JSON.stringify({
    imports: Object.fromEntries(VENDOR.map((v) => [v.specifier, `/ui/vendor/${v.as}`])),
  });
  // Every module preloaded: the browser fetches them at once rather than import by import.
  const preloads = [...modules, ...VENDOR.map((v) => `/ui/vendor/${v.as}`)]
    .map((href) => `<link rel="modulepreload" href="${href}" />`)
    .join('\n    ');
  const html = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8').replace(
    '<!--importmap-->',
    `<script type="importmap">${importMap}</script>\n    ${preloads}`,
  );
  if (!html.includes(importMap)) throw new Error('dashboard: index.html has no <!--importmap--> placeholder');
  return {
    html: asset(html, TYPES['.html']!),
    importMapHash: createHash('sha256').update(importMap).digest('base64'),
  };
}

/**
 * The policy of every dashboard response: nothing but this origin, nothing inline but the
 * import map; `connectTo`: other origins the page may request (the identity provider's).
 */
export function contentSecurityPolicy(importMapHash: string, connectTo: string[] = []): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self'",
    ["connect-src 'self'", ...connectTo].join(' '),
    "manifest-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const whoamiSchema = {
  summary:
    'The caller: its name, installation-wide role and project roles (the dashboard asks once, at login)',
  tags: ['auth'],
  response: {
    200: {
      type: 'object',
      required: ['name', 'role', 'projects'],
      properties: {
        name: { type: 'string' },
        role: { type: 'string', enum: ['admin', 'viewer', 'none'] },
        projects: {
          type: 'object',
          description: 'Project name → role (viewer, operator, admin)',
          additionalProperties: { type: 'string', enum: ['viewer', 'operator', 'admin'] },
        },
      },
    },
  },
} as const;

export interface DashboardOptions {
  /** Single sign-on: the page then talks to the identity provider too. */
  sso?: SsoSettings | undefined;
}

export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const assets = publicAssets();
  const { html, importMapHash } = page(
    [...assets.keys()].filter((path) => path.endsWith('.js') && !path.startsWith('/ui/vendor/')),
  );
  const csp = contentSecurityPolicy(importMapHash, options.sso ? [new URL(options.sso.issuer).origin] : []);

  const send = (request: FastifyRequest, reply: FastifyReply, a: Asset) => {
    reply
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin')
      // Revalidated every time: a control plane upgrade is seen at the next load.
      .header('cache-control', 'no-cache')
      .header('etag', a.etag)
      .type(a.type);
    if (request.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.send(a.body);
  };

  // `public: true`: served without a token (routes/auth.ts); they hold no data.
  const open = { schema: { hide: true }, config: { public: true } } as const;
  app.get('/', open, (request, reply) => send(request, reply, html));
  for (const [path, a] of assets) app.get(path, open, (request, reply) => send(request, reply, a));

  app.get('/api/v1/whoami', { schema: whoamiSchema, config: { access: 'scoped' } }, async (request) => ({
    name: request.caller?.name ?? 'unknown',
    role: request.caller?.role ?? 'viewer',
    projects: request.access?.projectRoles ?? {},
  }));
}
