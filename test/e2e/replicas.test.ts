// Two control-plane replicas on one Redis, as the chart runs them: an agent connected to one
// receives a change triggered through the other (Redis pub/sub), and Git polling — BullMQ job
// schedulers — fetches each repository once per interval, not once per replica.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { openStream, registerAgent } from '../src/protocol-agent.ts';

const env = environmentFromEnv();
const SECRET = 'replica-webhook-secret';
const id = randomBytes(3).toString('hex');
let a: TestControlPlane;
let b: TestControlPlane;
let git: GitServer;

const fleetYaml = `stages:\n  - name: all\n    selector: { matchLabels: { replicas: "${id}" } }\n`;
const cm = (v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: r\n  namespace: default\ndata:\n  v: "${v}"\n`;

before(async () => {
  git = await startGitServer();
  const common = { GITFLEET_WEBHOOK_SECRET: SECRET, GITFLEET_POLL_INTERVAL_SECONDS: '1' };
  a = await startTestControlPlane({ redisUrl: env.redisUrl, env: common });
  b = await startTestControlPlane({ redisUrl: env.redisUrl, env: common, replicaOf: a });
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await git?.stop();
});

test('an agent on replica A gets a change pushed through replica B', async () => {
  const repo = `rep-${id}`;
  await git.createRepo(repo, { 'fleet.yaml': fleetYaml, 'manifests/cm.yaml': cm('one') });
  // Registered through B, connected to A: state is shared, not per replica.
  const reg = await b.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
    name: `r-${id}`,
    labels: { replicas: id },
  });
  const { credential } = await registerAgent(a.grpcClient(), reg.body.bootstrapToken);
  const created = await b.api('POST', '/api/v1/fleets', {
    name: repo,
    repo: git.repoUrl(repo),
    credentials: { username: git.username, password: git.password },
  });
  assert.equal(created.status, 201);
  const agent = openStream(a.grpcClient(), credential);
  await agent.waitFor('first desired state', () => agent.desired.find((d) => d.fleet === repo));

  const second = await git.commit(repo, { 'manifests/cm.yaml': cm('two') }, 'two');
  const payload = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: git.repoUrl(repo) } });
  const hook = await b.app.inject({
    method: 'POST',
    url: '/api/v1/webhooks/git',
    payload,
    headers: {
      'content-type': 'application/json',
      'x-gitea-signature': createHmac('sha256', SECRET).update(payload).digest('hex'),
      'x-gitea-event': 'push',
    },
  });
  assert.equal(hook.statusCode, 202, hook.body);
  const d = await agent.waitFor('change via the other replica', () =>
    agent.desired.find((x) => x.revision === second),
  );
  assert.equal((d.objects?.[0] as unknown as { data: { v: string } } | undefined)?.data.v, 'two');
  // Without a webhook, the next poll (every second here) brings the push to the agent.
  const third = await git.commit(repo, { 'manifests/cm.yaml': cm('three') }, 'three, no webhook');
  await agent.waitFor('change via polling', () => agent.desired.find((x) => x.revision === third));
  // Both replicas see the cluster as connected (the state is in Redis).
  assert.equal((await b.api<{ connected: boolean }>('GET', `/api/v1/clusters/r-${id}`)).body.connected, true);
  agent.stream.cancel();
});

test('with two replicas, each repository is fetched once per poll interval', async () => {
  const repo = `poll-${id}`;
  await git.createRepo(repo, { 'fleet.yaml': fleetYaml, 'manifests/cm.yaml': cm('p') });
  await b.api('POST', '/api/v1/fleets', {
    name: repo,
    repo: git.repoUrl(repo),
    credentials: { username: git.username, password: git.password },
  });
  // What one fetch of an unchanged repository costs in HTTP requests.
  let before = git.requestCount;
  await a.api('POST', `/api/v1/fleets/${repo}/sync`);
  const perFetch = git.requestCount - before;
  assert.ok(perFetch >= 1);
  // Now only the pollers run (the first fleet's poller too: count for two fleets).
  await sleep(1500);
  before = git.requestCount;
  const seconds = 6;
  await sleep(seconds * 1000);
  const fetches = (git.requestCount - before) / perFetch;
  // Two fleets polled every second: ~12 fetches in 6 s if scheduled once, ~24 if every
  // replica polled on its own.
  assert.ok(fetches >= 6, `polling runs (${fetches} fetches in ${seconds} s)`);
  assert.ok(
    fetches <= 2 * seconds + 4,
    `${fetches} fetches in ${seconds} s for 2 fleets: polled once per interval, not per replica`,
  );
});

/** One sample of a replica's /metrics, by its full name with labels. */
async function metric(cp: TestControlPlane, sample: string): Promise<number> {
  const res = await cp.app.inject({ method: 'GET', url: '/metrics' });
  const line = res.body.split('\n').find((l) => l.startsWith(`${sample} `));
  assert.ok(line, `/metrics has ${sample}`);
  return Number(line.slice(sample.length + 1));
}

test('a Helm render made by one replica is the render of every replica: randAlphaNum stays stable as passes move', async () => {
  const repo = `helm-${id}`;
  await git.createRepo(repo, {
    'fleet.yaml': `helm:\n  chart: ./chart\n  namespace: default\n${fleetYaml}`,
    'chart/Chart.yaml': 'apiVersion: v2\nname: random\nversion: 0.1.0\n',
    'chart/templates/token.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: token-{{ .Release.Name }} }\ndata: { token: {{ randAlphaNum 24 | quote }} }\n',
  });
  const helmRuns = async () =>
    (await metric(a, 'gitfleet_renders_total{tool="helm"}')) +
    (await metric(b, 'gitfleet_renders_total{tool="helm"}'));
  const runsBefore = await helmRuns();
  const reg = await a.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
    name: `h-${id}`,
    labels: { replicas: id },
  });
  const { credential } = await registerAgent(b.grpcClient(), reg.body.bootstrapToken);
  const agent = openStream(b.grpcClient(), credential);
  const created = await a.api<{ errors: unknown[] }>('POST', '/api/v1/fleets', {
    name: repo,
    repo: git.repoUrl(repo),
    credentials: { username: git.username, password: git.password },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.errors, []);
  const first = await agent.waitFor('the chart rendered', () => agent.desired.find((d) => d.fleet === repo));

  // Passes of this fleet run on whichever replica asks first (and the pollers ask every
  // second): ask both until each has run one that looked the render up.
  const sharedHits = (cp: TestControlPlane) => metric(cp, 'gitfleet_render_cache_hits_total{cache="shared"}');
  const deadline = Date.now() + 30_000;
  while ((await sharedHits(a)) + (await sharedHits(b)) === 0) {
    assert.ok(Date.now() < deadline, 'no replica took the render from the shared cache in 30 s');
    await Promise.all([
      a.api('POST', `/api/v1/fleets/${repo}/sync`),
      b.api('POST', `/api/v1/fleets/${repo}/sync`),
    ]);
  }
  assert.equal(await helmRuns(), runsBefore + 1, 'helm ran once for one input, across both replicas');
  await sleep(1500);
  const digests = new Set(agent.desired.filter((d) => d.fleet === repo).map((d) => d.digest));
  assert.deepEqual([...digests], [first.digest], 'the agent was never sent another random output');
  agent.stream.cancel();
});
