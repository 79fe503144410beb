// Scenario 3: one control-plane process, N simulated agents (real gRPC clients speaking our
// protocol, each with its own TLS connection, spread over a few child processes).
//
//   connect    all N dial in (Register was done before, untimed), say Hello, and are
//              Synced: their initial desired state delivered
//   memory     control-plane RSS with N connected minus RSS before any connected, / N
//              (both read after a full GC)
//   push       a Git push, then a push webhook signed with GITFLEET_WEBHOOK_SECRET: time
//              until every agent holds the new revision (p50 / p99 / max)
//
// Reference, same run, same N, same agent processes: a bare grpc-js server (same TLS and
// server options) holding N streams and writing one ~2 KB desired state to each.
//
//   node bench/fanout.ts [--agents 1000,5000,10000] [--procs 4] [--quick]
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitServer } from '../test/src/git-server.ts';
import { tempDir } from '../test/src/process.ts';
import { startRedis } from '../test/src/redis.ts';
import { benchArgs, numberList, positive } from './lib/args.ts';
import { type Child, startChild } from './lib/child.ts';
import { quickstartManifests, rest } from './lib/fleet.ts';
import { all as allChildren, limit } from './lib/parallel.ts';
import { cpuMeter, findPids } from './lib/proc.ts';
import { type Cell, Report } from './lib/report.ts';
import { eachSize, type SizeResult } from './lib/sizes.ts';
import { type Summary, summarize } from './lib/stats.ts';

const args = benchArgs({
  agents: { type: 'string', default: '1000,5000,10000' },
  procs: { type: 'string', default: '4' },
  'in-flight': { type: 'string', default: '100' },
  'timeout-seconds': { type: 'string', default: '180' },
  'skip-reference': { type: 'boolean', default: false },
  // Writes a CPU profile of the control-plane process into this directory (see lib/cpuprofile.ts).
  'profile-cp': { type: 'string', default: '' },
});
const sizes = args.quick ? [200, 1000] : numberList(args.agents, '--agents');
const procs = positive(args.procs, '--procs');
const inFlight = positive(args['in-flight'], '--in-flight');
const timeoutMs = positive(args['timeout-seconds'], '--timeout-seconds') * 1000;
const GOAL_P99_MS = 2000;
const GOAL_KB_PER_AGENT = 40;
const WEBHOOK_SECRET = `bench-${randomBytes(8).toString('hex')}`;
const ADMIN_TOKEN = `admin-${randomBytes(12).toString('hex')}`;
const wall = () => performance.timeOrigin + performance.now();
const here = import.meta.dirname;

const report = new Report('fanout', {
  agents: sizes,
  procs,
  inFlight,
  timeoutMs,
  goals: { p99Ms: GOAL_P99_MS, kbPerAgent: GOAL_KB_PER_AGENT },
});
const redis = await startRedis();
const redisPids = findPids('redis-server', `:${redis.port}`);
const git = await startGitServer();

const manifests = quickstartManifests();
const fleetYaml = `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { bench: fanout } }
substitute:
  namespace: podinfo-\${stage}
`;
const configYaml = (message: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo-config
  namespace: \${namespace}
data:
  PODINFO_UI_MESSAGE: "${message} from \${cluster.name} (\${stage})"
`;

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  connections: number;
}

interface Side {
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
}

const api = (port: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  rest(port, ADMIN_TOKEN, method, path, body, headers);

function startAgents(): Child[] {
  return Array.from({ length: procs }, (_, i) =>
    startChild(join(here, 'lib', 'fanout-agents.ts'), { name: `agents-${i}` }),
  );
}

const all = <T>(children: Child[], msg: Record<string, unknown>[] | Record<string, unknown>, reply: string) =>
  allChildren<T>(children, msg, reply, timeoutMs);

interface Connected {
  connected: number;
  failed: number;
  failures: string[];
  latencies: number[];
  lastConnectedAt: number;
  rss: number;
}

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

async function gitfleet(n: number, agents: Child[]): Promise<Side> {
  const prefix = `fanout-${n}-${randomBytes(3).toString('hex')}`;
  const dataDir = tempDir('fanout-cp');
  const cp = startChild(join(here, 'lib', 'cp-process.ts'), {
    execArgv: ['--expose-gc'],
    name: 'control plane',
  });
  // With --profile-cp, a CPU profile of the control plane per phase (connect, push).
  const profiled = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    if (!args['profile-cp']) return work();
    cp.send({ type: 'profile-start' });
    await cp.next('profiling');
    try {
      return await work();
    } finally {
      const file = join(args['profile-cp'], `fanout-${phase}-${n}.cpuprofile`);
      mkdirSync(args['profile-cp'], { recursive: true });
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
      },
    });
    const started = await cp.next<{ type: string; grpcPort: number; httpPort: number; caPem: string }>(
      'started',
      60_000,
    );
    const repo = `${prefix}`;
    await git.createRepo(repo, {
      'fleet.yaml': fleetYaml,
      ...manifests,
      'manifests/config.yaml': configYaml('hello'),
    });

    report.log(`gitfleet ${n}: registering clusters (REST)`);
    const names = Array.from({ length: n }, (_, i) => `agent-${i}`);
    const tokens: string[] = new Array(n);
    let t = wall();
    await limit(names, 32, async (name, i) => {
      const res = await api(started.httpPort, 'POST', '/api/v1/clusters', {
        name,
        labels: { bench: 'fanout' },
      });
      if (res.status !== 201) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      tokens[i] = res.body.bootstrapToken;
    });
    report.log(`  ${n} clusters registered in ${(wall() - t).toFixed(0)} ms`);
    t = wall();
    const created = await api(started.httpPort, 'POST', '/api/v1/fleets', {
      name: 'shop',
      repo: git.repoUrl(repo),
      credentials: { username: git.username, password: git.password },
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
    const sha = await git.commit(repo, { 'manifests/config.yaml': configYaml('pushed') }, 'new message');
    const pushMs = wall() - t;
    const payload = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: git.repoUrl(repo) } });
    const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(payload).digest('hex')}`;
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
      if (hook.status !== 200) throw new Error(`webhook: ${hook.status} ${JSON.stringify(hook.body)}`);
      return arrivals(agents, sha, c.connected, t0);
    });
    const serverCpuMsPush = cpu();
    const redisCpuMsPush = redisCpu();
    cp.send({ type: 'events' });
    const { events } = await cp.next<{ events: Record<string, number> }>('events');
    report.log(`  events received by the control plane: ${JSON.stringify(events)}`);
    // Redis drops a subscriber whose output buffer outgrows client-output-buffer-limit pubsub
    // (32 MB, or 8 MB for 60 s): every event published meanwhile is lost for that replica.
    const dropped = readFileSync(join(redis.dir, 'redis.log'), 'utf8')
      .split('\n')
      .filter((l) => /output buffer limits/.test(l));
    if (dropped.length)
      report.note(`N=${n}: Redis closed ${dropped.length} client(s) for output buffer limits: ${dropped[0]}`);
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
    };
  } finally {
    await all(agents, { type: 'close' }, 'closed').catch(() => {});
    cp.send({ type: 'stop' });
    await cp.next('stopped', 30_000).catch(() => {});
    await cp.stop(10_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function reference(n: number, agents: Child[]): Promise<Side> {
  const server = startChild(join(here, 'lib', 'bare-push-server.ts'), {
    execArgv: ['--expose-gc'],
    name: 'bare server',
  });
  try {
    server.send({ type: 'start' });
    const started = await server.next<{ type: string; grpcPort: number; caPem: string }>('started', 60_000);
    server.send({ type: 'memory' });
    const idle = await server.next<Memory & { type: string }>('memory');
    const per = Math.ceil(n / agents.length);
    await all(
      agents,
      agents.map((_, p) => ({
        type: 'setup',
        address: `127.0.0.1:${started.grpcPort}`,
        caPem: started.caPem,
        agents: Array.from({ length: Math.max(0, Math.min(per, n - p * per)) }, (_, i) => ({
          name: `ref-${p * per + i}`,
          bootstrapToken: '',
        })),
      })),
      'setup-done',
    );
    report.log(`reference ${n}: connecting`);
    const c = await connectAll(agents, server, server.pid);
    const revision = `ref-${randomBytes(4).toString('hex')}`;
    const cpu = cpuMeter([server.pid]);
    server.send({ type: 'push', revision });
    const pushed = await server.next<{ type: string; t0: number }>('pushed');
    const delivered = await arrivals(agents, revision, c.connected, pushed.t0);
    return {
      connectMs: c.connectMs,
      connectLatencyMs: c.connectLatencyMs,
      connected: c.connected,
      failed: c.failed,
      rssIdle: idle.rss,
      rssConnected: c.mem.rss,
      kbPerAgent: (c.mem.rss - idle.rss) / 1024 / n,
      heapKbPerAgent: (c.mem.heapUsed - idle.heapUsed) / 1024 / n,
      delivered: delivered.length,
      deliveryMs: summarize(delivered),
      serverCpuMsConnect: c.serverCpuMsConnect,
      serverCpuMsPush: cpu(),
      agentRssMiB: c.agentRssMiB,
    };
  } finally {
    await all(agents, { type: 'close' }, 'closed').catch(() => {});
    server.send({ type: 'stop' });
    await server.next('stopped', 30_000).catch(() => {});
    await server.stop(10_000);
  }
}

let results: SizeResult<Side>[] = [];
const agents = startAgents();
try {
  results = await eachSize(
    sizes,
    {
      gitfleet: (n) => gitfleet(n, agents),
      reference: args['skip-reference'] ? undefined : (n) => reference(n, agents),
    },
    report,
  );
} finally {
  await Promise.all(agents.map((a) => a.stop()));
  await git.stop();
  await redis.stop();
}

const rows: Cell[][] = [];
for (const r of results) {
  for (const [side, s] of [
    ['gitfleet', r.gitfleet],
    ['bare grpc-js', r.reference],
  ] as const) {
    if (!s) continue;
    rows.push([
      r.n,
      side,
      `${s.connected}/${r.n}`,
      s.connectMs,
      s.connectLatencyMs.p99,
      s.rssIdle / 2 ** 20,
      s.rssConnected / 2 ** 20,
      s.kbPerAgent,
      s.heapKbPerAgent,
      `${s.delivered}/${s.connected}`,
      s.deliveryMs.p50,
      s.deliveryMs.p99,
      s.deliveryMs.max,
      s.webhookMs ?? null,
    ]);
  }
}
report.table(
  `Fan-out (ms; memory after a full GC; delivery = from the webhook request (reference: first write) until the agent held the revision; goals: p99 < ${GOAL_P99_MS} ms, < ${GOAL_KB_PER_AGENT} KB/agent)`,
  [
    'agents',
    'server',
    'connected',
    'connect all ms',
    'connect p99 ms',
    'RSS idle MiB',
    'RSS N MiB',
    'KB/agent RSS',
    'KB/agent heap',
    'delivered',
    'p50 ms',
    'p99 ms',
    'max ms',
    'webhook ms',
  ],
  rows,
);
report.table(
  'CPU (ms of the server process) and simulated-agent memory',
  ['agents', 'server', 'CPU connect', 'CPU push', 'redis CPU push', 'agent procs RSS MiB'],
  results.flatMap((r) =>
    (
      [
        ['gitfleet', r.gitfleet],
        ['bare grpc-js', r.reference],
      ] as const
    )
      .filter(([, s]) => s)
      .map(([side, s]) => [
        r.n,
        side,
        s!.serverCpuMsConnect,
        s!.serverCpuMsPush,
        s!.redisCpuMsPush ?? null,
        s!.agentRssMiB,
      ]),
  ),
);
report.data.results = results;
report.write();
process.exit(0);
