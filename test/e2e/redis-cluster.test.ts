// Redis Cluster (issue #14): three primaries and three replicas, all real processes, and two
// control-plane replicas (real OS processes) configured with GITFLEET_REDIS_CLUSTER_NODES. The
// full loop runs on it: clusters registered, a fleet created from a Git repository, agents at
// the protocol level given their desired state and reporting Ready, a rollout in waves, a push
// announced by a signed webhook, a promotion, a sync, status history, bundle collection (the
// BullMQ job the replicas schedule, run now), a cluster deleted. Then what a Cluster operator
// would check: every key of the installation, on every primary, in the slot it must share —
// each agent cluster's keys in one slot, every BullMQ key in one — and no key of an unknown kind.
// Last, the primary holding the queues is killed with SIGKILL mid-rollout: its replica takes
// over, the control planes follow, the rollout finishes and every acknowledged report is stored
// once.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentServiceClient } from '@gitfleet/proto';
import { credentials } from '@grpc/grpc-js';
import { Queue } from 'bullmq';
import type { Cluster } from 'ioredis';
import {
  type ControlPlaneProcess,
  createInstallation,
  type Installation,
  removeInstallation,
  startControlPlaneProcess,
} from '../src/control-plane-process.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { waitFor } from '../src/process.ts';
import { registerAgent } from '../src/protocol-agent.ts';
import { type RedisClusterSet, startRedisCluster } from '../src/redis-cluster.ts';
import { SimulatedAgent } from '../src/simulated-agent.ts';

const id = randomBytes(3).toString('hex');
const fleet = `rc-${id}`;
const WEBHOOK_SECRET = `hook-${randomBytes(8).toString('hex')}`;
const CANARY = 1;
const PROD = 3;

const configMap = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rc\n  namespace: default\ndata:\n  v: "${value}"\n`;
const fleetYaml = (prodPin?: string) =>
  `stages:\n  - name: canary\n    selector: { matchLabels: { rc: "${id}", tier: canary } }\n  - name: prod\n    selector: { matchLabels: { rc: "${id}", tier: prod } }\n    requires: canary\n    rollout:\n      maxUnavailable: 1\n      progressDeadline: 5m\n${prodPin ? `    revision: ${prodPin}\n` : ''}`;

type Event = {
  type: string;
  fleet?: string;
  cluster?: string;
  stage?: string;
  revision?: string;
  reason?: string;
};
type Rollout = { state: string; revision: string; wave: number; waves: number };

describe('Redis Cluster: the full loop, every key slot-correct', () => {
  let set: RedisClusterSet;
  let git: GitServer;
  let installation: Installation;
  let redis: Cluster;
  let subscriber: Cluster;
  const cps: ControlPlaneProcess[] = [];
  const agents: SimulatedAgent[] = [];
  const events: Event[] = [];
  const names = {
    canary: Array.from({ length: CANARY }, (_, i) => `rc${id}-canary-${i}`),
    prod: Array.from({ length: PROD }, (_, i) => `rc${id}-prod-${i}`),
  };

  const stage = async (name: string, via = cps[0] as ControlPlaneProcess) =>
    (
      await via.api<{ stages: { name: string; revision: string | null; rollout: Rollout | null }[] }>(
        'GET',
        `/api/v1/fleets/${fleet}`,
      )
    ).body.stages?.find((s) => s.name === name);
  const readyAt = (cluster: string, revision: string) => async () => {
    const status = await cps[1]!.api<{
      items: { cluster: string; phase: string; appliedRevision: string }[];
    }>('GET', `/api/v1/fleets/${fleet}/status`);
    const s = status.body.items?.find((i) => i.cluster === cluster);
    return s?.phase === 'Ready' && s.appliedRevision === revision;
  };
  const gone = names.prod[PROD - 1]!;
  const progressed = (revision: string) =>
    events
      .filter(
        (e) =>
          e.type === 'RolloutProgressed' &&
          e.fleet === fleet &&
          e.stage === 'prod' &&
          e.revision === revision,
      )
      .map((e) => e.reason);

  before(async () => {
    [set, git] = await Promise.all([startRedisCluster(), startGitServer()]);
    installation = await createInstallation({
      // Not used: with cluster nodes the control plane discovers the cluster from them.
      redisUrl: 'redis://127.0.0.1:1',
      env: {
        GITFLEET_REDIS_CLUSTER_NODES: set.nodes.join(','),
        GITFLEET_FLEET_LEASE_SECONDS: '3',
        GITFLEET_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
    });
    for (let r = 0; r < 2; r++) cps.push(await startControlPlaneProcess(installation, `rc-${r}`));
    redis = set.client();
    subscriber = set.client();
    subscriber.on('message', (_channel: string, message: string) =>
      events.push(JSON.parse(message) as Event),
    );
    await subscriber.subscribe(`${installation.prefix}:channel:events`);
  });

  after(async () => {
    for (const a of agents) a.stop();
    subscriber?.disconnect();
    redis?.disconnect();
    for (const c of cps) await c.stop();
    if (installation) removeInstallation(installation);
    await git?.stop();
    await set?.stop();
  });

  it('registers clusters, rolls a fleet out in waves, takes a webhook, a promotion and a sync, stores history, collects bundles', async () => {
    const [a, b] = cps as [ControlPlaneProcess, ControlPlaneProcess];
    const addresses = cps.map((c) => c.grpcAddress);
    for (const [tier, list] of Object.entries(names)) {
      for (const name of list) {
        const i = agents.length;
        const via = cps[i % 2] as ControlPlaneProcess;
        const reg = await via.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
          name,
          labels: { rc: id, tier },
        });
        assert.equal(reg.status, 201, JSON.stringify(reg.body));
        const client = new AgentServiceClient(
          via.grpcAddress,
          credentials.createSsl(Buffer.from(installation.caPem)),
        );
        const { credential } = await registerAgent(client, reg.body.bootstrapToken);
        client.close();
        // Streams spread over both replicas; each report goes to one of them at random.
        const agent = new SimulatedAgent(
          name,
          [...addresses.slice(i % 2), ...addresses.slice(0, i % 2)],
          installation.caPem,
          credential,
        );
        agent.readyDelayMs = 300;
        agents.push(agent);
      }
    }
    const listed = await b.api<{ items: { name: string }[] }>('GET', `/api/v1/clusters?selector=rc=${id}`);
    assert.equal(listed.body.items.length, CANARY + PROD, JSON.stringify(listed.body));

    // v1 everywhere, then prod pinned to it: canary follows the head, prod its pin.
    const v1 = await git.createRepo(fleet, {
      'fleet.yaml': fleetYaml(),
      'manifests/cm.yaml': configMap('1'),
    });
    const pin = await git.commit(fleet, { 'fleet.yaml': fleetYaml(v1) }, 'pin prod');
    const created = await a.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const c of names.canary) await waitFor(`${c} Ready at the head`, readyAt(c, pin));
    for (const c of names.prod) await waitFor(`${c} Ready at the pin`, readyAt(c, v1));

    // A push announced by a signed webhook, answered at once; it reaches the canary only.
    const v2 = await git.commit(fleet, { 'manifests/cm.yaml': configMap('2') }, 'two');
    const payload = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: git.repoUrl(fleet) } });
    const hook = await fetch(`${b.url}/api/v1/webhooks/git`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(payload).digest('hex')}`,
      },
      body: payload,
    });
    assert.equal(hook.status, 202, await hook.text());
    for (const c of names.canary) await waitFor(`${c} Ready at the pushed revision`, readyAt(c, v2));
    assert.equal((await stage('prod'))?.revision, v1, 'prod stays at its pin');

    // A promotion to prod: a commit, then a rollout in one wave per cluster.
    const promoted = await a.api<{ revision: string; commit: string }>(
      'POST',
      `/api/v1/fleets/${fleet}/promotions`,
      {
        stage: 'prod',
        reason: 'canary is fine',
      },
    );
    assert.equal(promoted.status, 201, JSON.stringify(promoted.body));
    assert.equal(promoted.body.revision, v2);
    await waitFor(
      'the prod rollout of the promoted revision to complete',
      async () => {
        const r = (await stage('prod', b))?.rollout;
        return r?.state === 'complete' && r.revision === v2;
      },
      90_000,
    );
    for (const c of names.prod) assert.ok(await readyAt(c, v2)(), `${c} Ready at the promoted revision`);
    await sleep(500); // any duplicate event from a late pass would arrive by now
    assert.deepEqual(
      progressed(v2),
      Array.from({ length: PROD }, (_, w) => `wave ${w + 1} of ${PROD}`),
      'each wave announced once, through pub/sub on the Cluster',
    );
    assert.equal(
      events.filter(
        (e) => e.type === 'RolloutComplete' && e.fleet === fleet && e.stage === 'prod' && e.revision === v2,
      ).length,
      1,
    );

    // A sync through the API answers with the state after its own pass.
    const synced = await b.api<{ head: string }>('POST', `/api/v1/fleets/${fleet}/sync`);
    assert.equal(synced.status, 200, JSON.stringify(synced.body));
    assert.equal(synced.body.head, promoted.body.commit);

    // Status history, read from the Cluster: every acknowledged report stored once.
    await waitFor('every agent to have its reports acknowledged', async () =>
      agents.every((x) => x.pending === 0),
    );
    const history = async (cluster: string) =>
      (await redis.lrange(`${installation.prefix}:status-history:{${cluster}}:${fleet}`, 0, -1)).map(
        (json) => (JSON.parse(json) as { sequence: number }).sequence,
      );
    await waitFor('every acknowledged report to be stored', async () => {
      for (const x of agents) if ((await history(x.name)).length < x.acked.length) return false;
      return true;
    });
    for (const x of agents) {
      assert.deepEqual(
        (await history(x.name)).sort((p, q) => p - q),
        [...x.acked].sort((p, q) => p - q),
        `${x.name}: stored reports = acknowledged reports, each once`,
      );
    }
    const promotions = await b.api<{ items: { commit: string }[] }>(
      'GET',
      `/api/v1/fleets/${fleet}/promotions`,
    );
    assert.equal(promotions.body.items[0]?.commit, promoted.body.commit);

    // Bundle collection: the hourly BullMQ job the replicas scheduled, made due now. Bundles no
    // desired state names (v1's, the pin's) get an expiry; the ones named keep none.
    const bullPrefix = `{${installation.prefix}:bull}`;
    const queue = new Queue('git-poll', { connection: set.client(), prefix: bullPrefix });
    try {
      const job = await waitFor('the scheduled bundle collection', async () =>
        (await queue.getDelayed()).find((j) => j.name === 'bundle-gc'),
      );
      await job.promote();
      const live = new Set<string>();
      for (const c of [...names.canary, ...names.prod]) {
        for (const json of await redis.hvals(`${installation.prefix}:desired:{${c}}`))
          live.add((JSON.parse(json) as { digest: string }).digest);
      }
      const bundlePrefix = `${installation.prefix}:bundle:`;
      await waitFor(
        'bundles no cluster runs to expire, the others not',
        async () => {
          const bundles = await set.scan(`${bundlePrefix}*`);
          const ttls = await Promise.all(bundles.map((x) => redis.ttl(x.key)));
          const expiring = bundles
            .filter((_, i) => (ttls[i] ?? -1) > 0)
            .map((x) => x.key.slice(bundlePrefix.length));
          return (
            expiring.length > 0 &&
            expiring.every((d) => !live.has(d)) &&
            bundles.every((x, i) => live.has(x.key.slice(bundlePrefix.length)) || (ttls[i] ?? -1) > 0)
          );
        },
        30_000,
      );
    } finally {
      await queue.close();
      await (queue.opts.connection as Cluster).quit();
    }
  });

  it('every key of the installation is where a Redis Cluster needs it', async () => {
    const prefix = installation.prefix;
    const ours = await set.scan(`${prefix}:*`);
    const bull = await set.scan(`{${prefix}:bull}:*`);
    assert.ok(ours.length > 0 && bull.length > 0);

    // Keys are on the primary that owns their slot (SCAN found them there; KEYSLOT says whose).
    const slotsOf = (keys: { slot: number }[]) => new Set(keys.map((k) => k.slot));
    assert.equal(slotsOf(bull).size, 1, `BullMQ keys in one slot: ${[...slotsOf(bull)]}`);

    const byCluster = new Map<string, typeof ours>();
    const untagged: string[] = [];
    for (const k of ours) {
      const tag = /\{([^}]+)\}/.exec(k.key)?.[1];
      if (tag) byCluster.set(tag, [...(byCluster.get(tag) ?? []), k]);
      else untagged.push(k.key.slice(prefix.length + 1));
    }
    for (const name of [...names.canary, ...names.prod]) {
      const keys = byCluster.get(name) ?? [];
      // An outbox holds events only between a script and their recording: seen now and then.
      const kinds = keys
        .map((k) => k.key.slice(prefix.length + 1).split(':')[0])
        .filter((kind) => kind !== 'outbox')
        .sort();
      assert.deepEqual(
        [...new Set(kinds)],
        ['cluster', 'desired', 'report-seq', 'seq', 'status', 'status-history'],
        `${name}: its keys`,
      );
      assert.equal(slotsOf(keys).size, 1, `${name}: every key in one slot`);
      assert.equal(new Set(keys.map((k) => k.node)).size, 1, `${name}: on one primary`);
    }
    // Besides agent clusters, a key's whole name is the tag of those kept in its slot: the
    // history's recorded ids beside the stream, a fleet's outbox beside the fleet's hash.
    for (const [tag, keys] of byCluster) {
      if (tag.startsWith(`rc${id}-`)) continue;
      for (const k of keys) {
        const kind = k.key.slice(prefix.length + 1).split(':')[0];
        assert.ok(
          (kind === 'recorded' && tag === `${prefix}:events`) ||
            (kind === 'fleet-outbox' && tag.startsWith(`${prefix}:fleet:`)),
          `only agent clusters are tagged, and keys kept beside another: ${k.key}`,
        );
        assert.equal(
          k.slot,
          Number(await redis.call('CLUSTER', 'KEYSLOT', tag)),
          `${k.key}: in the slot of ${tag}`,
        );
      }
    }
    // Untagged keys are one key each (a fleet's hash, a bundle, a list): nothing needs them together.
    const kinds = new Set(untagged.map((k) => k.split(':')[0]));
    assert.deepEqual(
      [...kinds].filter(
        (k) =>
          ![
            'clusters',
            'fleets',
            'fleet',
            'bundle',
            'capabilities',
            'render',
            'render-lock',
            'bootstrap',
            'events',
            'outboxes',
          ].includes(k ?? ''),
      ),
      [],
      `untagged keys of known kinds only: ${[...kinds]}`,
    );
    // Nothing the replicas did was refused by the Cluster (a cross-slot command, a redirection
    // the client could not follow), nor failed otherwise.
    for (const c of cps) {
      if (process.env.GITFLEET_TEST_PRINT_LOGS) console.log(`${c.name}:\n${c.proc.tail(200)}`);
      assert.doesNotMatch(
        c.proc.tail(200),
        /CROSSSLOT|same slot|MOVED|ASK |"level":50/,
        `${c.name} logged no error`,
      );
    }
    const primaries = new Set([...ours, ...bull].map((k) => k.node));
    console.log(
      `${ours.length + bull.length} keys on ${primaries.size} primaries; ${byCluster.size} agent clusters each in one slot; BullMQ in slot ${[...slotsOf(bull)][0]}`,
    );

    // A deleted cluster takes every key of its slot with it, history included.
    agents.find((x) => x.name === gone)?.stop();
    assert.equal((await cps[1]!.api('DELETE', `/api/v1/clusters/${gone}`)).status, 204);
    assert.deepEqual(
      (await set.scan(`${prefix}:*`)).filter((k) => k.key.includes(`{${gone}}`)).map((k) => k.key),
      [],
    );
  });

  it('kill -9 of the primary holding the queues, mid-rollout: the replicas follow, the rollout finishes, every acknowledged report is stored once', async () => {
    const [a, b] = cps as [ControlPlaneProcess, ControlPlaneProcess];
    const live = agents.filter((x) => x.name !== gone);
    for (const x of live) x.readyDelayMs = 1500;
    const v3 = await git.commit(fleet, { 'manifests/cm.yaml': configMap('3') }, 'three');
    assert.equal((await a.api('POST', `/api/v1/fleets/${fleet}/sync`)).status, 200);
    for (const c of names.canary) await waitFor(`${c} Ready at the third revision`, readyAt(c, v3));
    const promoted = await b.api<{ revision: string }>('POST', `/api/v1/fleets/${fleet}/promotions`, {
      stage: 'prod',
    });
    assert.equal(promoted.status, 201, JSON.stringify(promoted.body));
    await waitFor('the first prod cluster to get the promoted revision', async () =>
      live.some((x) => names.prod.includes(x.name) && x.received.has(v3)),
    );

    const queues = await set.primaryOf(`{${installation.prefix}:bull}:status-reports:wait`);
    const { failoverMs } = await set.kill(queues);
    await waitFor(
      'the prod rollout to finish on the promoted replica',
      async () => {
        const r = (await stage('prod', a))?.rollout;
        return r?.state === 'complete' && r.revision === v3;
      },
      120_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${cps.map((c) => `${c.name}:\n${c.proc.tail(20)}`).join('\n')}`);
    });
    // Back as a replica of the promoted one: WAIT can be satisfied again.
    await set.restart(queues);
    await waitFor(
      'every agent to have its reports acknowledged',
      async () => live.every((x) => x.pending === 0),
      60_000,
    );
    const history = async (cluster: string) =>
      (await redis.lrange(`${installation.prefix}:status-history:{${cluster}}:${fleet}`, 0, -1)).map(
        (json) => (JSON.parse(json) as { sequence: number }).sequence,
      );
    await waitFor('every acknowledged report to be stored', async () => {
      for (const x of live) if ((await history(x.name)).length < x.acked.length) return false;
      return true;
    });
    for (const x of live) {
      assert.deepEqual(
        (await history(x.name)).sort((p, q) => p - q),
        [...x.acked].sort((p, q) => p - q),
        `${x.name}: stored reports = acknowledged reports, each once`,
      );
    }
    assert.deepEqual(
      progressed(v3),
      Array.from({ length: PROD - 1 }, (_, w) => `wave ${w + 1} of ${PROD - 1}`),
      'each wave announced once across the failover',
    );
    const retried = live.reduce((n, x) => n + x.failedAttempts, 0);
    console.log(
      `queue primary ${queues} killed, its replica took over after ${failoverMs} ms; ${live.reduce((n, x) => n + x.acked.length, 0)} reports acknowledged and stored once, ${retried} attempts retried`,
    );
  });
});
