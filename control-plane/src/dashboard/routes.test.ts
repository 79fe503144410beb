// The dashboard's routes on a bare Fastify app with the API's auth hook: what is served without
// a token, the Content-Security-Policy (whose hash must match the page's one inline script),
// caching, and GET /api/v1/whoami. The browser side is tested in test/e2e/dashboard.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerAuth } from '../routes/auth.ts';
import { errorHandler } from '../routes/http-errors.ts';
import { dashboardRoutes } from './routes.ts';

describe('dashboard routes', () => {
  let app: FastifyInstance;
  const admin = 'admin-token-0123456789';
  const viewer = 'viewer-token-0123456789';

  before(async () => {
    app = Fastify();
    app.setErrorHandler(errorHandler());
    registerAuth(app, {
      tokens: [
        { role: 'admin', name: 'alice', token: admin },
        { role: 'viewer', name: 'victor', token: viewer },
      ],
    });
    await app.register(dashboardRoutes);
    await app.ready();
  });
  after(() => app.close());

  test('the page needs no token and allows only itself, with the import map by hash', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    const csp = res.headers['content-security-policy'] as string;
    assert.match(csp, /^default-src 'none'; script-src 'self' 'sha256-[^']+'; style-src 'self';/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    // The one inline script is the import map, and the policy names exactly its hash.
    const inline = [...res.body.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
      (m) => m[1]!,
    );
    assert.equal(inline.length, 1);
    const hash = createHash('sha256').update(inline[0]!).digest('base64');
    assert.ok(csp.includes(`'sha256-${hash}'`), csp);
    const map = JSON.parse(inline[0]!) as { imports: Record<string, string> };
    assert.deepEqual(Object.keys(map.imports).sort(), ['htm', 'preact', 'preact/hooks']);
    assert.doesNotMatch(res.body, /https?:\/\//, 'the page names no other host');
  });

  test('serves the modules and the vendored libraries, revalidated by ETag', async () => {
    const page = (await app.inject({ method: 'GET', url: '/' })).body;
    const linked = [...page.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(linked.includes('/ui/app.js') && linked.includes('/ui/vendor/preact.mjs'), linked.join(' '));
    for (const url of linked) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.ok(res.headers['content-security-policy'], url);
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
    const js = await app.inject({ method: 'GET', url: '/ui/vendor/preact.mjs' });
    assert.match(js.headers['content-type'] as string, /^text\/javascript/);
    assert.doesNotMatch(js.body, /sourceMappingURL/);
    const again = await app.inject({
      method: 'GET',
      url: '/ui/vendor/preact.mjs',
      headers: { 'if-none-match': js.headers.etag as string },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('nothing else is open: unknown files and the API still need a token', async () => {
    for (const url of ['/ui/nope.js', '/ui/../api/v1/whoami', '/ui/format.test.ts', '/api/v1/whoami']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 401, url);
    }
  });

  test('whoami tells the caller its name and role', async () => {
    for (const [token, name, role] of [
      [admin, 'alice', 'admin'],
      [viewer, 'victor', 'viewer'],
    ] as const) {
      const res = await app.inject({
        method: 'GET',
        url: '/api/v1/whoami',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { name, role, projects: {} });
    }
  });
});
