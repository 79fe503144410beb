// The control plane as users and agents meet it: REST over a real Fastify app, gRPC over TLS,
// a real Redis (BullMQ status ingestion) and a real Git server. The "agent" here is a raw
// gRPC client speaking the protocol, so every message on the wire is checked.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Phase } from '@gitfleet/proto';
import { type ServiceError, status } from '@grpc/grpc-js';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bearer, startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { openStream, registerAgent } from '../src/protocol-agent.ts';

const env = environmentFromEnv();
const WEBHOOK_SECRET = 'webhook-secret-for-tests';

interface Registered {
  bootstrapToken: string;
  helmInstall: string;
  cluster: { name: string; labels: Record<string, string> };
}

function fleetYaml(team: string): string {
  return `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { env: dev, team: ${team} } }
substitute:
  namespace: shop-\${stage}
`;
}

const configMap = (value: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-\${cluster.name}
  namespace: \${namespace}
data:
  greeting: "${value}"
  region: "\${cluster.labels.region}"
`;

describe('control plane', () => {
  let cp: TestControlPlane;
  let git: GitServer;

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: { GITFLEET_WEBHOOK_SECRET: WEBHOOK_SECRET },
    });
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it('refuses requests without a valid token and writes by viewers', async () => {
    const anonymous = await cp.app.inject({ method: 'GET', url: '/api/v1/clusters' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().code, 'Unauthorized');
    const wrong = await cp.api('GET', '/api/v1/clusters', undefined, 'not-a-token-at-all');
    assert.equal(wrong.status, 401);
    const viewerWrite = await cp.api<{ code: string; message: string }>(
      'POST',
      '/api/v1/clusters',
      { name: 'x' },
      cp.viewerToken,
    );
    assert.equal(viewerWrite.status, 403);
    assert.match(viewerWrite.body.message, /viewer role/);
    const viewerRead = await cp.api('GET', '/api/v1/clusters', undefined, cp.viewerToken);
    assert.equal(viewerRead.status, 200);
    const health = await cp.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
  });

  it('registers clusters, lists them by selector, relabels, and explains bad input', async () => {
    const created = await cp.api<Registered>('POST', '/api/v1/clusters', {
      name: 'reg-eu',
      labels: { env: 'prod', region: 'eu' },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.bootstrapToken, /^gfb_/);
    assert.match(created.body.helmInstall, /helm install gitfleet-agent/);
    assert.ok(created.body.helmInstall.includes(`bootstrapToken=${created.body.bootstrapToken}`));
    assert.ok(created.body.helmInstall.includes('cluster.name=reg-eu'));
    await cp.api('POST', '/api/v1/clusters', { name: 'reg-us', labels: { env: 'prod', region: 'us' } });
    await cp.api('POST', '/api/v1/clusters', { name: 'reg-dev', labels: { env: 'staging' } });

    const dup = await cp.api<{ code: string }>('POST', '/api/v1/clusters', { name: 'reg-eu' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'ClusterExists');
    const bad = await cp.api<{ code: string; message: string }>('POST', '/api/v1/clusters', {
      name: 'Bad_Name',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /lowercase/);

    const prodEu = await cp.api<{ items: { name: string }[] }>(
      'GET',
      `/api/v1/clusters?selector=${encodeURIComponent('env=prod,region in (eu)')}`,
    );
    assert.deepEqual(
      prodEu.body.items.map((c) => c.name),
      ['reg-eu'],
    );
    const notProd = await cp.api<{ items: { name: string }[] }>(
      'GET',
      `/api/v1/clusters?selector=${encodeURIComponent('env!=prod')}`,
    );
    assert.ok(notProd.body.items.some((c) => c.name === 'reg-dev'));
    assert.ok(!notProd.body.items.some((c) => c.name === 'reg-eu'));
    const badSelector = await cp.api<{ code: string }>(
      'GET',
      `/api/v1/clusters?selector=${encodeURIComponent('env in prod')}`,
    );
    assert.equal(badSelector.status, 400);
    assert.equal(badSelector.body.code, 'InvalidSelector');

    const relabelled = await cp.api<{ labels: Record<string, string> }>('PATCH', '/api/v1/clusters/reg-us', {
      labels: { env: 'dev' },
    });
    assert.deepEqual(relabelled.body.labels, { env: 'dev' });
    const missing = await cp.api<{ code: string }>('GET', '/api/v1/clusters/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'ClusterNotFound');
  });

  it('exchanges a bootstrap token once for a credential; reuse is refused', async () => {
    const reg = await cp.api<Registered>('POST', '/api/v1/clusters', { name: 'boot-1', labels: {} });
    const client = cp.grpcClient();
    const { clusterName, credential } = await registerAgent(client, reg.body.bootstrapToken);
    assert.equal(clusterName, 'boot-1');
    assert.match(credential, /^gfc_boot-1\./);
    await assert.rejects(registerAgent(client, reg.body.bootstrapToken), (err: ServiceError) => {
      assert.equal(err.code, status.UNAUTHENTICATED);
      assert.match(err.details, /already used or expired/);
      return true;
    });
    const cluster = await cp.api<{ registered: boolean }>('GET', '/api/v1/clusters/boot-1');
    assert.equal(cluster.body.registered, true);
    // A made-up credential for the same cluster name gets nowhere.
    const s = openStream(client, `gfc_boot-1.${randomBytes(32).toString('base64url')}`);
    const err = await s.closed;
    assert.equal(err?.code, status.UNAUTHENTICATED);
  });

  it('expires bootstrap tokens after their TTL', async () => {
    const short = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: { GITFLEET_BOOTSTRAP_TTL_SECONDS: '1' },
    });
    try {
      const reg = await short.api<Registered>('POST', '/api/v1/clusters', { name: 'ttl-1' });
      await sleep(1500);
      await assert.rejects(registerAgent(short.grpcClient(), reg.body.bootstrapToken), /expired/);
    } finally {
      await short.stop();
    }
  });

  it('serves a fleet from Git: desired state per cluster, pushes by webhook, keeps the last good revision on a bad commit', async () => {
    const repo = `shop-${randomBytes(4).toString('hex')}`;
    const first = await git.createRepo(repo, {
      'fleet.yaml': fleetYaml('shop'),
      'manifests/settings.yaml': configMap('hello'),
    });
    const reg = await cp.api<Registered>('POST', '/api/v1/clusters', {
      name: 'dev-eu',
      labels: { env: 'dev', team: 'shop', region: 'eu' },
    });
    await cp.api('POST', '/api/v1/clusters', { name: 'prod-x', labels: { env: 'prod', region: 'us' } });
    const client = cp.grpcClient();
    const { credential } = await registerAgent(client, reg.body.bootstrapToken);

    const created = await cp.api<{ head: string; lastGoodRevision: string; errors: unknown[] }>(
      'POST',
      '/api/v1/fleets',
      {
        name: repo,
        repo: git.repoUrl(repo),
        branch: 'main',
        path: '.',
        credentials: { username: git.username, password: git.password },
      },
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.head, first);
    assert.equal(created.body.lastGoodRevision, first, JSON.stringify(created.body.errors));
    assert.deepEqual(created.body.errors, []);
    assert.ok(
      !JSON.stringify(created.body).includes(git.password),
      'credentials never come back from the API',
    );

    const agent = openStream(client, credential);
    const d1 = await agent.waitFor('first desired state', () => agent.desired.find((d) => d.fleet === repo));
    assert.equal(d1.revision, first);
    assert.equal(d1.stage, 'dev');
    assert.equal(d1.objects?.length, 1);
    const cm = d1.objects?.[0] as unknown as {
      metadata: { name: string; namespace: string };
      data: Record<string, string>;
    };
    assert.equal(cm.metadata.name, 'settings-dev-eu');
    assert.equal(cm.metadata.namespace, 'shop-dev');
    assert.equal(cm.data.region, 'eu');
    await agent.waitFor('synced', () => agent.raw.find((m) => m.kind?.$case === 'synced'));

    // A push announced by a signed webhook reaches the agent.
    const second = await git.commit(repo, { 'manifests/settings.yaml': configMap('bonjour') }, 'say bonjour');
    const payload = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: git.repoUrl(repo) } });
    const unsigned = await cp.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/git',
      payload,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' },
    });
    assert.equal(unsigned.statusCode, 401);
    const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(payload).digest('hex')}`;
    const hook = await cp.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/git',
      payload,
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signature,
        'x-github-event': 'push',
      },
    });
    assert.equal(hook.statusCode, 202, hook.body);
    assert.deepEqual(hook.json().fleets, [repo]);
    const d2 = await agent.waitFor('pushed desired state', () =>
      agent.desired.find((d) => d.revision === second),
    );
    assert.equal(
      (d2.objects?.[0] as unknown as { data: { greeting: string } } | undefined)?.data.greeting,
      'bonjour',
    );

    // A commit that changes nothing this cluster runs moves only the revision: no payload.
    const readme = await git.commit(repo, { 'README.md': 'docs only' }, 'docs');
    await cp.api('POST', `/api/v1/fleets/${repo}/sync`);
    const d3 = await agent.waitFor('revision-only update', () =>
      agent.desired.find((d) => d.revision === readme),
    );
    assert.equal(d3.objects, null);
    assert.equal(d3.digest, d2.digest);

    // A bad commit: the fleet reports file and reason; the cluster keeps the last good revision.
    const before = agent.desired.length;
    const bad = await git.commit(
      repo,
      { 'manifests/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n' },
      'broken',
    );
    const synced = await cp.api<{
      head: string;
      lastGoodRevision: string;
      errors: { file: string; message: string }[];
    }>('POST', `/api/v1/fleets/${repo}/sync`);
    assert.equal(synced.body.head, bad);
    assert.equal(synced.body.lastGoodRevision, readme);
    assert.ok(
      synced.body.errors.some((e) => e.file === 'manifests/broken.yaml'),
      JSON.stringify(synced.body.errors),
    );
    const missingName = await git.commit(
      repo,
      { 'manifests/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' },
      'no name',
    );
    const synced2 = await cp.api<{ head: string; errors: { file: string; message: string }[] }>(
      'POST',
      `/api/v1/fleets/${repo}/sync`,
    );
    assert.equal(synced2.body.head, missingName);
    assert.ok(
      synced2.body.errors.some((e) => /metadata\.name/.test(e.message)),
      JSON.stringify(synced2.body.errors),
    );
    await sleep(300);
    assert.equal(agent.desired.length, before, 'nothing new was sent for bad commits');

    // Status reports: acked after enqueue, ingested, visible per cluster and object.
    const report = (sequence: number, phase: Phase) =>
      new Promise<{ sequence: number; duplicate: boolean }>((resolve, reject) =>
        client.reportStatus(
          {
            sequence,
            status: {
              fleet: repo,
              desiredRevision: readme,
              desiredDigest: d3.digest,
              appliedRevision: readme,
              attemptedRevision: readme,
              phase,
              message: '',
              objects: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  namespace: 'shop-dev',
                  name: 'settings-dev-eu',
                  action: 2,
                  health: 1,
                  reason: '',
                  message: '',
                  drifted: false,
                  driftChanges: [],
                  driftManagers: [],
                  driftCorrectedAtUnixMs: 0,
                },
              ],
              observedAtUnixMs: Date.now(),
              driftCorrections: 0,
            },
          },
          bearer(credential),
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
    assert.deepEqual(await report(10, Phase.PHASE_READY), { sequence: 10, duplicate: false });
    const statusOf = async () =>
      (
        await cp.api<{
          items: {
            cluster: string;
            phase: string;
            appliedRevision: string;
            objects: { name: string; action: string }[];
          }[];
        }>('GET', `/api/v1/fleets/${repo}/status`)
      ).body.items.find((i) => i.cluster === 'dev-eu');
    let seen = await statusOf();
    for (let i = 0; i < 100 && seen?.phase !== 'Ready'; i++) {
      await sleep(50);
      seen = await statusOf();
    }
    assert.equal(seen?.phase, 'Ready');
    assert.equal(seen?.appliedRevision, readme);
    assert.deepEqual(
      seen?.objects.map((o) => [o.name, o.action]),
      [['settings-dev-eu', 'configured']],
    );
    // A re-sent report is acknowledged as a duplicate; an older one never overwrites a newer one.
    await sleep(200);
    assert.equal((await report(10, Phase.PHASE_READY)).duplicate, true);
    assert.equal((await report(5, Phase.PHASE_FAILED)).duplicate, true);
    await sleep(200);
    assert.equal((await statusOf())?.phase, 'Ready');

    // A report acknowledged and then overtaken (its job was held by a replica that died and
    // comes back to the queue when its lock expires, after the agent's next report was stored)
    // goes into the history at its place, once, and is never the status.
    const redis = new Redis(env.redisUrl);
    const queue = new Queue('status-reports', { connection: redis, prefix: `${cp.prefix}:bull` });
    try {
      const historyKey = `${cp.prefix}:status-history:{dev-eu}:${repo}`;
      const sequences = async () =>
        (await redis.lrange(historyKey, 0, -1)).map((j) => (JSON.parse(j) as { sequence: number }).sequence);
      const [latest] = await redis.lrange(historyKey, 0, 0);
      const overtaken = { ...JSON.parse(latest!), sequence: 7, phase: 'Failed' };
      for (const jobId of ['dev-eu.7', 'dev-eu.7.again']) {
        await queue.add('report', { cluster: 'dev-eu', status: overtaken }, { jobId });
      }
      for (let i = 0; i < 100 && (await queue.getJobCounts('waiting', 'active')).waiting! > 0; i++) {
        await sleep(50);
      }
      await sleep(300);
      const stored = await sequences();
      assert.deepEqual(
        stored.filter((n) => n === 7 || n === 10),
        [10, 7],
        `history ${stored}`,
      );
      assert.deepEqual(
        stored,
        [...stored].sort((a, b) => b - a),
        'newest first',
      );
      assert.equal((await statusOf())?.phase, 'Ready');
    } finally {
      await queue.close();
      redis.disconnect();
    }

    const fleet = await cp.api<{
      stages: { name: string; clusters: number; phases: Record<string, number> }[];
    }>('GET', `/api/v1/fleets/${repo}`);
    assert.deepEqual(fleet.body.stages[0], {
      ...fleet.body.stages[0],
      name: 'dev',
      clusters: 1,
      phases: { Ready: 1 },
    });

    // Deleting the cluster revokes its credential and closes its live stream within seconds.
    const t0 = Date.now();
    assert.equal((await cp.api('DELETE', '/api/v1/clusters/dev-eu')).status, 204);
    const closedWith = await Promise.race([agent.closed, sleep(5000).then(() => 'timeout' as const)]);
    assert.notEqual(closedWith, 'timeout', 'stream closed after deletion');
    assert.equal((closedWith as ServiceError).code, status.UNAUTHENTICATED);
    assert.ok(Date.now() - t0 < 5000);
    await assert.rejects(
      report(11, Phase.PHASE_READY),
      (err: ServiceError) => err.code === status.UNAUTHENTICATED,
    );
  });

  it('sends only what differs on reconnect, and chunks bundles over 4 MiB', async () => {
    const repo = `big-${randomBytes(4).toString('hex')}`;
    // Random data does not compress: several ConfigMaps of ~900 KiB base64 each ≈ 5.3 MiB.
    const files: Record<string, string> = { 'fleet.yaml': fleetYaml('big') };
    for (let i = 0; i < 6; i++) {
      files[`manifests/blob-${i}.yaml`] =
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: blob-${i}\n  namespace: \${namespace}\ndata:\n  payload: ${randomBytes(680 * 1024).toString('base64')}\n`;
    }
    await git.createRepo(repo, files);
    const reg = await cp.api<Registered>('POST', '/api/v1/clusters', {
      name: 'big-1',
      labels: { env: 'dev', team: 'big' },
    });
    const client = cp.grpcClient();
    const { credential } = await registerAgent(client, reg.body.bootstrapToken);
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: repo,
      repo: git.repoUrl(repo),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201);

    const agent = openStream(client, credential);
    const big = await agent.waitFor('big bundle', () => agent.desired.find((d) => d.fleet === repo), 30_000);
    const chunks = agent.raw.filter((m) => m.kind?.$case === 'chunk' && m.kind.value.fleet === repo);
    const bytes = chunks.reduce((n, m) => n + (m.kind?.$case === 'chunk' ? m.kind.value.data.length : 0), 0);
    assert.ok(bytes > 4 * 1024 * 1024, `compressed payload ${bytes} bytes is over 4 MiB`);
    assert.ok(chunks.length >= 5, `sent in ${chunks.length} chunks`);
    assert.equal(big.objects?.length, 6);
    agent.stream.cancel();
    await agent.closed;

    // Reconnecting with what it runs: the control plane sends nothing for that fleet.
    const again = openStream(client, credential, [
      { fleet: repo, revision: big.revision, bundleDigest: big.digest },
    ]);
    await again.waitFor('synced', () => again.raw.find((m) => m.kind?.$case === 'synced'));
    const others = again.raw.filter((m) => m.kind?.$case === 'chunk' && m.kind.value.fleet === repo);
    assert.equal(others.length, 0, 'nothing re-sent for a fleet the agent already runs');
    again.stream.cancel();
  });
});
