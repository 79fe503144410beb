// Faults on the control plane's side, survived with nothing lost (issue #8):
// - kill -9 of the control plane in the middle of a rollout: agents reconnect to the restarted
//   process, the rollout goes on from the wave it was in, and every status report an agent had
//   acknowledged is stored exactly once (the agents count them; the status history in Redis is
//   compared with that count);
// - Redis down for 30 s (AOF on): the API answers 503 with a stable code, /readyz fails while
//   /healthz does not, the process stays up, a real agent keeps enforcing and keeps its reports,
//   and everything works again once Redis is back, without restarting anything.
// The control plane runs as a real OS process (test/src/control-plane-process.ts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentServiceClient, Phase } from '@gitfleet/proto';
import { credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { startAgentProcess } from '../src/agent-process.ts';
import {
  type Balancer,
  type ControlPlaneProcess,
  createInstallation,
  type Installation,
  removeInstallation,
  startBalancer,
  startControlPlaneProcess,
} from '../src/control-plane-process.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import { type ManagedProcess, waitFor as waitForValue } from '../src/process.ts';
import { registerAgent } from '../src/protocol-agent.ts';
import { type RedisServer, startRedis } from '../src/redis.ts';
import { fleetStatus, reportStatus, SimulatedAgent } from '../src/simulated-agent.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');

const configMap = (name: string, namespace: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  v: "${value}"\n`;

/** Where ingestion keeps the last reports of one (cluster, fleet) (control-plane/src/store/keys.ts). */
const historyKey = (prefix: string, cluster: string, fleet: string) =>
  `${prefix}:status-history:{${cluster}}:${fleet}`;

const storedSequences = async (redis: Redis, prefix: string, cluster: string, fleet: string) =>
  (await redis.lrange(historyKey(prefix, cluster, fleet), 0, -1)).map(
    (json) => (JSON.parse(json) as { sequence: number }).sequence,
  );

interface FleetView {
  head: string;
  stages: {
    name: string;
    rollout: { state: string; revision: string; wave: number; waves: number } | null;
  }[];
}

const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000) =>
  waitForValue(what, probe, timeoutMs);

/**
 * Six clusters, two per wave; the second rollout is interrupted by kill -9 of the replica the
 * agents are connected to once wave 2 has been moved. With `replicas: 1` it is started again
 * at the same address after 3 s; with 2, agents reach the survivor through the balancer.
 */
async function killDuringRollout(replicas: 1 | 2, git: GitServer, redis: Redis): Promise<string> {
  const tag = `${id}${replicas}`;
  const fleet = `kill-${tag}`;
  const fleetYaml = `stages:\n  - name: prod\n    selector: { matchLabels: { faults: "${tag}" } }\n    rollout:\n      maxUnavailable: 2\n      progressDeadline: 5m\n`;
  const installation = await createInstallation({ redisUrl: env.redisUrl });
  const cps: ControlPlaneProcess[] = [];
  const agents: SimulatedAgent[] = [];
  let balancer: Balancer | undefined;
  try {
    for (let r = 0; r < replicas; r++)
      cps.push(await startControlPlaneProcess(installation, `control-plane-${r}`));
    const [victim, survivor = victim] = cps as [ControlPlaneProcess, ControlPlaneProcess?];
    balancer = await startBalancer(cps.map((c) => c.grpcAddress));
    let api = victim;
    const rolloutOf = async () => {
      const res = await api.api<FleetView>('GET', `/api/v1/fleets/${fleet}`);
      return res.status === 200 ? res.body.stages[0]?.rollout : undefined;
    };

    for (let i = 0; i < 6; i++) {
      const name = `f${tag}-${i}`;
      const reg = await api.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name,
        labels: { faults: tag },
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      const client = new AgentServiceClient(
        balancer.address,
        credentials.createSsl(Buffer.from(installation.caPem)),
      );
      const { credential } = await registerAgent(client, reg.body.bootstrapToken);
      client.close();
      agents.push(new SimulatedAgent(name, balancer.address, installation.caPem, credential));
    }
    await git.createRepo(fleet, {
      'fleet.yaml': fleetYaml,
      'manifests/cm.yaml': configMap('a', 'default', '1'),
    });
    const created = await api.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, `${JSON.stringify(created.body)}\n${api.proc.tail()}`);
    const first = (await git.log(fleet))[0]!.sha;
    await waitFor('the first rollout to complete', async () => {
      const r = await rolloutOf();
      return r?.state === 'complete' && r.revision === first;
    });

    // Slow Ready reports for the second rollout, so that the kill falls inside wave 2.
    for (const a of agents) a.readyDelayMs = 1500;
    const second = await git.commit(fleet, { 'manifests/cm.yaml': configMap('a', 'default', '2') }, 'two');
    assert.equal((await api.api('POST', `/api/v1/fleets/${fleet}/sync`)).status, 200);
    const waves = [agents.slice(0, 2), agents.slice(2, 4), agents.slice(4, 6)];
    await waitFor('wave 2 to be moved to the new revision', async () =>
      waves[1]!.every((a) => a.received.has(second)),
    );
    const before = await rolloutOf();
    assert.equal(before?.state, 'progressing');
    assert.equal(before?.wave, 2, 'killed during wave 2');

    const killedAt = Date.now();
    await victim.kill();
    let restartAt = Date.now();
    let back = restartAt;
    if (replicas === 1) {
      // Dead long enough for wave 2's Ready reports to fail and wait in the agents.
      await sleep(3000);
      restartAt = Date.now();
      await victim.restart();
      back = Date.now();
    }
    api = survivor;

    await waitFor(
      'every agent to reconnect',
      async () => agents.every((a) => a.syncedAt.some((t) => t > killedAt)),
      20_000,
    );
    const reconnectedAt = Math.max(...agents.map((a) => a.syncedAt.find((t) => t > killedAt)!));
    await waitFor('the rollout to complete after the kill', async () => {
      const r = await rolloutOf();
      return r?.state === 'complete' && r.revision === second;
    }).catch(async (err: Error) => {
      const agentsNow = agents.map(
        (a) => `${a.name}: ${[...a.received.keys()].map((r) => r.slice(0, 7))} pending ${a.pending}`,
      );
      throw new Error(
        `${err.message}\nrollout: ${JSON.stringify(await rolloutOf())}\n${agentsNow.join('\n')}\n${api.name}'s last output:\n${api.proc.tail(40)}`,
      );
    });
    assert.ok(
      agents.every((a) => a.received.has(second)),
      'every cluster got the new revision',
    );
    // Wave order: a wave is moved only after the wave before reported Ready.
    for (let w = 1; w < waves.length; w++) {
      const readyBefore = Math.max(...waves[w - 1]!.map((a) => a.readySentAt.get(second)!));
      for (const a of waves[w]!) {
        assert.ok(
          a.received.get(second)! >= readyBefore,
          `${a.name} (wave ${w + 1}) moved after wave ${w} was Ready`,
        );
      }
    }
    const retried = agents.reduce((n, a) => n + a.failedAttempts, 0);
    if (replicas === 1) assert.ok(retried > 0, 'reports made while the control plane was down were retried');

    // Every report an agent had acknowledged is in the history exactly once.
    await waitFor('every agent to have its reports acknowledged', async () =>
      agents.every((a) => a.pending === 0),
    );
    const sent = agents.reduce((n, a) => n + a.acked.length, 0);
    let stored = 0;
    await waitFor(
      'every acknowledged report to be stored',
      async () => {
        stored = 0;
        for (const a of agents)
          stored += (await storedSequences(redis, installation.prefix, a.name, fleet)).length;
        return stored >= sent;
      },
      // A job the killed process held goes back to the queue once its lock has expired and
      // a stall check of another worker has seen it unlocked (BullMQ: lockDuration plus up to
      // two stalledInterval), then it is stored in its place in the history.
      90_000,
    ).catch(() => {});
    for (const a of agents) {
      const history = await storedSequences(redis, installation.prefix, a.name, fleet);
      assert.deepEqual(
        [...history].sort((x, y) => x - y),
        [...a.acked].sort((x, y) => x - y),
        `${a.name}: stored reports = acknowledged reports, each once`,
      );
    }
    return (
      `${sent} reports acknowledged, ${stored} stored, ${retried} failed attempts retried; ` +
      `all 6 agents reconnected ${reconnectedAt - killedAt} ms after the kill` +
      (replicas === 1
        ? ` (dead ${back - killedAt} ms, of which ${back - restartAt} ms starting again; reconnected ${reconnectedAt - back} ms after it was ready)`
        : ', to the survivor')
    );
  } finally {
    for (const a of agents) a.stop();
    await balancer?.close();
    for (const c of cps) await c.stop();
    removeInstallation(installation);
  }
}

describe('kill -9 of the control plane during a rollout', () => {
  let git: GitServer;
  let redis: Redis;

  before(async () => {
    git = await startGitServer();
    redis = new Redis(env.redisUrl);
  });

  after(async () => {
    redis?.disconnect();
    await git?.stop();
  });

  it('one replica, restarted: agents reconnect, the rollout goes on from its wave, every acknowledged report is stored once', async () => {
    console.log(`kill -9, restarted: ${await killDuringRollout(1, git, redis)}`);
  });

  it('two replicas behind one address: agents move to the survivor, which finishes the rollout; every report stored once', async () => {
    console.log(`kill -9 of one of two replicas: ${await killDuringRollout(2, git, redis)}`);
  });
});

describe('Redis down for 30 s', () => {
  const OUTAGE_MS = 30_000;
  const fleet = `outage-${id}`;
  const ns = `outage-${id}`;
  const agentNs = `gitfleet-outage-${id}`;
  const cluster = env.clusters[0]!;
  const clusterName = `outage-${id}`;
  let store: RedisServer;
  let installation: Installation;
  let cp: ControlPlaneProcess;
  let git: GitServer;
  let agent: ManagedProcess;
  const kubectl = kubectlFor(cluster.kubeconfig);

  before(async () => {
    [store, git] = await Promise.all([startRedis({ aof: true }), startGitServer()]);
    installation = await createInstallation({ redisUrl: store.url });
    cp = await startControlPlaneProcess(installation, 'control-plane-outage');
    await kubectl(['create', 'namespace', agentNs]);
  });

  after(async () => {
    await agent?.stop();
    await cp?.stop();
    if (installation) removeInstallation(installation);
    await store?.stop();
    await git?.stop();
    await kubectl(['delete', 'namespace', agentNs, ns, '--wait=false', '--ignore-not-found']).catch(() => {});
  });

  const statusOfCluster = async () => {
    const res = await cp.api<{
      items: {
        cluster: string;
        phase: string;
        appliedRevision: string;
        driftCorrections: number;
        observedAt: string;
      }[];
    }>('GET', `/api/v1/fleets/${fleet}/status`);
    return res.body.items?.find((i) => i.cluster === clusterName);
  };

  it('the API says 503, the agent keeps enforcing, and nothing is lost once Redis is back', async () => {
    await git.createRepo(fleet, {
      'fleet.yaml': `stages:\n  - name: all\n    selector: { matchLabels: { outage: "${id}" } }\n`,
      'manifests/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
      'manifests/cm.yaml': configMap('guarded', ns, 'one'),
    });
    const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: clusterName,
      labels: { outage: id },
    });
    assert.equal(reg.status, 201);
    agent = startAgentProcess({
      name: clusterName,
      kubeconfig: cluster.kubeconfig,
      controlPlane: cp.grpcAddress,
      caPem: installation.caPem,
      namespace: agentNs,
      bootstrapToken: reg.body.bootstrapToken,
      // The default backoff ceiling: a stream lost to the outage would take up to a minute to return.
      env: { GITFLEET_RECONNECT_MAX_SECONDS: '60' },
    });
    // A second, protocol-level cluster whose reports the test sends itself.
    const probeReg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: `probe-${id}`,
      labels: { probe: id },
    });
    const client = new AgentServiceClient(
      cp.grpcAddress,
      credentials.createSsl(Buffer.from(installation.caPem)),
    );
    const { credential } = await registerAgent(client, probeReg.body.bootstrapToken);
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, `${JSON.stringify(created.body)}\n${cp.proc.tail()}`);
    const first = (await git.log(fleet))[0]!.sha;
    await waitFor(
      'the fleet Ready on the real cluster',
      async () => {
        const s = await statusOfCluster();
        return s?.phase === 'Ready' && s.appliedRevision === first;
      },
      60_000,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\nstatus: ${JSON.stringify(await statusOfCluster())}\nagent:\n${agent.tail()}\ncontrol plane:\n${cp.proc.tail()}`,
      );
    });

    // An event stream opened before the outage, to see it deliver after it.
    const events: string[] = [];
    const sse = new AbortController();
    const sseRes = await fetch(`${cp.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${installation.adminToken}`, accept: 'text/event-stream' },
      signal: sse.signal,
    });
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of sseRes.body!) events.push(decoder.decode(chunk as Uint8Array));
      } catch {
        // aborted at the end of the test
      }
    })();

    const pid = cp.proc.child.pid;
    const down = Date.now();
    await store.kill();

    // The API: 503 with a stable code, quickly, instead of a 500 or a hang.
    const asked = Date.now();
    const res = await cp.api<{ code: string; message: string }>('GET', `/api/v1/fleets/${fleet}`);
    const answerMs = Date.now() - asked;
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.code, 'StoreUnavailable');
    assert.match(res.body.message, /Redis/);
    assert.ok(answerMs < 10_000, `answered in ${answerMs} ms`);
    const write = await cp.api<{ code: string }>('POST', '/api/v1/clusters', {
      name: `late-${id}`,
      labels: {},
    });
    assert.equal(write.status, 503);
    assert.equal(write.body.code, 'StoreUnavailable');
    // Probes: not ready (take it out of the load balancer), but alive (do not restart it).
    assert.equal((await fetch(`${cp.url}/readyz`)).status, 503);
    assert.equal((await fetch(`${cp.url}/healthz`)).status, 200);

    // A report the control plane cannot enqueue is refused as UNAVAILABLE, so the agent keeps it.
    const probeSequence = Date.now();
    const probeStatus = fleetStatus(fleet, first, 'd', Phase.PHASE_READY);
    const refused = await reportStatus(client, credential, probeSequence, probeStatus).then(
      () => undefined,
      (err: ServiceError) => err,
    );
    assert.equal(refused?.code, grpcStatus.UNAVAILABLE, `ReportStatus failed with ${refused?.message}`);

    // The agent keeps enforcing: an object deleted by hand comes back.
    await kubectl(['delete', 'configmap', 'guarded', '-n', ns]);
    const deletedAt = Date.now();
    await waitFor(
      'the agent to restore the deleted ConfigMap during the outage',
      async () =>
        (await kubectl(['get', 'configmap', 'guarded', '-n', ns, '-o', 'jsonpath={.data.v}'])) === 'one',
      20_000,
    );
    const restoredMs = Date.now() - deletedAt;

    await sleep(Math.max(0, down + OUTAGE_MS - Date.now()));
    assert.equal(cp.proc.exited, false, `the control plane kept running:\n${cp.proc.tail()}`);
    assert.equal((await fetch(`${cp.url}/readyz`)).status, 503);
    await store.restart();
    const up = Date.now();

    await waitFor('/readyz to pass again', async () => (await fetch(`${cp.url}/readyz`)).ok, 30_000);
    const readyMs = Date.now() - up;
    await waitFor(
      'the API to answer again',
      async () => (await cp.api('GET', `/api/v1/fleets/${fleet}`)).status === 200,
    );
    const apiMs = Date.now() - up;
    assert.equal(cp.proc.child.pid, pid, 'the same process, not a restarted one');
    // The agent's stream was held through the outage: nothing to reconnect once Redis is back.
    assert.doesNotMatch(agent.tail(200), /stream to the control plane lost/);
    assert.equal(cp.proc.exited, false);

    // Nothing lost: the agent's report of the drift it corrected during the outage arrives.
    const corrected = await waitFor(
      'the drift correction made during the outage to be reported',
      async () => {
        const s = await statusOfCluster();
        return s && s.driftCorrections >= 1 ? s : undefined;
      },
    );
    assert.ok(
      Date.parse(corrected.observedAt) >= deletedAt,
      'the stored report is the one made during the outage',
    );
    // The refused report, sent again with its sequence, is stored once.
    const accepted = await waitFor('the refused report to be accepted', () =>
      reportStatus(client, credential, probeSequence, probeStatus).catch(() => undefined),
    );
    assert.equal(accepted.duplicate, false, 'it had not been stored while refused');
    const probeHistory = await waitFor('the report to be ingested', async () => {
      const redis = new Redis(store.url);
      try {
        const seqs = await storedSequences(redis, installation.prefix, `probe-${id}`, fleet);
        return seqs.length > 0 ? seqs : undefined;
      } finally {
        redis.disconnect();
      }
    });
    assert.deepEqual(probeHistory, [probeSequence]);
    client.close();

    // Queues, streams and events work again: a new commit reaches the cluster and is Ready,
    // and the event stream opened before the outage tells about it.
    const second = await git.commit(fleet, { 'manifests/cm.yaml': configMap('guarded', ns, 'two') }, 'two');
    assert.equal((await cp.api('POST', `/api/v1/fleets/${fleet}/sync`)).status, 200);
    await waitFor(
      'the next revision Ready after the outage',
      async () => {
        const s = await statusOfCluster();
        return s?.phase === 'Ready' && s.appliedRevision === second;
      },
      60_000,
    );
    assert.equal(await kubectl(['get', 'configmap', 'guarded', '-n', ns, '-o', 'jsonpath={.data.v}']), 'two');
    await waitFor('the old event stream to carry the new revision', async () =>
      events.join('').includes(second),
    );
    sse.abort();
    console.log(
      `Redis outage: ${up - down} ms down; API answered 503 in ${answerMs} ms; ConfigMap restored ${restoredMs} ms after deletion; ` +
        `/readyz back ${readyMs} ms and the API ${apiMs} ms after Redis restarted`,
    );
  });
});
