// Projects: two teams signed in through a real OpenID provider, each with a role in its own
// project only. Each sees, changes and creates only its fleets and the clusters its project may
// select; the other team's names answer 404 exactly like names that do not exist.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { runGitfleet } from '../src/gitfleet-cli.ts';
import { startOidcProvider, type TestOidcProvider } from '../src/oidc-provider.ts';
import { tempDir } from '../src/process.ts';

const env = environmentFromEnv();
const FLEET_YAML = 'stages:\n  - name: all\n    selector: {}\n';
const configMap = (ns: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${ns}\ndata:\n  a: b\n`;

interface Answer {
  status: number;
  body: { code?: string; message?: string; items?: { name: string }[] } & Record<string, unknown>;
}

describe('projects: two teams, each in its own', () => {
  let idp: TestOidcProvider;
  let git: GitServer;
  let cp: TestControlPlane;
  let shopDev = '';
  let billingDev = '';
  let outsider = '';

  const as = (token: string) => (method: string, url: string, body?: unknown) =>
    cp.api<Answer['body']>(method, url, body, token) as Promise<Answer>;

  before(async () => {
    idp = await startOidcProvider({
      clients: [
        { id: 'shop-dev', groups: ['shop-team'], email: 'sam@shop.example' },
        { id: 'billing-dev', groups: ['billing-team'], email: 'bea@billing.example' },
        { id: 'outsider', groups: ['interns'], email: 'ida@example.com' },
      ],
    });
    git = await startGitServer();
    cp = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: {
        GITFLEET_OIDC_ISSUER: idp.issuer,
        GITFLEET_OIDC_AUDIENCE: 'gitfleet',
        GITFLEET_OIDC_ADMIN_GROUPS: 'platform-admins',
      },
    });
    for (const repo of ['shop-web', 'billing-api']) {
      await git.createRepo(repo, {
        'fleet.yaml': FLEET_YAML,
        'manifests/cm.yaml': configMap(repo.split('-')[0]!),
      });
    }
    for (const [name, team] of [
      ['shop-1', 'shop'],
      ['billing-1', 'billing'],
    ]) {
      assert.equal((await cp.api('POST', '/api/v1/clusters', { name, labels: { team } })).status, 201);
    }
    for (const team of ['shop', 'billing']) {
      const created = await cp.api('POST', '/api/v1/projects', {
        name: team,
        fleets: [`${team}-*`],
        clusters: `team=${team}`,
        namespaces: [team],
        repos: [`${git.url}/${team}-*`],
        roles: { admin: { groups: [`${team}-team`] }, operator: { tokens: [`${team}-ci`] } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    [shopDev, billingDev, outsider] = await Promise.all([
      idp.token('shop-dev'),
      idp.token('billing-dev'),
      idp.token('outsider'),
    ]);
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
    await idp?.stop();
  });

  it("a team's admin creates fleets only in its project, under its names and from its repositories", async () => {
    const shop = as(shopDev);
    const who = await shop('GET', '/api/v1/whoami');
    assert.deepEqual(who.body, { name: 'sam@shop.example', role: 'none', projects: { shop: 'admin' } });
    const fleet = (name: string, repo: string, project?: string) => ({
      name,
      repo: git.repoUrl(repo),
      credentials: { username: git.username, password: git.password },
      ...(project ? { project } : {}),
    });
    const created = await shop('POST', '/api/v1/fleets', fleet('shop-web', 'shop-web', 'shop'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.project, 'shop');
    const billing = await as(billingDev)(
      'POST',
      '/api/v1/fleets',
      fleet('billing-api', 'billing-api', 'billing'),
    );
    assert.equal(billing.status, 201, JSON.stringify(billing.body));

    const refusals: [unknown, number, string, RegExp][] = [
      [
        fleet('web', 'shop-web', 'shop'),
        409,
        'ProjectRefused',
        /fleet name web is not one of project shop's fleets \(shop-\*\)/,
      ],
      [
        fleet('shop-x', 'billing-api', 'shop'),
        409,
        'ProjectRefused',
        /is not one of project shop's repositories/,
      ],
      [fleet('billing-x', 'billing-api', 'billing'), 404, 'NotFound', /^project billing does not exist$/],
      [
        fleet('shop-y', 'shop-web'),
        403,
        'Forbidden',
        /may create fleets only in its projects: give `project` \(shop\)/,
      ],
    ];
    for (const [body, status, code, message] of refusals) {
      const res = await shop('POST', '/api/v1/fleets', body);
      assert.deepEqual([res.status, res.body.code], [status, code], JSON.stringify(body));
      assert.match(String(res.body.message), message);
    }
  });

  it("the other team's fleets, clusters, projects and events answer as if they did not exist", async () => {
    const billing = as(billingDev);
    const names = (a: Answer) => (a.body.items ?? []).map((i) => i.name);
    assert.deepEqual(names(await billing('GET', '/api/v1/fleets')), ['billing-api']);
    assert.deepEqual(names(await billing('GET', '/api/v1/clusters')), ['billing-1']);
    assert.deepEqual(names(await billing('GET', '/api/v1/projects')), ['billing']);

    // The answer for another team's name is the answer for a name nobody took.
    const same = async (url: string, missing: string, method = 'GET', body?: unknown) => {
      const theirs = await billing(method, url, body);
      const nobodys = await billing(method, missing, body);
      assert.equal(theirs.status, 404, `${method} ${url}`);
      assert.deepEqual(
        { ...theirs.body, message: String(theirs.body.message).replace(/shop-web|shop-1|shop\b/, 'X') },
        {
          ...nobodys.body,
          message: String(nobodys.body.message).replace(/nope-fleet|nope-cluster|nope\b/, 'X'),
        },
        `${method} ${url}`,
      );
    };
    await same('/api/v1/fleets/shop-web', '/api/v1/fleets/nope-fleet');
    await same('/api/v1/fleets/shop-web/status', '/api/v1/fleets/nope-fleet/status');
    await same('/api/v1/fleets/shop-web/promotions', '/api/v1/fleets/nope-fleet/promotions');
    await same('/api/v1/fleets/shop-web', '/api/v1/fleets/nope-fleet', 'PATCH', { branch: 'main' });
    await same('/api/v1/fleets/shop-web/sync', '/api/v1/fleets/nope-fleet/sync', 'POST');
    await same('/api/v1/fleets/shop-web', '/api/v1/fleets/nope-fleet', 'DELETE');
    await same('/api/v1/clusters/shop-1', '/api/v1/clusters/nope-cluster');
    await same('/api/v1/projects/shop', '/api/v1/projects/nope');

    const events = await billing('GET', '/api/v1/events?limit=1000');
    const about = (events.body.items ?? []) as { fleet?: string; cluster?: string }[];
    assert.ok(about.length > 0, 'its own events are there');
    assert.ok(
      about.every((e) => !['shop-web'].includes(e.fleet ?? '') && e.cluster !== 'shop-1'),
      JSON.stringify(about.filter((e) => e.fleet === 'shop-web' || e.cluster === 'shop-1')),
    );
    // The installation's own things are not a team's.
    assert.equal((await billing('GET', '/api/v1/tokens')).status, 403);
    assert.equal((await billing('GET', '/api/v1/notification-targets')).status, 403);
    assert.equal((await billing('POST', '/api/v1/clusters', { name: 'mine' })).status, 403);
  });

  it('an operator token of a project syncs its fleets but cannot delete them; a caller in no project has no way in', async () => {
    const token = await cp.api<{ token: string }>('POST', '/api/v1/tokens', {
      name: 'shop-ci',
      role: 'none',
    });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    const ci = as(token.body.token);
    assert.equal((await ci('POST', '/api/v1/fleets/shop-web/sync')).status, 200);
    const remove = await ci('DELETE', '/api/v1/fleets/shop-web');
    assert.deepEqual([remove.status, remove.body.code], [403, 'Forbidden']);
    assert.match(
      String(remove.body.message),
      /^shop-ci is an operator of fleet shop-web: this needs the admin role$/,
    );
    assert.equal((await ci('GET', '/api/v1/fleets/billing-api')).status, 404);

    const nobody = await as(outsider)('GET', '/api/v1/fleets');
    assert.equal(nobody.status, 401);
    assert.match(
      String(nobody.body.message),
      /^ida@example\.com signed in, but in none of the groups that have a role/,
    );
  });

  it("a promotion by a signed-in person is a commit authored by that person's email", async () => {
    const fleet = await as(shopDev)('GET', '/api/v1/fleets/shop-web');
    const head = String(fleet.body.head);
    const promoted = await as(shopDev)('POST', '/api/v1/fleets/shop-web/promotions', {
      stage: 'all',
      revision: head,
    });
    assert.equal(promoted.status, 201, JSON.stringify(promoted.body));
    const [last] = await git.log('shop-web');
    assert.deepEqual([last?.author, last?.email], ['sam@shop.example', 'sam@shop.example']);
  });

  it('from the CLI: a project is applied from a file (created, then replaced), listed, shown and deleted', async () => {
    const server = await cp.app.listen({ host: '127.0.0.1', port: 0 });
    const file = join(tempDir('project-file'), 'ops.yaml');
    const write = (namespaces: string) =>
      writeFileSync(
        file,
        `name: ops\nfleets: [ops-*]\nclusters: team=ops\nnamespaces: [${namespaces}]\nrepos: ['${git.url}/ops-*']\nroles:\n  admin: { groups: [ops-team] }\n`,
      );
    write('ops');
    const created = await runGitfleet(['project', 'apply', '-f', file], server, cp.adminToken);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^project ops created$/m);
    write('ops, ops-*');
    const replaced = await runGitfleet(['project', 'apply', '-f', file], server, cp.adminToken);
    assert.match(replaced.stdout, /^project ops replaced$/m);
    const shown = await runGitfleet(['project', 'get', 'ops'], server, cp.adminToken);
    assert.match(shown.stdout, /Namespaces:\s+ops, ops-\*/);
    assert.match(shown.stdout, /Roles:\s+admin: group ops-team/);
    // A member lists its projects only, and another team's is not found.
    const listed = await runGitfleet(['project', 'list'], server, billingDev);
    assert.deepEqual(
      listed.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)[0]),
      ['billing'],
    );
    const hidden = await runGitfleet(['project', 'get', 'shop'], server, billingDev);
    assert.equal(hidden.code, 1);
    assert.match(hidden.stderr, /NotFound: project shop does not exist/);
    assert.equal((await runGitfleet(['project', 'delete', 'ops'], server, cp.adminToken)).code, 0);
  });

  it('every change a team made is in the audit under its signed-in name', async () => {
    const actions = await cp.api<{
      items: { actor?: string; via?: string; action?: string; fleet?: string; status?: number }[];
    }>('GET', '/api/v1/events?type=ApiAction&actor=sam@shop.example&limit=1000');
    assert.ok(
      actions.body.items.some(
        (e) => e.via === 'oidc' && e.action === 'POST /api/v1/fleets' && e.status === 201,
      ),
      JSON.stringify(actions.body.items),
    );
  });
});
