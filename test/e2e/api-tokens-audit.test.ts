// API tokens created over the API (named, with a role and an expiry, stored hashed, revoked at
// once) beside the installation's tokens, and the audit of every API action in the history.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { keys } from '../../control-plane/src/store/keys.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { runGitfleet } from '../src/gitfleet-cli.ts';

const env = environmentFromEnv();

interface Created {
  name: string;
  role: string;
  token: string;
  expiresAt: string;
  createdBy: string;
}
interface Audit {
  type: string;
  actor?: string;
  via?: string;
  action?: string;
  status?: number;
  reason?: string;
  cluster?: string;
  object?: string;
}

describe('API tokens and the audit', () => {
  let cp: TestControlPlane;
  const audit = async (query = '') =>
    (await cp.api<{ items: Audit[] }>('GET', `/api/v1/events?type=ApiAction&limit=1000${query}`)).body.items;

  before(async () => {
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
  });
  after(async () => {
    await cp?.stop();
  });

  it('an admin creates a named viewer token; it reads, cannot write, and is listed without its secret', async () => {
    const created = await cp.api<Created>('POST', '/api/v1/tokens', { name: 'ci-reader', role: 'viewer' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.token, /^gft_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.createdBy, 'alice');
    const days = (Date.parse(created.body.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in 30 days by default, not ${days}`);
    const token = created.body.token;

    const whoami = await cp.api<{ name: string; role: string }>('GET', '/api/v1/whoami', undefined, token);
    assert.deepEqual(whoami.body, { name: 'ci-reader', role: 'viewer', projects: {} });
    assert.equal((await cp.api('GET', '/api/v1/fleets', undefined, token)).status, 200);
    const write = await cp.api<{ code: string }>('POST', '/api/v1/clusters', { name: 'by-reader' }, token);
    assert.deepEqual([write.status, write.body.code], [403, 'Forbidden']);
    // Reading the tokens is an admin's: names and creators say who automates what.
    assert.equal((await cp.api('GET', '/api/v1/tokens', undefined, token)).status, 403);
    assert.equal((await cp.api('GET', '/api/v1/tokens', undefined, cp.viewerToken)).status, 403);

    const list = await cp.api<{ items: Record<string, unknown>[] }>('GET', '/api/v1/tokens');
    assert.deepEqual(
      list.body.items.map((t) => [t.name, t.role, 'token' in t]),
      [['ci-reader', 'viewer', false]],
    );
    // At rest it is a hash: the token itself is in no key or value of the installation.
    const k = keys(cp.prefix);
    const stored = JSON.stringify([
      await cp.cp.redis.hgetall(k.apiTokens()),
      await cp.cp.redis.hgetall(k.apiTokenHashes()),
    ]);
    assert.ok(stored.includes('ci-reader') && !stored.includes(token), stored);
  });

  it('refuses what cannot work: a taken name, a bad name, an expiry out of range, a viewer creating one', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ name: 'ci-reader', role: 'viewer' }, 409, /already exists; revoke it first/],
      [{ name: 'CI', role: 'viewer' }, 400, /^token name "CI" is not valid/],
      [{ name: 'x', role: 'owner' }, 400, /role/],
      [{ name: 'x', role: 'admin', expiresInSeconds: 1 }, 400, /expiresInSeconds/],
      [{ name: 'x', role: 'admin', expiresInSeconds: 400 * 86_400 }, 400, /expiresInSeconds/],
    ];
    for (const [body, status, message] of cases) {
      const res = await cp.api<{ message: string }>('POST', '/api/v1/tokens', body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(res.body.message, message, JSON.stringify(body));
    }
    const viewer = await cp.api('POST', '/api/v1/tokens', { name: 'mine', role: 'admin' }, cp.viewerToken);
    assert.equal(viewer.status, 403);
  });

  it('a revoked token is refused from the next request on; an expired one says so', async () => {
    const created = await cp.api<Created>('POST', '/api/v1/tokens', { name: 'deploy-bot', role: 'admin' });
    const token = created.body.token;
    assert.equal((await cp.api('POST', '/api/v1/clusters', { name: 'by-bot' }, token)).status, 201);
    assert.equal((await cp.api('DELETE', '/api/v1/tokens/deploy-bot')).status, 204);
    const revoked = await cp.api<{ code: string; message: string }>(
      'GET',
      '/api/v1/fleets',
      undefined,
      token,
    );
    assert.deepEqual([revoked.status, revoked.body.code], [401, 'Unauthorized']);
    assert.match(revoked.body.message, /not recognised/);
    assert.equal((await cp.api('DELETE', '/api/v1/tokens/deploy-bot')).status, 404);

    const short = await cp.api<Created>('POST', '/api/v1/tokens', {
      name: 'short',
      role: 'viewer',
      expiresInSeconds: 5,
    });
    assert.equal((await cp.api('GET', '/api/v1/fleets', undefined, short.body.token)).status, 200);
    await sleep(Math.max(0, Date.parse(short.body.expiresAt) - Date.now()) + 200);
    const expired = await cp.api<{ message: string }>('GET', '/api/v1/fleets', undefined, short.body.token);
    assert.equal(expired.status, 401);
    assert.match(expired.body.message, /^API token expired/);
  });

  it('from the CLI: a token is created and printed once, works, is listed and revoked; the audit is read', async () => {
    const server = await cp.app.listen({ host: '127.0.0.1', port: 0 });
    const created = await runGitfleet(
      ['token', 'create', 'cli-reader', '--role', 'viewer', '--expires', '2h'],
      server,
      cp.adminToken,
    );
    assert.equal(created.code, 0, created.stderr);
    const token = /Token:\s+(gft_\S+)/.exec(created.stdout)?.[1];
    assert.ok(token, created.stdout);
    assert.match(created.stdout, /Expires:.*\(in 1h59m|\(in 2h/);
    const listed = await runGitfleet(['fleet', 'list'], server, token);
    assert.equal(listed.code, 0, listed.stderr);
    const tokens = await runGitfleet(['token', 'list'], server, cp.adminToken);
    assert.match(tokens.stdout, /^cli-reader\s+viewer\s+alice\s/m);
    assert.ok(!tokens.stdout.includes(token), 'the list never shows a token');
    assert.equal((await runGitfleet(['token', 'revoke', 'cli-reader'], server, cp.adminToken)).code, 0);
    const refused = await runGitfleet(['fleet', 'list'], server, token);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Unauthorized: API token not recognised/);
    const audit = await runGitfleet(
      ['events', '--type', 'ApiAction', '--actor', 'alice', '--limit', '1000'],
      server,
      cp.adminToken,
    );
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(
      audit.stdout,
      /ApiAction\s+actor=alice via=installation-token action="DELETE \/api\/v1\/tokens\/\{name\}" object=cli-reader status=204/,
    );
    assert.ok(!audit.stdout.includes(token));
  });

  it('every action that changes something is in the history: who, how known, what, on which name, the answer', async () => {
    const anonymous = await cp.app.inject({
      method: 'POST',
      url: '/api/v1/clusters',
      payload: { name: 'nobody' },
    });
    assert.equal(anonymous.statusCode, 401);
    const actions = await audit();
    const brief = actions.map((e) => [
      e.actor,
      e.via,
      e.action,
      e.status,
      e.reason ?? null,
      e.cluster ?? e.object ?? null,
    ]);
    const has = (row: unknown[]) =>
      assert.ok(
        brief.some((b) => JSON.stringify(b) === JSON.stringify(row)),
        `${JSON.stringify(row)} in\n${brief.map((b) => JSON.stringify(b)).join('\n')}`,
      );
    has(['alice', 'installation-token', 'POST /api/v1/tokens', 201, null, null]);
    has(['ci-reader', 'api-token', 'POST /api/v1/clusters', 403, 'Forbidden', null]);
    has(['deploy-bot', 'api-token', 'POST /api/v1/clusters', 201, null, null]);
    has(['alice', 'installation-token', 'DELETE /api/v1/tokens/{name}', 204, null, 'deploy-bot']);
    has(['alice', 'installation-token', 'DELETE /api/v1/tokens/{name}', 404, 'NotFound', 'deploy-bot']);
    has(['anonymous', 'anonymous', 'POST /api/v1/clusters', 401, 'Unauthorized', null]);
    // Reads are not actions; a caller's actions can be asked for by name.
    assert.ok(actions.every((e) => !e.action?.startsWith('GET ')));
    const bot = await audit('&actor=deploy-bot');
    assert.deepEqual(
      bot.map((e) => e.action),
      ['POST /api/v1/clusters'],
    );
    // No token, and no body, is ever in the audit.
    assert.ok(!JSON.stringify(actions).includes('gft_'), 'no token in the audit');
  });
});
