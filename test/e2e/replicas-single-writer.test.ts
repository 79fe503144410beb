// Three control-plane replicas (real OS processes) on one Redis, each told of every status
// change and each trying to re-plan the fleet: one writer per fleet (issue #14). A rollout of
// six waves whose status reports go to replicas at random announces each wave exactly once and
// completes once, and the stored state never goes back; kill -9 of the replica holding the
// fleet's lease mid-pass hands the fleet to another within seconds, and the rollout finishes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentServiceClient } from '@gitfleet/proto';
import { credentials } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import {
  type ControlPlaneProcess,
  createInstallation,
  type Installation,
  removeInstallation,
  startControlPlaneProcess,
} from '../src/control-plane-process.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { waitFor } from '../src/process.ts';
import { registerAgent } from '../src/protocol-agent.ts';
import { SimulatedAgent } from '../src/simulated-agent.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const fleet = `single-${id}`;
const CLUSTERS = 6;
const LEASE_SECONDS = 3;

const configMap = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: single\n  namespace: default\ndata:\n  v: "${value}"\n`;

type Event = { type: string; fleet?: string; stage?: string; revision?: string; reason?: string };
type Rollout = { revision: string; state: string; currentWave: number; waves: string[][] };

describe('three replicas, one writer per fleet', () => {
  let git: GitServer;
  let installation: Installation;
  const cps: ControlPlaneProcess[] = [];
  const agents: SimulatedAgent[] = [];
  let redis: Redis;
  let subscriber: Redis;
  const events: Event[] = [];
  let fleetKey: string;
  // Every state of the fleet's rollout seen in Redis, in order, sampled while the test runs.
  const regressions: string[] = [];
  let sampler: NodeJS.Timeout | undefined;

  const rolloutInRedis = async (): Promise<Rollout | undefined> => {
    const json = await redis.hget(fleetKey, 'state');
    return json ? (JSON.parse(json) as { rollouts: Record<string, Rollout> }).rollouts.prod : undefined;
  };
  const completed = (revision: string) => async () => {
    const r = await rolloutInRedis();
    return r?.revision === revision && r.state === 'complete';
  };
  const eventsOf = (revision: string) => events.filter((e) => e.fleet === fleet && e.revision === revision);

  before(async () => {
    git = await startGitServer();
    installation = await createInstallation({
      redisUrl: env.redisUrl,
      env: { GITFLEET_FLEET_LEASE_SECONDS: String(LEASE_SECONDS) },
    });
    for (let r = 0; r < 3; r++) cps.push(await startControlPlaneProcess(installation, `replica-${r}`));
    fleetKey = `${installation.prefix}:fleet:${fleet}`;
    redis = new Redis(env.redisUrl);
    subscriber = new Redis(env.redisUrl);
    subscriber.on('message', (_channel: string, message: string) =>
      events.push(JSON.parse(message) as Event),
    );
    await subscriber.subscribe(`${installation.prefix}:channel:events`);

    const addresses = cps.map((c) => c.grpcAddress);
    for (let i = 0; i < CLUSTERS; i++) {
      const name = `s${id}-${i}`;
      const via = cps[i % cps.length] as ControlPlaneProcess;
      const reg = await via.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name,
        labels: { single: id },
      });
      const client = new AgentServiceClient(
        via.grpcAddress,
        credentials.createSsl(Buffer.from(installation.caPem)),
      );
      const { credential } = await registerAgent(client, reg.body.bootstrapToken);
      client.close();
      // Streams spread over the replicas; each report goes to a replica picked at random.
      const rotated = [...addresses.slice(i % 3), ...addresses.slice(0, i % 3)];
      const agent = new SimulatedAgent(name, rotated, installation.caPem, credential);
      agent.readyDelayMs = 300;
      agents.push(agent);
    }
    await git.createRepo(fleet, {
      'fleet.yaml': `stages:\n  - name: prod\n    selector: { matchLabels: { single: "${id}" } }\n    rollout:\n      maxUnavailable: 1\n      progressDeadline: 5m\n`,
      'manifests/cm.yaml': configMap('1'),
    });
    const created = await cps[0]!.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitFor('the first rollout to complete', completed((await git.log(fleet))[0]!.sha));

    // A rollout's stored position only moves forward, for a given revision.
    let last: Rollout | undefined;
    sampler = setInterval(() => {
      void rolloutInRedis().then(
        (r) => {
          if (r && last && r.revision === last.revision) {
            if (r.currentWave < last.currentWave || (last.state === 'complete' && r.state !== 'complete'))
              regressions.push(`${last.state}@${last.currentWave} → ${r.state}@${r.currentWave}`);
          }
          if (r) last = r;
        },
        () => undefined,
      );
    }, 20);
  });

  after(async () => {
    clearInterval(sampler);
    for (const a of agents) a.stop();
    subscriber?.disconnect();
    redis?.disconnect();
    for (const c of cps) await c.stop();
    if (installation) removeInstallation(installation);
    await git?.stop();
  });

  it('a rollout of six waves with reports to random replicas: each wave announced once, one RolloutComplete, nothing reverted', async () => {
    const passesBefore = Number(await redis.hget(fleetKey, 'passes'));
    const second = await git.commit(fleet, { 'manifests/cm.yaml': configMap('2') }, 'two');
    // Every replica is asked at once: one of them runs the pass, the others owe it theirs.
    const synced = await Promise.all(
      cps.map((c) => c.api<{ head: string }>('POST', `/api/v1/fleets/${fleet}/sync`)),
    );
    for (const s of synced) {
      assert.equal(s.status, 200);
      assert.equal(s.body.head, second, 'each sync answers with a state after its own pass');
    }
    await waitFor('the rollout of the second commit to complete', completed(second));
    await sleep(1000); // any duplicate from a late pass would arrive by now

    const progressed = eventsOf(second)
      .filter((e) => e.type === 'RolloutProgressed')
      .map((e) => e.reason);
    assert.deepEqual(
      progressed,
      Array.from({ length: CLUSTERS }, (_, w) => `wave ${w + 1} of ${CLUSTERS}`),
      'each wave announced once, in order',
    );
    assert.equal(
      eventsOf(second).filter((e) => e.type === 'RolloutComplete').length,
      1,
      'one RolloutComplete',
    );
    assert.equal(eventsOf(second).filter((e) => e.type === 'FleetSynced').length, 1, 'one FleetSynced');
    assert.deepEqual(regressions, [], 'the stored rollout never went back');
    const passes = Number(await redis.hget(fleetKey, 'passes')) - passesBefore;
    // Each of the 12 status changes reaches all three replicas; coalesced, they cost far fewer passes.
    assert.ok(passes >= CLUSTERS, `at least one pass per wave (${passes})`);
    console.log(
      `six waves over three replicas: ${passes} passes of the fleet, ${progressed.length} wave events`,
    );

    const view = await cps[2]!.api<{ conditions: { type: string; status: string; reason: string }[] }>(
      'GET',
      `/api/v1/fleets/${fleet}`,
    );
    assert.deepEqual(
      view.body.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
      [
        'Ready=True/RolloutComplete',
        'Fetched=True/Fetched',
        'Rendered=True/Rendered',
        'Stalled=False/CanProgress',
      ],
    );
  });

  it('kill -9 of the lease holder mid-pass: another replica takes the fleet over within seconds and the rollout finishes', async () => {
    for (const a of agents) a.readyDelayMs = 800;
    const third = await git.commit(fleet, { 'manifests/cm.yaml': configMap('3') }, 'three');
    assert.equal((await cps[1]!.api('POST', `/api/v1/fleets/${fleet}/sync`)).status, 200);
    await waitFor('wave 2 of the third commit', async () => {
      const r = await rolloutInRedis();
      return r?.revision === third && r.currentWave >= 1;
    });

    // Catch a replica holding the lease (passes are short: poll the hash tightly) and kill it.
    // Killed just after it let go, it is started again and the next holder is caught.
    let victim: ControlPlaneProcess | undefined;
    let token = '';
    let killedAt = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      await waitFor(
        'a replica holding the fleet lease',
        async () => {
          const [holder, lease] = await redis.hmget(fleetKey, 'holder', 'lease');
          const pid = Number(holder?.split(':')[1]);
          const cp = cps.find((c) => c.proc.child.pid === pid);
          if (!cp || !lease) return false;
          await cp.kill();
          victim = cp;
          token = lease;
          return true;
        },
        30_000,
        2,
      );
      killedAt = Date.now();
      if ((await redis.hget(fleetKey, 'lease')) === token) break;
      await victim?.restart();
      victim = undefined;
    }
    assert.ok(victim, 'a replica was killed while it held the lease');
    // The survivors take it over once the dead holder's lease expires.
    await waitFor(
      'another replica to take the fleet over',
      async () => {
        const lease = await redis.hget(fleetKey, 'lease');
        const fence = Number(await redis.hget(fleetKey, 'fence'));
        return (lease !== null && lease !== token) || fence > Number(token);
      },
      (LEASE_SECONDS + 10) * 1000,
    );
    const tookOverMs = Date.now() - killedAt;
    await waitFor('the rollout of the third commit to finish after the kill', completed(third), 90_000);
    await sleep(1000);

    const progressed = eventsOf(third)
      .filter((e) => e.type === 'RolloutProgressed')
      .map((e) => e.reason);
    assert.deepEqual(
      progressed,
      Array.from({ length: CLUSTERS }, (_, w) => `wave ${w + 1} of ${CLUSTERS}`),
      'each wave announced once across the kill',
    );
    assert.equal(eventsOf(third).filter((e) => e.type === 'RolloutComplete').length, 1);
    assert.deepEqual(regressions, [], 'the stored rollout never went back');
    assert.ok(
      tookOverMs < (LEASE_SECONDS + 3) * 1000,
      `taken over ${tookOverMs} ms after the kill (lease ${LEASE_SECONDS} s)`,
    );
    console.log(`killed ${victim?.name} holding the lease mid-pass; fleet taken over ${tookOverMs} ms later`);
  });
});
