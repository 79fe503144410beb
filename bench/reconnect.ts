// Scenario 2: reconnect storm. One control-plane process with N simulated agents connected
// (real gRPC clients speaking our protocol over TLS, spread over a few child processes, each
// reconnecting with the agent's own backoff: exponential, full jitter, base 500 ms). Then the
// control plane is restarted — `restart`: SIGTERM, a clean stop that closes every stream, as a
// rolling upgrade does; `kill`: SIGKILL — and a new process starts on the same address, Redis
// and data dir. Measured:
//
//   down       from the stop until the new process listens
//   resumed    from the new process listening until each agent's resumed stream is Synced
//              (p50 / p99 / all), and the count of agents resumed
//   CPU        control plane: total and busiest 250 ms (% of one core) during the storm;
//              Redis total
//   re-sent    desired-state chunks the agents received on their resumed streams. Nothing
//              changed in Git, so it must be 0: an agent that receives nothing applies nothing.
//   connected  clusters the REST API lists as connected afterwards
//
// Reference, same run, same N, same agent processes and backoff: a bare grpc-js server (same
// TLS and server options) restarted the same way, that answers every Hello with Synced — the
// cost of N TLS handshakes and streams, without Redis, credentials or desired state.
//
//   node bench/reconnect.ts [--agents 1000,5000] [--modes restart,kill] [--procs 4] [--quick]
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitServer } from '../test/src/git-server.ts';
import { freePort, tempDir } from '../test/src/process.ts';
import { startRedis } from '../test/src/redis.ts';
import { benchArgs, numberList, positive } from './lib/args.ts';
import { type Child, startChild } from './lib/child.ts';
import { quickstartManifests, rest } from './lib/fleet.ts';
import { all as allChildren, limit } from './lib/parallel.ts';
import { cpuSampler, findPids } from './lib/proc.ts';
import { type Cell, Report } from './lib/report.ts';
import { eachSize, type SizeResult } from './lib/sizes.ts';
import { type Summary, summarize } from './lib/stats.ts';

const args = benchArgs({
  agents: { type: 'string', default: '1000,5000' },
  modes: { type: 'string', default: 'restart,kill' },
  procs: { type: 'string', default: '4' },
  'in-flight': { type: 'string', default: '100' },
  'timeout-seconds': { type: 'string', default: '300' },
  'skip-reference': { type: 'boolean', default: false },
});
const sizes = args.quick ? [500] : numberList(args.agents, '--agents');
const modes = args.modes.split(',').map((m) => m.trim());
for (const m of modes)
  if (m !== 'restart' && m !== 'kill') throw new Error(`--modes: "${m}" is not restart or kill`);
const procs = positive(args.procs, '--procs');
const inFlight = positive(args['in-flight'], '--in-flight');
const timeoutMs = positive(args['timeout-seconds'], '--timeout-seconds') * 1000;
// The real agent's defaults (agent/src/connection/connection.ts).
const BACKOFF = { baseMs: 500, capMs: 60_000 };
const ADMIN_TOKEN = `admin-${randomBytes(12).toString('hex')}`;
const wall = () => performance.timeOrigin + performance.now();
const here = import.meta.dirname;

const report = new Report('reconnect', { agents: sizes, modes, procs, inFlight, backoff: BACKOFF });
const redis = await startRedis();
const redisPids = findPids('redis-server', `:${redis.port}`);
const git = await startGitServer();

const manifests = quickstartManifests();
const fleetYaml = `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { bench: reconnect } }
`;

const all = <T>(children: Child[], msg: Record<string, unknown>[] | Record<string, unknown>, reply: string) =>
  allChildren<T>(children, msg, reply, timeoutMs);

interface Storm {
  mode: string;
  downMs: number;
  resumed: number;
  resumeMs: Summary;
  /** From the stop until the last agent was Synced again. */
  outageMs: number;
  chunks: number;
  agentsSentChunks: number;
  attempts: number;
  cpuMs: number;
  cpuPeakPct: number;
  redisCpuMs: number;
  /** Clusters the REST API lists as connected afterwards (gitfleet only). */
  listedConnected?: number;
}

/** A server process that can be started again on the same port and data dir. */
interface Server {
  start(): Promise<{ child: Child; caPem: string; httpPort?: number }>;
}

const api = (port: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  rest(port, ADMIN_TOKEN, method, path, body, headers);

function exited(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) resolve();
    else child.proc.once('exit', () => resolve());
  });
}

/** Stops `child` the way `mode` says, starts the server again, and times the agents' return. */
async function storm(
  mode: string,
  n: number,
  agents: Child[],
  server: Server,
  child: Child,
): Promise<{ storm: Storm; child: Child; httpPort?: number }> {
  await all(agents, { type: 'storm-begin' }, 'storm-marked');
  const t0 = wall();
  if (mode === 'kill') child.proc.kill('SIGKILL');
  else child.send({ type: 'stop' });
  await exited(child);
  const redisCpu = cpuSampler(redisPids);
  const next = await server.start();
  const ready = wall();
  const cpu = cpuSampler([next.child.pid]);
  const deadline = Date.now() + timeoutMs;
  let answers: { times: (number | null)[]; chunks: number; agentsSentChunks: number; attempts: number }[];
  for (;;) {
    answers = await all(agents, { type: 'resumed' }, 'resumed');
    const pending = answers.reduce((s, a) => s + a.times.filter((t) => t === null).length, 0);
    if (pending === 0 || Date.now() > deadline) break;
    await sleep(200);
  }
  const { totalMs, peakPct } = cpu();
  const times = answers.flatMap((a) => a.times).filter((t): t is number => t !== null);
  // Late re-sends would show up only if we waited: a short settle, then count chunks again.
  await sleep(2000);
  answers = await all(agents, { type: 'resumed' }, 'resumed');
  return {
    child: next.child,
    httpPort: next.httpPort,
    storm: {
      mode,
      downMs: ready - t0,
      resumed: times.length,
      resumeMs: summarize(times.map((t) => t - ready)),
      outageMs: times.length === n ? Math.max(...times) - t0 : Number.NaN,
      chunks: answers.reduce((s, a) => s + a.chunks, 0),
      agentsSentChunks: answers.reduce((s, a) => s + a.agentsSentChunks, 0),
      attempts: answers.reduce((s, a) => s + a.attempts, 0),
      cpuMs: totalMs,
      cpuPeakPct: peakPct,
      redisCpuMs: redisCpu().totalMs,
    },
  };
}

async function connectAll(agents: Child[], n: number): Promise<void> {
  const connected = await all<{ connected: number; failures: string[] }>(
    agents,
    { type: 'connect', inFlight: Math.ceil(inFlight / procs) },
    'connected',
  );
  const count = connected.reduce((s, c) => s + c.connected, 0);
  if (count !== n)
    throw new Error(`only ${count}/${n} agents connected: ${connected.flatMap((c) => c.failures)[0]}`);
}

async function gitfleet(n: number, agents: Child[]): Promise<Storm[]> {
  const prefix = `reconnect-${n}-${randomBytes(3).toString('hex')}`;
  const dataDir = tempDir('reconnect-cp');
  const grpcPort = await freePort();
  const env = {
    GITFLEET_REDIS_URL: redis.url,
    GITFLEET_REDIS_PREFIX: prefix,
    GITFLEET_GRPC_HOST: '127.0.0.1',
    GITFLEET_GRPC_PORT: String(grpcPort),
    GITFLEET_DATA_DIR: dataDir,
    GITFLEET_API_TOKENS: `admin:bench:${ADMIN_TOKEN}`,
    GITFLEET_LOG_LEVEL: 'silent',
    GITFLEET_POLL_INTERVAL_SECONDS: '3600',
  };
  const server: Server = {
    async start() {
      const child = startChild(join(here, 'lib', 'cp-process.ts'), { name: 'control plane' });
      child.send({ type: 'start', env });
      const started = await child.next<{ httpPort: number; caPem: string }>('started', 60_000);
      return { child, caPem: started.caPem, httpPort: started.httpPort };
    },
  };
  let { child, caPem, httpPort } = await server.start();
  try {
    await git.createRepo(prefix, { 'fleet.yaml': fleetYaml, ...manifests });
    const names = Array.from({ length: n }, (_, i) => `agent-${i}`);
    const tokens: string[] = new Array(n);
    await limit(names, 32, async (name, i) => {
      const res = await api(httpPort ?? 0, 'POST', '/api/v1/clusters', {
        name,
        labels: { bench: 'reconnect' },
      });
      if (res.status !== 201) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      tokens[i] = res.body.bootstrapToken;
    });
    const created = await api(httpPort ?? 0, 'POST', '/api/v1/fleets', {
      name: 'shop',
      repo: git.repoUrl(prefix),
      credentials: { username: git.username, password: git.password },
    });
    if (created.status !== 201)
      throw new Error(`create fleet: ${created.status} ${JSON.stringify(created.body)}`);
    const per = Math.ceil(n / agents.length);
    await all(
      agents,
      agents.map((_, p) => ({
        type: 'setup',
        address: `127.0.0.1:${grpcPort}`,
        caPem,
        reconnect: BACKOFF,
        agents: names
          .slice(p * per, (p + 1) * per)
          .map((name, i) => ({ name, bootstrapToken: tokens[p * per + i] })),
      })),
      'setup-done',
    );
    await all(agents, { type: 'register' }, 'registered');
    report.log(`gitfleet ${n}: connecting`);
    await connectAll(agents, n);
    // Initial acks and registry writes settle before the first restart.
    await sleep(3000);
    const storms: Storm[] = [];
    for (const mode of modes) {
      report.log(`gitfleet ${n}: ${mode}`);
      const result = await storm(mode, n, agents, server, child);
      child = result.child;
      httpPort = result.httpPort;
      // The registry catches up with the streams asynchronously: give it a moment.
      await sleep(1000);
      const listed = await api(httpPort ?? 0, 'GET', '/api/v1/clusters');
      const clusters = (listed.body?.items ?? listed.body ?? []) as { connected?: boolean }[];
      result.storm.listedConnected = clusters.filter((c) => c.connected).length;
      storms.push(result.storm);
      report.log(
        `  ${result.storm.resumed}/${n} resumed, all within ${result.storm.resumeMs.max.toFixed(0)} ms of the restart; ${result.storm.chunks} chunks re-sent`,
      );
    }
    return storms;
  } finally {
    await all(agents, { type: 'close' }, 'closed').catch(() => {});
    child.send({ type: 'stop' });
    await child.next('stopped', 30_000).catch(() => {});
    await child.stop(10_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function reference(n: number, agents: Child[]): Promise<Storm[]> {
  const dataDir = tempDir('reconnect-bare');
  const port = await freePort();
  const server: Server = {
    async start() {
      const child = startChild(join(here, 'lib', 'bare-push-server.ts'), { name: 'bare server' });
      child.send({ type: 'start', port, dataDir });
      const started = await child.next<{ caPem: string }>('started', 60_000);
      return { child, caPem: started.caPem };
    },
  };
  let { child, caPem } = await server.start();
  try {
    const per = Math.ceil(n / agents.length);
    await all(
      agents,
      agents.map((_, p) => ({
        type: 'setup',
        address: `127.0.0.1:${port}`,
        caPem,
        reconnect: BACKOFF,
        agents: Array.from({ length: Math.max(0, Math.min(per, n - p * per)) }, (_, i) => ({
          name: `ref-${p * per + i}`,
          bootstrapToken: '',
        })),
      })),
      'setup-done',
    );
    report.log(`reference ${n}: connecting`);
    await connectAll(agents, n);
    await sleep(1000);
    const storms: Storm[] = [];
    for (const mode of modes) {
      report.log(`reference ${n}: ${mode}`);
      const result = await storm(mode, n, agents, server, child);
      child = result.child;
      storms.push(result.storm);
    }
    return storms;
  } finally {
    await all(agents, { type: 'close' }, 'closed').catch(() => {});
    child.send({ type: 'stop' });
    await child.next('stopped', 30_000).catch(() => {});
    await child.stop(10_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

let results: SizeResult<Storm[]>[] = [];
const agents = Array.from({ length: procs }, (_, i) =>
  startChild(join(here, 'lib', 'fanout-agents.ts'), { name: `agents-${i}` }),
);
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

const rows: Cell[][] = results.flatMap((r) =>
  (
    [
      ['gitfleet', r.gitfleet],
      ['bare grpc-js', r.reference],
    ] as const
  ).flatMap(([side, storms]) =>
    (storms ?? []).map((s) => [
      r.n,
      side,
      s.mode,
      s.downMs,
      `${s.resumed}/${r.n}`,
      s.resumeMs.p50,
      s.resumeMs.p99,
      s.resumeMs.max,
      s.outageMs,
      s.attempts,
      s.chunks,
      s.cpuMs,
      s.cpuPeakPct,
      s.redisCpuMs,
      s.listedConnected ?? null,
    ]),
  ),
);
report.table(
  'Reconnect storm (ms; resume = from the new process listening until the resumed stream is Synced; re-sent = desired-state chunks on resumed streams, must be 0; CPU peak = busiest 250 ms, % of one core)',
  [
    'agents',
    'server',
    'mode',
    'down ms',
    'resumed',
    'p50 ms',
    'p99 ms',
    'all ms',
    'outage ms',
    'dials',
    're-sent',
    'CPU ms',
    'CPU peak %',
    'redis CPU ms',
    'listed connected',
  ],
  rows,
);
const resent = results.flatMap((r) => r.gitfleet ?? []).reduce((s, x) => s + x.chunks, 0);
if (resent > 0)
  report.note(`agents received ${resent} desired-state chunks after a restart with nothing changed`);
report.data.results = results;
report.write();
process.exit(0);
