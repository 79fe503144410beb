// Redis with high availability (issue #14): one primary, two replicas and three sentinels, all
// real processes; two control-plane replicas reach the primary through the sentinels. The
// primary is killed with SIGKILL in the middle of a rollout: the control planes follow the
// promoted replica, agents keep their streams or reconnect, the rollout finishes, and every
// status report an agent had acknowledged is stored exactly once — acknowledged only once a
// replica holds it (WAIT), so a failover cannot take it away, and re-sent by the agent until
// acknowledged, so a report caught in the failover is stored when it arrives again.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AgentServiceClient } from '@gitfleet/proto';
import { credentials } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import {
  type Balancer,
  type ControlPlaneProcess,
  createInstallation,
  type Installation,
  removeInstallation,
  startBalancer,
  startControlPlaneProcess,
} from '../src/control-plane-process.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { waitFor } from '../src/process.ts';
import { registerAgent } from '../src/protocol-agent.ts';
import { type SentinelSet, startSentinelSet } from '../src/redis-sentinel.ts';
import { SimulatedAgent } from '../src/simulated-agent.ts';

const id = randomBytes(3).toString('hex');
const fleet = `ha-${id}`;

const configMap = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ha\n  namespace: default\ndata:\n  v: "${value}"\n`;

describe('Redis Sentinel: the primary killed mid-rollout', () => {
  let set: SentinelSet;
  let git: GitServer;
  let installation: Installation;
  let balancer: Balancer;
  let redis: Redis;
  const cps: ControlPlaneProcess[] = [];
  const agents: SimulatedAgent[] = [];

  before(async () => {
    [set, git] = await Promise.all([startSentinelSet(), startGitServer()]);
    installation = await createInstallation({
      // Not used: with sentinels the control plane asks them where the primary is.
      redisUrl: 'redis://127.0.0.1:1',
      env: {
        GITFLEET_REDIS_SENTINELS: set.sentinels.join(','),
        GITFLEET_REDIS_SENTINEL_MASTER: set.master,
        GITFLEET_FLEET_LEASE_SECONDS: '3',
      },
    });
    for (let r = 0; r < 2; r++) cps.push(await startControlPlaneProcess(installation, `ha-${r}`));
    balancer = await startBalancer(cps.map((c) => c.grpcAddress));
    redis = new Redis({
      sentinels: set.sentinels.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })),
      name: set.master,
    });
    // It loses the primary with everyone else; the test reads through it only afterwards.
    redis.on('error', () => {});
  });

  after(async () => {
    for (const a of agents) a.stop();
    redis?.disconnect();
    await balancer?.close();
    for (const c of cps) await c.stop();
    if (installation) removeInstallation(installation);
    await git?.stop();
    await set?.stop();
  });

  it('the control planes follow the new primary, the rollout finishes, every acknowledged report is stored once', async () => {
    const api = cps[0] as ControlPlaneProcess;
    for (let i = 0; i < 6; i++) {
      const name = `ha${id}-${i}`;
      const reg = await api.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name,
        labels: { ha: id },
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      const client = new AgentServiceClient(
        balancer.address,
        credentials.createSsl(Buffer.from(installation.caPem)),
      );
      const { credential } = await registerAgent(client, reg.body.bootstrapToken);
      client.close();
      // Streams through the balancer; reports to either replica.
      agents.push(
        new SimulatedAgent(
          name,
          [balancer.address, ...cps.map((c) => c.grpcAddress)],
          installation.caPem,
          credential,
        ),
      );
    }
    await git.createRepo(fleet, {
      'fleet.yaml': `stages:\n  - name: prod\n    selector: { matchLabels: { ha: "${id}" } }\n    rollout:\n      maxUnavailable: 2\n      progressDeadline: 5m\n`,
      'manifests/cm.yaml': configMap('1'),
    });
    const created = await api.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const rollout = async (via: ControlPlaneProcess) =>
      (
        await via.api<{ stages: { rollout: { state: string; revision: string; wave: number } | null }[] }>(
          'GET',
          `/api/v1/fleets/${fleet}`,
        )
      ).body.stages?.[0]?.rollout;
    const first = (await git.log(fleet))[0]!.sha;
    await waitFor('the first rollout', async () => {
      const r = await rollout(api);
      return r?.state === 'complete' && r.revision === first;
    });

    for (const a of agents) a.readyDelayMs = 1500;
    const second = await git.commit(fleet, { 'manifests/cm.yaml': configMap('2') }, 'two');
    assert.equal((await api.api('POST', `/api/v1/fleets/${fleet}/sync`)).status, 200);
    await waitFor('wave 2 to be moved', async () => (await rollout(api))?.wave === 2);

    const failover = await set.killPrimary();
    await waitFor(
      'the rollout to finish on the new primary',
      async () => {
        const r = await rollout(cps[1] as ControlPlaneProcess);
        return r?.state === 'complete' && r.revision === second;
      },
      120_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${cps.map((c) => `${c.name}:\n${c.proc.tail(20)}`).join('\n')}`);
    });
    assert.ok(
      agents.every((a) => a.received.has(second)),
      'every cluster got the new revision',
    );

    // Every acknowledged report is in the history exactly once.
    await waitFor('every agent to have its reports acknowledged', async () =>
      agents.every((a) => a.pending === 0),
    );
    const history = async (cluster: string) =>
      (await redis.lrange(`${installation.prefix}:status-history:{${cluster}}:${fleet}`, 0, -1)).map(
        (json) => (JSON.parse(json) as { sequence: number }).sequence,
      );
    await waitFor(
      'every acknowledged report to be stored',
      async () => {
        for (const a of agents) if ((await history(a.name)).length < a.acked.length) return false;
        return true;
      },
      90_000,
    ).catch(() => {});
    let acked = 0;
    for (const a of agents) {
      acked += a.acked.length;
      assert.deepEqual(
        [...(await history(a.name))].sort((x, y) => x - y),
        [...a.acked].sort((x, y) => x - y),
        `${a.name}: stored reports = acknowledged reports, each once`,
      );
    }
    const retried = agents.reduce((n, a) => n + a.failedAttempts, 0);
    console.log(
      `primary :${failover.killed} killed, :${failover.promoted} promoted after ${failover.failoverMs} ms; ${acked} reports acknowledged and stored once, ${retried} attempts retried`,
    );
  });
});
