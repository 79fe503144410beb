// The gitfleet side of the fan-out scenarios (bench/fanout.ts, bench/helm-fanout.ts): one
// control-plane process, N simulated agents in child processes; connect them, push a commit
// with a signed webhook, and time until every agent holds the new revision.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GitServer } from '../../test/src/git-server.ts';
import { tempDir } from '../../test/src/process.ts';
import type { RedisServer } from '../../test/src/redis.ts';
import { type Child, startChild } from './child.ts';
import { rest } from './fleet.ts';
import { all as allChildren, limit } from './parallel.ts';
import { childCpuMs, cpuMeter, findPids } from './proc.ts';
import type { Report } from './report.ts';
import { type Summary, summarize } from './stats.ts';

const wall = () => performance.timeOrigin + performance.now();
const here = import.meta.dirname;

export interface FanoutContext {
  report: Report;
  redis: RedisServer;
  git: GitServer;
  procs: number;
  inFlight: number;
  timeoutMs: number;
  /** Writes a CPU profile of the control plane per phase into this directory ('' = none). */
  profileDir: string;
  adminToken: string;
  webhookSecret: string;
}

/** The fleet of one run: its repository, the commit that is measured, what else it needs. */
export interface FanoutFleet {
  /** Files of the first commit (fleet.yaml and its sources). */
  files: Record<string, string>;
  /** Files the measured commit changes. */
  push: Record<string, string | null>;
  /** Extra fields of POST /api/v1/fleets (chartCredentials). */
  create?: Record<string, unknown>;
  /** Extra environment of the control plane (GITFLEET_HELM_PATH ...). */
  env?: Record<string, string>;
  /** Labels of cluster i (default bench=fanout). */
  labels?: (i: number) => Record<string, string>;
}

export interface RenderStats {
  helmTemplates: number;
  kustomizeBuilds: number;
  cacheHits: number;
}

export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  connections: number;
}

export interface Side {
  connectMs: number;
  connectLatencyMs: Summary;
  connected: number;
  failed: number;
  rssIdle: number;
  rssConnected: number;
  kbPerAgent: number;
  heapKbPerAgent: number;
  pushMs?: number;
  webhookMs?: number;
  delivered: number;
  deliveryMs: Summary;
  serverCpuMsConnect: number;
  serverCpuMsPush: number;
  redisCpuMsPush?: number;
  agentRssMiB: number;
  /** Events the control plane received through Redis pub/sub, by type. */
  events?: Record<string, number>;
  /** What the renderer ran for the measured push (Helm and Kustomize sources). */
  renders?: RenderStats;
  /** CPU ms of the control plane's subprocesses (helm, kubectl) during the push. */
  renderCpuMs?: number;
}

interface Connected {
  connected: number;
  failed: number;
  failures: string[];
  latencies: number[];
  lastConnectedAt: number;
  rss: number;
}

/** The functions of one scenario run, bound to its Redis, Git server and report. */
export function fanoutRunner(ctx: FanoutContext) {
  const { report, redis, git, procs, inFlight, timeoutMs, profileDir } = ctx;
  const ADMIN_TOKEN = ctx.adminToken;
  const WEBHOOK_SECRET = ctx.webhookSecret;
  const redisPids = findPids('redis-server', `:${redis.port}`);

  const renderStats = async (cp: Child): Promise<RenderStats> => {
    cp.send({ type: 'render-stats' });
    return (await cp.next<{ type: string; stats: RenderStats }>('render-stats')).stats;
  };

  const api = (
    port: number,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => rest(port, ADMIN_TOKEN, method, path, body, headers);

  function startAgents(): Child[] {
    return Array.from({ length: procs }, (_, i) =>
      startChild(join(here, 'fanout-agents.ts'), { name: `agents-${i}` }),
    );
  }

  const all = <T>(
    children: Child[],
    msg: Record<string, unknown>[] | Record<string, unknown>,
    reply: string,
  ) => allChildren<T>(children, msg, reply, timeoutMs);

  /** Connects every agent, measures memory, returns the connect figures. */
  async function connectAll(agents: Child[], server: Child, serverPid: number) {
    const cpu = cpuMeter([serverPid]);
    const t0 = wall();
    const connected = await all<Connected>(
      agents,
      { type: 'connect', inFlight: Math.ceil(inFlight / procs) },
      'connected',
    );
    const serverCpuMsConnect = cpu();
    const lastConnectedAt = Math.max(...connected.map((c) => c.lastConnectedAt));
    const failures = connected.flatMap((c) => c.failures);
    if (failures.length) report.note(`connect failures, e.g. ${failures[0]}`);
    // Let the initial syncs, acks and registry writes settle before memory is read.
    await sleep(3000);
    server.send({ type: 'memory' });
    const mem = await server.next<Memory & { type: string }>('memory');
    return {
      connectMs: lastConnectedAt - t0,
      connectLatencyMs: summarize(connected.flatMap((c) => c.latencies)),
      connected: connected.reduce((s, c) => s + c.connected, 0),
      failed: connected.reduce((s, c) => s + c.failed, 0),
      mem,
      serverCpuMsConnect,
      agentRssMiB: connected.reduce((s, c) => s + c.rss, 0) / 2 ** 20,
    };
  }

  /** Polls the agents until every one holds `revision` (or the time is up). */
  async function arrivals(agents: Child[], revision: string, n: number, t0: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answers = await all<{ times: (number | null)[]; ended: number }>(
        agents,
        { type: 'arrivals', revision },
        'arrivals',
      );
      const times = answers.flatMap((a) => a.times).filter((t): t is number => t !== null);
      if (times.length >= n || Date.now() > deadline) return times.map((t) => t - t0);
      await sleep(250);
    }
  }

  async function gitfleet(n: number, agents: Child[], fleet: FanoutFleet): Promise<Side> {
    const prefix = `fanout-${n}-${randomBytes(3).toString('hex')}`;
    const dataDir = tempDir('fanout-cp');
    const cp = startChild(join(here, 'cp-process.ts'), {
      execArgv: ['--expose-gc'],
      name: 'control plane',
    });
    // With --profile-cp, a CPU profile of the control plane per phase (connect, push).
    const profiled = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
      if (!profileDir) return work();
      cp.send({ type: 'profile-start' });
      await cp.next('profiling');
      try {
        return await work();
      } finally {
        const file = join(profileDir, `fanout-${phase}-${n}.cpuprofile`);
        mkdirSync(profileDir, { recursive: true });
        cp.send({ type: 'profile-stop', file });
        await cp.next('profiled');
        report.log(`  profile: ${file}`);
      }
    };
    try {
      cp.send({
        type: 'start',
        env: {
          GITFLEET_REDIS_URL: redis.url,
          GITFLEET_REDIS_PREFIX: prefix,
          GITFLEET_GRPC_HOST: '127.0.0.1',
          GITFLEET_GRPC_PORT: '0',
          GITFLEET_DATA_DIR: dataDir,
          GITFLEET_API_TOKENS: `admin:bench:${ADMIN_TOKEN}`,
          GITFLEET_WEBHOOK_SECRET: WEBHOOK_SECRET,
          GITFLEET_LOG_LEVEL: 'silent',
          // The push webhook, not polling, triggers the fetch being measured.
          GITFLEET_POLL_INTERVAL_SECONDS: '3600',
          ...fleet.env,
        },
      });
      const started = await cp.next<{ type: string; grpcPort: number; httpPort: number; caPem: string }>(
        'started',
        60_000,
      );
      const repo = `${prefix}`;
      await git.createRepo(repo, fleet.files);

      report.log(`gitfleet ${n}: registering clusters (REST)`);
      const names = Array.from({ length: n }, (_, i) => `agent-${i}`);
      const tokens: string[] = new Array(n);
      let t = wall();
      await limit(names, 32, async (name, i) => {
        const res = await api(started.httpPort, 'POST', '/api/v1/clusters', {
          name,
          labels: fleet.labels?.(i) ?? { bench: 'fanout' },
        });
        if (res.status !== 201)
          throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`);
        tokens[i] = res.body.bootstrapToken;
      });
      report.log(`  ${n} clusters registered in ${(wall() - t).toFixed(0)} ms`);
      t = wall();
      const created = await api(started.httpPort, 'POST', '/api/v1/fleets', {
        name: 'shop',
        repo: git.repoUrl(repo),
        credentials: { username: git.username, password: git.password },
        ...fleet.create,
      });
      if (created.status !== 201)
        throw new Error(`create fleet: ${created.status} ${JSON.stringify(created.body)}`);
      report.log(`  fleet created (first plan + render of ${n} bundles) in ${(wall() - t).toFixed(0)} ms`);
      cp.send({ type: 'memory' });
      const idle = await cp.next<Memory & { type: string }>('memory');

      const per = Math.ceil(n / agents.length);
      await all(
        agents,
        agents.map((_, p) => ({
          type: 'setup',
          address: `127.0.0.1:${started.grpcPort}`,
          caPem: started.caPem,
          agents: names
            .slice(p * per, (p + 1) * per)
            .map((name, i) => ({ name, bootstrapToken: tokens[p * per + i] })),
        })),
        'setup-done',
      );
      t = wall();
      await all(agents, { type: 'register' }, 'registered');
      report.log(
        `  ${n} agents exchanged their bootstrap tokens (gRPC Register) in ${(wall() - t).toFixed(0)} ms`,
      );

      report.log(`gitfleet ${n}: connecting`);
      const c = await profiled('connect', () => connectAll(agents, cp, cp.pid));
      report.log(
        `  ${c.connected} connected in ${c.connectMs.toFixed(0)} ms; control plane RSS ${(idle.rss / 2 ** 20).toFixed(0)} → ${(c.mem.rss / 2 ** 20).toFixed(0)} MiB`,
      );

      report.log(`gitfleet ${n}: push + webhook`);
      t = wall();
      const sha = await git.commit(repo, fleet.push, 'the measured commit');
      const pushMs = wall() - t;
      const payload = JSON.stringify({
        ref: 'refs/heads/main',
        repository: { clone_url: git.repoUrl(repo) },
      });
      const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(payload).digest('hex')}`;
      const rendersBefore = await renderStats(cp);
      const childCpuBefore = childCpuMs(cp.pid);
      const cpu = cpuMeter([cp.pid]);
      const redisCpu = cpuMeter(redisPids);
      const t0 = wall();
      let webhookMs = 0;
      const delivered = await profiled('push', async () => {
        const hook = await api(started.httpPort, 'POST', '/api/v1/webhooks/git', payload, {
          'x-github-event': 'push',
          'x-hub-signature-256': signature,
        });
        webhookMs = wall() - t0;
        if (hook.status !== 202) throw new Error(`webhook: ${hook.status} ${JSON.stringify(hook.body)}`);
        return arrivals(agents, sha, c.connected, t0);
      });
      const serverCpuMsPush = cpu();
      const redisCpuMsPush = redisCpu();
      const rendersAfter = await renderStats(cp);
      const renderCpuMs = childCpuMs(cp.pid) - childCpuBefore;
      cp.send({ type: 'events' });
      const { events } = await cp.next<{ events: Record<string, number> }>('events');
      report.log(`  events received by the control plane: ${JSON.stringify(events)}`);
      // Redis drops a subscriber whose output buffer outgrows client-output-buffer-limit pubsub
      // (32 MB, or 8 MB for 60 s): every event published meanwhile is lost for that replica.
      const dropped = readFileSync(join(redis.dir, 'redis.log'), 'utf8')
        .split('\n')
        .filter((l) => /output buffer limits/.test(l));
      if (dropped.length)
        report.note(
          `N=${n}: Redis closed ${dropped.length} client(s) for output buffer limits: ${dropped[0]}`,
        );
      report.log(
        `  ${delivered.length}/${c.connected} received ${sha.slice(0, 7)}; webhook answered after ${webhookMs.toFixed(0)} ms`,
      );
      return {
        connectMs: c.connectMs,
        connectLatencyMs: c.connectLatencyMs,
        connected: c.connected,
        failed: c.failed,
        rssIdle: idle.rss,
        rssConnected: c.mem.rss,
        kbPerAgent: (c.mem.rss - idle.rss) / 1024 / n,
        heapKbPerAgent: (c.mem.heapUsed - idle.heapUsed) / 1024 / n,
        pushMs,
        webhookMs,
        delivered: delivered.length,
        deliveryMs: summarize(delivered),
        serverCpuMsConnect: c.serverCpuMsConnect,
        serverCpuMsPush,
        redisCpuMsPush,
        agentRssMiB: c.agentRssMiB,
        events,
        renderCpuMs,
        renders: {
          helmTemplates: rendersAfter.helmTemplates - rendersBefore.helmTemplates,
          kustomizeBuilds: rendersAfter.kustomizeBuilds - rendersBefore.kustomizeBuilds,
          cacheHits: rendersAfter.cacheHits - rendersBefore.cacheHits,
        },
      };
    } finally {
      await all(agents, { type: 'close' }, 'closed').catch(() => {});
      cp.send({ type: 'stop' });
      await cp.next('stopped', 30_000).catch(() => {});
      await cp.stop(10_000);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  return { api, startAgents, all, connectAll, arrivals, gitfleet };
}
