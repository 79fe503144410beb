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
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startGitServer } from '../test/src/git-server.ts';
import { startRedis } from '../test/src/redis.ts';
import { benchArgs, numberList, positive } from './lib/args.ts';
import { type Child, startChild } from './lib/child.ts';
import { fanoutRunner, type Memory, type Side } from './lib/fanout-run.ts';
import { plainFanoutFleet } from './lib/fleet.ts';
import { cpuMeter } from './lib/proc.ts';
import { type Cell, Report } from './lib/report.ts';
import { eachSize, type SizeResult } from './lib/sizes.ts';
import { summarize } from './lib/stats.ts';

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
const here = import.meta.dirname;

const report = new Report('fanout', {
  agents: sizes,
  procs,
  inFlight,
  timeoutMs,
  goals: { p99Ms: GOAL_P99_MS, kbPerAgent: GOAL_KB_PER_AGENT },
});
const redis = await startRedis();
const git = await startGitServer();

const runner = fanoutRunner({
  report,
  redis,
  git,
  procs,
  inFlight,
  timeoutMs,
  profileDir: args['profile-cp'],
  adminToken: ADMIN_TOKEN,
  webhookSecret: WEBHOOK_SECRET,
});
const { all, connectAll, arrivals } = runner;

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
const agents = runner.startAgents();
try {
  results = await eachSize(
    sizes,
    {
      gitfleet: (n) => runner.gitfleet(n, agents, plainFanoutFleet()),
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
