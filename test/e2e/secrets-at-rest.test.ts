// Fleet credentials sealed at rest, on the real parts: control planes on the shared Redis, a
// Git server and a Helm repository that both want passwords, and the real server.ts process
// for what an operator runs (a start without a key, `reencrypt`). Redis holds no password in
// clear, yet fleets fetch from Git and render charts with theirs; a rotation from key A to key
// B re-seals everything, after which B alone works and A alone fails saying which key it lacks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { keys } from '../../control-plane/src/store/keys.ts';
import { decodeSecretKey, secretKeyId } from '../../control-plane/src/store/secrets.ts';
import { type HelmRepository, publishChart, startHelmRepository } from '../src/chart-repos.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { freePort, tempDir } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const SERVER = fileURLToPath(new URL('../../control-plane/src/server.ts', import.meta.url));
const chartDir = fileURLToPath(new URL('../fixtures/real-world/podinfo-chart', import.meta.url));
const chartName = `podinfo-${id}`;

// The two keys of the rotation, in both accepted encodings.
const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('hex');
const idOf = (key: string) => secretKeyId(decodeSecretKey(key) as Buffer);
const [idA, idB] = [idOf(keyA), idOf(keyB)];

interface FleetView {
  head: string | null;
  lastGoodRevision: string | null;
  fetchError: string | null;
  chartVersion: string | null;
  errors: { code: string; message: string }[];
  conditions: { type: string; status: string; reason: string }[];
}

/** A fleet whose credentials did not open: not fetched, and not Ready, for that reason. */
function assertFetchFailed(view: FleetView): void {
  const condition = (type: string) => view.conditions.find((c) => c.type === type);
  assert.equal(condition('Fetched')?.status, 'False');
  assert.equal(condition('Fetched')?.reason, 'FetchFailed');
  assert.equal(condition('Ready')?.reason, 'FetchFailed');
}

/** server.ts run to its end (a start that fails, or `reencrypt`) with only these GITFLEET_* settings. */
function runServer(
  args: string[],
  settings: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GITFLEET_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, ...args], {
      env: { ...base, GITFLEET_LOG_LEVEL: 'warn', ...settings },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('fleet credentials sealed at rest', () => {
  let git: GitServer;
  let charts: HelmRepository;
  let cp: TestControlPlane;
  const gitFleet = `sealed-git-${id}`;
  const helmFleet = `sealed-helm-${id}`;
  const legacyFleet = `sealed-legacy-${id}`;
  const rotatedFleet = `sealed-new-${id}`;
  const fleets = [gitFleet, helmFleet, legacyFleet, rotatedFleet];

  const fleetYaml = `stages:\n  - name: all\n    selector: { matchLabels: { sealed: "${id}" } }\n`;
  const cm = (v: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sealed\n  namespace: default\ndata:\n  v: "${v}"\n`;
  const helmYaml = (repo: string) =>
    `helm:\n  repo: ${repo}\n  chart: ${chartName}\n  version: "6.14.1"\n  releaseName: podinfo\n  namespace: sealed-${id}\n${fleetYaml}`;

  /** The fleet's hash in Redis, as a dump or a backup would hold it. */
  const raw = (fleet: string) => cp.cp.redis.hgetall(keys(cp.prefix).fleet(fleet));
  const sync = (fleet: string) =>
    cp.api<FleetView & { code?: string; message?: string }>('POST', `/api/v1/fleets/${fleet}/sync`);
  const restart = async (settings: Record<string, string>) => {
    await cp.stop({ keepState: true });
    cp = await startTestControlPlane({ redisUrl: env.redisUrl, restartOf: cp, env: settings });
  };
  /** What `reencrypt` needs: the installation's Redis and prefix, and the replicas' keys. */
  const reencrypt = (settings: Record<string, string>) =>
    runServer(['reencrypt'], {
      GITFLEET_REDIS_URL: env.redisUrl,
      GITFLEET_REDIS_PREFIX: cp.prefix,
      ...settings,
    });

  before(async () => {
    git = await startGitServer();
    charts = await startHelmRepository();
    await publishChart(charts, chartDir, { name: chartName, version: '6.14.1' });
    cp = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: { GITFLEET_SECRET_KEY: keyA },
      captureLogs: true,
    });
  });

  after(async () => {
    await cp?.stop();
    await git?.stop();
    await charts?.stop();
  });

  it('Redis holds the Git and chart passwords sealed with the key, and fleets fetch and render with them', async () => {
    const head = await git.createRepo(gitFleet, { 'fleet.yaml': fleetYaml, 'manifests/cm.yaml': cm('one') });
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: gitFleet,
      repo: git.repoUrl(gitFleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.fetchError, null);
    assert.equal(created.body.head, head, 'fetched with the Git password');

    const helmHead = await git.createRepo(helmFleet, { 'fleet.yaml': helmYaml(charts.url) });
    const helm = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: helmFleet,
      repo: git.repoUrl(helmFleet),
      credentials: { username: git.username, password: git.password },
      chartCredentials: { username: charts.username, password: charts.password },
    });
    assert.equal(helm.status, 201, JSON.stringify(helm.body));
    assert.deepEqual(helm.body.errors, []);
    assert.equal(helm.body.lastGoodRevision, helmHead, 'the chart rendered with the registry password');
    assert.equal(helm.body.chartVersion, '6.14.1');

    for (const fleet of [gitFleet, helmFleet]) {
      const hash = await raw(fleet);
      const dump = JSON.stringify(hash);
      for (const secret of [git.password, charts.password]) {
        assert.ok(!dump.includes(secret), `${fleet}: no password in clear in Redis`);
      }
      assert.match(hash.credentials ?? '', new RegExp(`^v1:${idA}:`));
      assert.match(hash.chartCredentials ?? '', new RegExp(`^v1:${idA}:`));
    }
    // Nor in the logs (debug level) or the API's answers.
    const view = JSON.stringify((await cp.api('GET', `/api/v1/fleets/${helmFleet}`)).body);
    for (const secret of [git.password, charts.password, keyA]) {
      assert.ok(!cp.logs().includes(secret), 'not in the logs');
      assert.ok(!view.includes(secret), 'not in GET /api/v1/fleets/{name}');
    }
  });

  it('a sealed value copied to another fleet or field does not open there', async () => {
    const key = keys(cp.prefix).fleet(gitFleet);
    const own = await cp.cp.redis.hget(key, 'credentials');
    const other = (await raw(helmFleet)).credentials;
    assert.ok(own && other);
    try {
      await cp.cp.redis.hset(key, 'credentials', other);
      // The fleet's fetch fails with the reason, shown where a user looks: its state.
      const res = await sync(gitFleet);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertFetchFailed(res.body);
      assert.match(
        res.body.fetchError ?? '',
        new RegExp(
          `^the Git credentials of fleet ${gitFleet} are sealed with key ${idA} but not authentic with it`,
        ),
      );
    } finally {
      await cp.cp.redis.hset(key, 'credentials', own);
    }
    assert.equal((await sync(gitFleet)).status, 200);
  });

  it('credentials stored in clear before sealing existed are still read', async () => {
    const head = await git.createRepo(legacyFleet, {
      'fleet.yaml': fleetYaml,
      'manifests/cm.yaml': cm('old'),
    });
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: legacyFleet,
      repo: git.repoUrl(legacyFleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201);
    // As an earlier version wrote them.
    await cp.cp.redis.hset(keys(cp.prefix).fleet(legacyFleet), {
      credentials: JSON.stringify({ username: git.username, password: git.password }),
      chartCredentials: '{}',
    });
    const next = await git.commit(legacyFleet, { 'manifests/cm.yaml': cm('older') }, 'a commit to fetch');
    const res = await sync(legacyFleet);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.head, next, `fetched past ${head} with the clear credentials`);
  });

  it('a control plane without a key, or with a malformed one, does not start, and says what to do', async () => {
    const dataDir = tempDir('sealed-nokey');
    try {
      const settings = {
        GITFLEET_REDIS_URL: env.redisUrl,
        GITFLEET_REDIS_PREFIX: `t-nokey-${id}`,
        GITFLEET_HTTP_HOST: '127.0.0.1',
        GITFLEET_HTTP_PORT: String(await freePort()),
        GITFLEET_GRPC_HOST: '127.0.0.1',
        GITFLEET_GRPC_PORT: String(await freePort()),
        GITFLEET_DATA_DIR: dataDir,
        GITFLEET_API_TOKENS: `admin:alice:${randomBytes(12).toString('hex')}`,
      };
      const none = await runServer([], settings);
      assert.notEqual(none.code, 0);
      assert.match(
        none.stderr,
        /GITFLEET_SECRET_KEY is not set: it is the key that seals fleets' Git and chart credentials in Redis, the same on every replica; generate one with `openssl rand -base64 32`/,
      );
      assert.doesNotMatch(none.stderr, /\n\s+at /, 'a message, not a stack trace');
      assert.doesNotMatch(none.stdout, /ready/);

      const short = randomBytes(31).toString('base64');
      const bad = await runServer([], { ...settings, GITFLEET_SECRET_KEY: short });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /GITFLEET_SECRET_KEY is not valid \(44 characters\): use 32 random bytes/);
      assert.ok(!bad.stderr.includes(short), 'the key is not printed');

      const badPrevious = await runServer([], {
        ...settings,
        GITFLEET_SECRET_KEY: keyA,
        GITFLEET_SECRET_KEY_PREVIOUS: 'rotation-in-progress',
      });
      assert.notEqual(badPrevious.code, 0);
      assert.match(badPrevious.stderr, /GITFLEET_SECRET_KEY_PREVIOUS is not valid \(20 characters\)/);
      assert.ok(!badPrevious.stderr.includes(keyA));

      const usage = await runServer(['reencrpyt'], settings);
      assert.equal(usage.code, 64);
      assert.match(usage.stderr, /usage: gitfleet-control-plane \[reencrypt\]/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('rotation: with B and previous A every fleet still works; reencrypt re-seals with B, once', async () => {
    await restart({ GITFLEET_SECRET_KEY: keyB, GITFLEET_SECRET_KEY_PREVIOUS: keyA });
    for (const fleet of [gitFleet, helmFleet, legacyFleet]) {
      const res = await sync(fleet);
      assert.equal(res.status, 200, `${fleet}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.fetchError, null);
    }
    // A fleet created meanwhile is sealed with the new key at once.
    await git.createRepo(rotatedFleet, { 'fleet.yaml': fleetYaml, 'manifests/cm.yaml': cm('new') });
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: rotatedFleet,
      repo: git.repoUrl(rotatedFleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201);
    assert.match((await raw(rotatedFleet)).credentials ?? '', new RegExp(`^v1:${idB}:`));
    assert.match((await raw(gitFleet)).credentials ?? '', new RegExp(`^v1:${idA}:`), 'not yet re-sealed');

    const settings = { GITFLEET_SECRET_KEY: keyB, GITFLEET_SECRET_KEY_PREVIOUS: keyA };
    const first = await reencrypt(settings);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    // The legacy fleet counts: its clear credentials are sealed now.
    assert.match(
      first.stdout,
      new RegExp(
        `re-sealed the credentials of 3 fleet\\(s\\) and notification target\\(s\\) with key ${idB}; 1 already sealed with it\\n$`,
      ),
    );
    for (const fleet of fleets) {
      const hash = await raw(fleet);
      assert.match(hash.credentials ?? '', new RegExp(`^v1:${idB}:`), fleet);
      assert.match(hash.chartCredentials ?? '', new RegExp(`^v1:${idB}:`), fleet);
      assert.ok(!JSON.stringify(hash).includes(git.password), fleet);
    }
    const again = await reencrypt(settings);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      new RegExp(
        `re-sealed the credentials of 0 fleet\\(s\\) and notification target\\(s\\) with key ${idB}; 4 already sealed with it`,
      ),
    );
    for (const out of [first, again]) {
      for (const secret of [keyA, keyB, git.password, charts.password])
        assert.ok(!(out.stdout + out.stderr).includes(secret));
    }
  });

  it('after the rotation, B alone fetches and renders; A alone fails, naming the key it lacks', async () => {
    await restart({ GITFLEET_SECRET_KEY: keyB });
    const next = await git.commit(gitFleet, { 'manifests/cm.yaml': cm('two') }, 'after the rotation');
    const res = await sync(gitFleet);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.head, next, 'fetched with the re-sealed Git password');
    const helm = await sync(helmFleet);
    assert.equal(helm.status, 200, JSON.stringify(helm.body));
    assert.deepEqual(helm.body.errors, []);
    assert.equal(helm.body.chartVersion, '6.14.1');

    await restart({ GITFLEET_SECRET_KEY: keyA });
    for (const fleet of [gitFleet, helmFleet]) {
      const failed = await sync(fleet);
      assert.equal(failed.status, 200, JSON.stringify(failed.body));
      assertFetchFailed(failed.body);
      assert.match(
        failed.body.fetchError ?? '',
        new RegExp(
          `^the Git credentials of fleet ${fleet} are sealed with key ${idB}, which this replica does not have \\(it has ${idA}\\): give it that key as GITFLEET_SECRET_KEY, or as GITFLEET_SECRET_KEY_PREVIOUS`,
        ),
      );
    }
    // reencrypt with the wrong key changes nothing and says which fleets it could not open.
    const wrong = await reencrypt({ GITFLEET_SECRET_KEY: keyA });
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stdout,
      new RegExp(
        `fleet ${gitFleet}: not re-sealed: the Git credentials of fleet ${gitFleet} are sealed with key ${idB}`,
      ),
    );
    assert.match(
      wrong.stdout,
      /re-sealed the credentials of 0 fleet\(s\) and notification target\(s\) with key [0-9a-f]{8}; 0 already sealed with it; 4 failed/,
    );
    assert.match((await raw(gitFleet)).credentials ?? '', new RegExp(`^v1:${idB}:`));
  });
});
