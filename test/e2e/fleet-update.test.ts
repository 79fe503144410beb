// Changing a fleet in place (PATCH /api/v1/fleets/{name}, `gitfleet fleet update`): credentials
// given to a fleet created without them, a new branch or path re-planned from there, a poll
// interval of its own, and changes that cannot work refused with nothing changed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { runGitfleet } from '../src/gitfleet-cli.ts';
import { waitFor } from '../src/process.ts';

const env = environmentFromEnv();
const FLEET_YAML = 'stages:\n  - name: dev\n    selector: { matchLabels: { env: upd } }\n';
const configMap = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: upd\n  namespace: default\ndata:\n  at: ${value}\n`;

interface FleetView {
  name: string;
  repo: string;
  branch: string;
  path: string;
  pollIntervalSeconds: number;
  head: string | null;
  lastGoodRevision: string | null;
  fetchError: string | null;
}
interface StatusView {
  items: { cluster: string; desiredRevision: string | null; desiredDigest: string | null }[];
}

describe('changing a fleet', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let main: string;
  let release: string;
  let server: string;
  const repo = 'upd';

  const fleet = async () => (await cp.api<FleetView>('GET', `/api/v1/fleets/${repo}`)).body;
  const desired = async () =>
    (await cp.api<StatusView>('GET', `/api/v1/fleets/${repo}/status`)).body.items.find(
      (i) => i.cluster === 'upd-dev',
    );

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    server = await cp.app.listen({ host: '127.0.0.1', port: 0 });
    main = await git.createRepo(repo, {
      'deploy/fleet.yaml': FLEET_YAML,
      'deploy/manifests/cm.yaml': configMap('deploy'),
      'other/fleet.yaml': FLEET_YAML,
      'other/manifests/cm.yaml': configMap('other'),
    });
    release = await git.commit(repo, { 'deploy/manifests/cm.yaml': configMap('release') }, 'release', {
      branch: 'release',
    });
    assert.equal(
      (await cp.api('POST', '/api/v1/clusters', { name: 'upd-dev', labels: { env: 'upd' } })).status,
      201,
    );
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it('credentials given to a fleet created without them: fetched and planned at once (CLI, password on stdin)', async () => {
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: repo,
      repo: git.repoUrl(repo),
      path: 'deploy',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(String(created.body.fetchError), /asks for credentials/);
    assert.equal(created.body.head, null);

    const run = await runGitfleet(
      ['fleet', 'update', repo, '--username', git.username, '--password-stdin'],
      server,
      cp.adminToken,
      `${git.password}\n`,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^fleet upd updated/);
    assert.match(run.stdout, new RegExp(`Head:\\s+${main.slice(0, 7)}`));
    const now = await fleet();
    assert.equal(now.fetchError, null);
    assert.equal(now.lastGoodRevision, main);
    assert.equal((await desired())?.desiredRevision, main, 'the cluster is given the revision at once');

    // The change is in the history, and the password is nowhere in what people see.
    const events = await cp.api<{ items: { type: string; fleet?: string; reason?: string }[] }>(
      'GET',
      `/api/v1/events?fleet=${repo}&type=FleetUpdated`,
    );
    assert.deepEqual(
      events.body.items.map((e) => e.reason),
      ['Git credentials replaced'],
    );
    for (const text of [run.stdout, run.stderr, JSON.stringify(events.body), JSON.stringify(now)]) {
      assert.ok(!text.includes(git.password), 'the password is not shown');
    }
  });

  it('a new branch or path is fetched and re-planned from there', async () => {
    const before = await desired();
    const moved = await cp.api<FleetView>('PATCH', `/api/v1/fleets/${repo}`, { branch: 'release' });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.branch, 'release');
    assert.equal(moved.body.head, release);
    assert.equal(moved.body.lastGoodRevision, release);
    const onRelease = await desired();
    assert.equal(onRelease?.desiredRevision, release);
    assert.notEqual(
      onRelease?.desiredDigest,
      before?.desiredDigest,
      'the release branch deploys other objects',
    );

    const other = await cp.api<FleetView>('PATCH', `/api/v1/fleets/${repo}`, { path: 'other' });
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.equal(other.body.path, 'other');
    const fromOther = await desired();
    assert.equal(fromOther?.desiredRevision, release, 'the same commit');
    assert.notEqual(fromOther?.desiredDigest, onRelease?.desiredDigest, 'read from the other directory');

    const events = await cp.api<{ items: { reason?: string }[] }>(
      'GET',
      `/api/v1/events?fleet=${repo}&type=FleetUpdated`,
    );
    assert.deepEqual(events.body.items.map((e) => e.reason).slice(-2), [
      'branch main → release',
      'path deploy → other',
    ]);
  });

  it('a poll interval of its own: new commits are fetched at it, with no webhook; null goes back to the default', async () => {
    // Two changes at once both land: an update never loses another's.
    const [a, b] = await Promise.all([
      cp.api<FleetView>('PATCH', `/api/v1/fleets/${repo}`, { pollIntervalSeconds: 1 }),
      cp.api<FleetView>('PATCH', `/api/v1/fleets/${repo}`, { branch: 'main', path: 'deploy' }),
    ]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(b.status, 200, JSON.stringify(b.body));
    const both = await fleet();
    assert.deepEqual([both.pollIntervalSeconds, both.branch, both.path], [1, 'main', 'deploy']);

    const next = await git.commit(repo, { 'deploy/manifests/cm.yaml': configMap('polled') }, 'polled');
    await waitFor(
      'the new commit fetched by the fleet’s own poll',
      async () => (await fleet()).head === next,
      20_000,
    );

    const reset = await cp.api<FleetView>('PATCH', `/api/v1/fleets/${repo}`, { pollIntervalSeconds: null });
    assert.equal(reset.status, 200);
    assert.equal(reset.body.pollIntervalSeconds, 60, "the control plane's GITFLEET_POLL_INTERVAL_SECONDS");
  });

  it('changes that cannot work are refused, and nothing changes', async () => {
    // What a change would touch (a poll may still sync the fleet meanwhile: lastSyncAt moves).
    const settings = async () => {
      const { name, repo, branch, path, pollIntervalSeconds, head, lastGoodRevision } = await fleet();
      return { name, repo, branch, path, pollIntervalSeconds, head, lastGoodRevision };
    };
    const was = await settings();
    const cases: [unknown, number, string, RegExp][] = [
      [{}, 400, 'InvalidRequest', /must NOT have fewer than 1 properties|at least|fewer/],
      [{ repo: 'https://example.com/x.git' }, 400, 'InvalidRequest', /unknown field "repo"; remove it/],
      [{ branch: 'a..b' }, 400, 'InvalidRequest', /^branch "a\.\.b" is not a valid Git branch name/],
      [{ path: '../x' }, 400, 'InvalidRequest', /^path "\.\.\/x" must stay inside the repository$/],
      [{ pollIntervalSeconds: 0 }, 400, 'InvalidRequest', /pollIntervalSeconds/],
      [{ credentials: { user: 'x' } }, 400, 'InvalidRequest', /unknown field "user"/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await cp.api<{ code: string; message: string }>('PATCH', `/api/v1/fleets/${repo}`, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.code, code, JSON.stringify(body));
      assert.match(res.body.message, message, JSON.stringify(body));
    }
    const missing = await cp.api<{ code: string }>('PATCH', '/api/v1/fleets/nope', { branch: 'main' });
    assert.deepEqual([missing.status, missing.body.code], [404, 'FleetNotFound']);
    const viewer = await cp.api('PATCH', `/api/v1/fleets/${repo}`, { branch: 'release' }, cp.viewerToken);
    assert.equal(viewer.status, 403);
    const usage = await runGitfleet(['fleet', 'update', repo], server, cp.adminToken);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /nothing to change/);
    assert.deepEqual(await settings(), was);
  });
});
