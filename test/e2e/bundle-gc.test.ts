// Bundles are content-addressed and stored once in Redis; each push of a fleet whose clusters
// render their own bundles adds as many. The hourly collection lets those no desired state
// names any more expire (after a day's grace), keeps the ones in use, and a bundle wanted
// again before it expired (a rollback) is kept again.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
let cp: TestControlPlane;
let git: GitServer;
let redis: Redis;

before(async () => {
  git = await startGitServer();
  cp = await startTestControlPlane({ redisUrl: env.redisUrl });
  redis = new Redis(env.redisUrl);
});
after(async () => {
  redis?.disconnect();
  await cp?.stop();
  await git?.stop();
});

const fleetYaml = `stages:\n  - name: all\n    selector: { matchLabels: { gc: "${id}" } }\n`;
const configMap = (greeting: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\n  namespace: default\ndata:\n  text: ${greeting}\n`;

test('bundles no cluster runs expire after a grace; bundles in use, or wanted again, stay', async () => {
  const repo = `gc-${id}`;
  const cluster = `gc-${id}`;
  await cp.api('POST', '/api/v1/clusters', { name: cluster, labels: { gc: id } });
  await git.createRepo(repo, { 'fleet.yaml': fleetYaml, 'manifests/cm.yaml': configMap('hello') });
  const created = await cp.api('POST', '/api/v1/fleets', {
    name: repo,
    repo: git.repoUrl(repo),
    credentials: { username: git.username, password: git.password },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const digest = async () => (await cp.cp.desired.getOne(cluster, repo))?.digest ?? '';
  const ttl = (d: string) => redis.ttl(`${cp.prefix}:bundle:${d}`);

  const first = await digest();
  assert.match(first, /^sha256:/);
  await git.commit(repo, { 'manifests/cm.yaml': configMap('bonjour') }, 'bonjour');
  assert.equal((await cp.api('POST', `/api/v1/fleets/${repo}/sync`)).status, 200);
  const second = await digest();
  assert.notEqual(second, first);

  // Collected: the first bundle, no longer named, expires within the day; the second stays.
  const result = await cp.cp.collectBundles();
  assert.ok(result.expiring >= 1 && result.bundles >= 2, JSON.stringify(result));
  const firstTtl = await ttl(first);
  assert.ok(firstTtl > 0 && firstTtl <= 24 * 3600, `first bundle TTL ${firstTtl}`);
  assert.equal(await ttl(second), -1, 'the bundle in use has no expiry');

  // Rolled back by hand to the first content before it expired: the cluster's desired state
  // names it again, and the next collection keeps it and lets the second one go.
  await git.commit(repo, { 'manifests/cm.yaml': configMap('hello') }, 'back to hello');
  assert.equal((await cp.api('POST', `/api/v1/fleets/${repo}/sync`)).status, 200);
  assert.equal(await digest(), first);
  await cp.cp.collectBundles();
  assert.equal(await ttl(first), -1, 'the bundle wanted again lost its expiry');
  const secondTtl = await ttl(second);
  assert.ok(secondTtl > 0 && secondTtl <= 24 * 3600, `second bundle TTL ${secondTtl}`);

  // A replica that never saw a bundle takes its expiry back as it stores it.
  const other = await startTestControlPlane({ redisUrl: env.redisUrl, replicaOf: cp });
  try {
    await git.commit(repo, { 'manifests/cm.yaml': configMap('bonjour') }, 'bonjour again');
    assert.equal((await other.api('POST', `/api/v1/fleets/${repo}/sync`)).status, 200);
    assert.equal(await digest(), second);
    assert.equal(await ttl(second), -1, 'stored again by a replica that did not know it: no expiry');
  } finally {
    await other.stop();
  }
});
