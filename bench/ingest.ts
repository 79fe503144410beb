// Scenario 2: status ingestion end to end. Simulated agents (a child process) send real
// ReportStatus calls over TLS with credentials the registry issued; the control plane (this
// process) authenticates, enqueues in BullMQ and acks; its worker stores each report in Redis.
// The clock stops when the number of reports stored equals the number acknowledged.
//
// Reference, same run, same Redis: bare BullMQ, `addBulk` of jobs with the same payload, ids
// and options plus a Worker that does nothing, run before and after the gitfleet measurement
// (so a change of load on the shared machine shows as a difference between the two).
// Between the two, `enqueue` called in-process (no gRPC) separates the cost of the queue
// path from the cost of gRPC and TLS.
//
//   node bench/ingest.ts [--reports 50000] [--clusters 200] [--connections 16] [--quick]
//   node --cpu-prof --cpu-prof-dir=bench/results/prof bench/ingest.ts --skip-reference
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AgentServiceClient } from '@gitfleet/proto';
import { credentials } from '@grpc/grpc-js';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { toClusterFleetStatus } from '../control-plane/src/grpc/reports.ts';
import { keys } from '../control-plane/src/store/keys.ts';
import { startTestControlPlane } from '../test/src/control-plane.ts';
import { startRedis } from '../test/src/redis.ts';
import { benchArgs, positive } from './lib/args.ts';
import { startChild } from './lib/child.ts';
import { cpuMeter, findPids } from './lib/proc.ts';
import { type Cell, ms, now, Report } from './lib/report.ts';
import type { Summary } from './lib/stats.ts';
import { fleetStatus } from './lib/status.ts';

const args = benchArgs({
  reports: { type: 'string', default: '50000' },
  clusters: { type: 'string', default: '200' },
  connections: { type: 'string', default: '16' },
  objects: { type: 'string', default: '20' },
  'timeout-seconds': { type: 'string', default: '300' },
  'skip-reference': { type: 'boolean', default: false },
  // For profiling the gRPC path alone (node --cpu-prof bench/ingest.ts --skip-reference --skip-direct).
  'skip-direct': { type: 'boolean', default: false },
});
const clusterCount = args.quick ? 100 : positive(args.clusters, '--clusters');
const perCluster = Math.ceil((args.quick ? 10_000 : positive(args.reports, '--reports')) / clusterCount);
const total = perCluster * clusterCount;
const connections = positive(args.connections, '--connections');
const objectsPerReport = positive(args.objects, '--objects');
const timeoutMs = positive(args['timeout-seconds'], '--timeout-seconds') * 1000;
// StatusIngestion.start()'s default, which ControlPlane.start() uses.
const WORKER_CONCURRENCY = 256;

const report = new Report('ingest', {
  reports: total,
  clusters: clusterCount,
  reportsPerCluster: perCluster,
  connections,
  objectsPerReport,
  workerConcurrency: WORKER_CONCURRENCY,
  redis: 'redis-server from test/src/redis.ts (no AOF)',
});
const redis = await startRedis();
const redisPids = findPids('redis-server', `:${redis.port}`);
const rows: Cell[][] = [];

interface Phase {
  rate: number;
  ms: number;
  cpu: { self: number; redis: number; client?: number };
}

function jobPayload(cluster: string, sequence: number) {
  return toClusterFleetStatus(cluster, sequence, fleetStatus(`bench-f${sequence}`, objectsPerReport));
}

// ---- reference: bare BullMQ ----------------------------------------------------------------

async function bareBullmq(label: string): Promise<Phase> {
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const prefix = `bare-${randomBytes(4).toString('hex')}`;
  // The options StatusIngestion gives its queue, so only the work around the queue differs.
  const queue = new Queue('status-reports', {
    connection,
    prefix,
    defaultJobOptions: {
      removeOnComplete: 1000,
      removeOnFail: 5000,
      attempts: 5,
      backoff: { type: 'exponential', delay: 200 },
    },
  });
  let done = 0;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const worker = new Worker('status-reports', async () => {}, {
    connection,
    prefix,
    concurrency: WORKER_CONCURRENCY,
  });
  worker.on('completed', () => {
    if (++done === total) finished();
  });
  await worker.waitUntilReady();
  const jobs = Array.from({ length: total }, (_, i) => {
    const cluster = `c${i % clusterCount}`;
    const sequence = Math.floor(i / clusterCount) + 1;
    return {
      name: 'report',
      data: { cluster, status: jobPayload(cluster, sequence) },
      opts: { jobId: `${cluster}.${sequence}` },
    };
  });
  const self = process.cpuUsage();
  const redisCpu = cpuMeter(redisPids);
  const start = now();
  for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
  await Promise.race([
    allDone,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`bare BullMQ: ${done}/${total} done`)), timeoutMs),
    ),
  ]);
  const elapsed = ms(start);
  const cpu = { self: cpuOf(self), redis: redisCpu() };
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  report.log(`${label}: ${total} jobs in ${elapsed.toFixed(0)} ms`);
  return { rate: (total / elapsed) * 1000, ms: elapsed, cpu };
}

function cpuOf(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

// ---- gitfleet --------------------------------------------------------------------------------

const refBefore = args['skip-reference'] ? undefined : await bareBullmq('bare BullMQ (before)');

const tcp = await startTestControlPlane({ redisUrl: redis.url });
const k = keys(tcp.cp.config.redisPrefix);
const names = Array.from({ length: clusterCount }, (_, i) => `ingest-${i}`);
report.log(`registering ${clusterCount} clusters (registry + gRPC Register)`);
const registrar = new AgentServiceClient(tcp.grpcAddress, credentials.createSsl(Buffer.from(tcp.caPem)));
const clusters: { name: string; credential: string }[] = [];
for (const name of names) {
  const { bootstrapToken } = await tcp.cp.registry.register(name, { bench: 'ingest' });
  const { credential } = await new Promise<{ credential: string }>((resolve, reject) =>
    registrar.register(
      { bootstrapToken, agent: { version: 'bench', kubernetesVersion: 'v1.35.4', apiVersions: [] } },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
  clusters.push({ name, credential });
}
registrar.close();

const counter = new Redis(redis.url);
/** Reports stored: every (cluster, fleet) holds three hash fields (status, #seq, #phase). */
async function storedCount(): Promise<number> {
  const pipeline = counter.pipeline();
  for (const name of names) pipeline.hlen(k.status(name));
  const results = (await pipeline.exec()) ?? [];
  return results.reduce((sum, [, n]) => sum + Number(n), 0) / 3;
}

async function untilStored(target: () => number | undefined, start: bigint, base: number): Promise<number> {
  for (;;) {
    const stored = (await storedCount()) - base;
    const t = target();
    if (t !== undefined && stored >= t) return ms(start);
    if (ms(start) > timeoutMs) throw new Error(`timed out: ${stored} reports stored, target ${t ?? total}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// In-process: the queue path without gRPC, TLS or authentication. Fleets `direct-f<j>` and
// sequences after the gRPC phase's, so no report or job id collides with one sent before.
async function direct(): Promise<Phase> {
  const base = await storedCount();
  const self = process.cpuUsage();
  const redisCpu = cpuMeter(redisPids);
  let duplicates = 0;
  const start = now();
  await Promise.all(
    names.map(async (cluster) => {
      for (let j = 0; j < perCluster; j++) {
        const sequence = perCluster + j + 1;
        const status = toClusterFleetStatus(cluster, sequence, fleetStatus(`direct-f${j}`, objectsPerReport));
        if ((await tcp.cp.ingestion.enqueue(cluster, status)).duplicate) duplicates++;
      }
    }),
  );
  if (duplicates > 0) throw new Error(`direct enqueue: ${duplicates} reports taken for duplicates`);
  const elapsed = await untilStored(() => total, start, base);
  const cpu = { self: cpuOf(self), redis: redisCpu() };
  report.log(`direct enqueue: ${total} stored in ${elapsed.toFixed(0)} ms`);
  return { rate: (total / elapsed) * 1000, ms: elapsed, cpu };
}

type GrpcPhase = Phase & { ackRate: number; latencyMs: Summary; duplicates: number; errors: string[] };

const client = startChild(join(import.meta.dirname, 'lib', 'ingest-client.ts'), { name: 'ingest client' });

/** One run of every cluster's reports through gRPC, `call` (ReportStatus) or `stream` (Connect). */
async function viaGrpc(transport: 'call' | 'stream', sequenceBase: number): Promise<GrpcPhase> {
  report.log(
    `gRPC ${transport}: ${clusterCount} agents × ${perCluster} reports over ${connections} connections`,
  );
  const base = await storedCount();
  let acked: number | undefined;
  const offProgress = client.on('progress', (m) => report.log(`  acked ${m.acked}`));
  const done = client.next<{
    type: 'done';
    acked: number;
    duplicates: number;
    errors: string[];
    errorCount: number;
    ms: number;
    latencyMs: Summary;
  }>('done', timeoutMs + 60_000);
  done.then((d) => {
    acked = d.acked;
  });
  const going = client.next('going', 60_000);
  client.send({ type: 'go', transport, fleetPrefix: transport, sequenceBase });
  await going;
  const self = process.cpuUsage();
  const redisCpu = cpuMeter(redisPids);
  const clientCpu = cpuMeter([client.pid]);
  const start = now();
  const elapsed = await untilStored(() => acked, start, base);
  const d = await done;
  offProgress();
  const cpu = { self: cpuOf(self), redis: redisCpu(), client: clientCpu() };
  if (d.errorCount > 0) report.note(`${transport}: ${d.errorCount} reports failed, e.g. ${d.errors[0]}`);
  if (d.acked !== total)
    report.note(`${transport}: only ${d.acked} of ${total} reports were acknowledged (time limit)`);
  report.log(
    `gRPC ${transport}: ${d.acked} acked in ${d.ms.toFixed(0)} ms, all stored after ${elapsed.toFixed(0)} ms`,
  );
  const backlog = await tcp.cp.ingestion.backlog();
  if (backlog !== 0) report.note(`ingestion backlog after the run: ${backlog} (expected 0)`);
  return {
    rate: (d.acked / elapsed) * 1000,
    ms: elapsed,
    cpu,
    ackRate: (d.acked / d.ms) * 1000,
    latencyMs: d.latencyMs,
    duplicates: d.duplicates,
    errors: d.errors,
  };
}

let viaCall: GrpcPhase | undefined;
let viaStream: GrpcPhase | undefined;
let directPhase: Phase | undefined;
try {
  client.send({
    type: 'start',
    address: tcp.grpcAddress,
    caPem: tcp.caPem,
    clusters,
    reportsPerCluster: perCluster,
    connections,
    objectsPerReport,
    timeoutMs,
  });
  await client.next('ready', 60_000);
  // Sequences of each phase above the last one's: no report or job id collides with one
  // sent before (direct() uses perCluster+1 … 2·perCluster).
  viaCall = await viaGrpc('call', 0);
  viaStream = await viaGrpc('stream', 2 * perCluster);
  directPhase = args['skip-direct'] ? undefined : await direct();
} finally {
  client.send({ type: 'close' });
  await client.stop();
  counter.disconnect();
  await tcp.stop();
}
const refAfter = args['skip-reference'] ? undefined : await bareBullmq('bare BullMQ (after)');
await redis.stop();

const refs = [refBefore, refAfter].filter((r): r is Phase => r !== undefined);
const refRate = refs.length ? refs.reduce((s, r) => s + r.rate, 0) / refs.length : Number.NaN;
const cores = report.machine.cpus;
const row = (name: string, p: Phase | undefined, extra: Cell = null): Cell[] =>
  p
    ? [
        name,
        total,
        p.ms,
        p.rate,
        p.rate / refRate,
        (100 * p.cpu.self) / p.ms / cores,
        p.cpu.client === undefined ? null : (100 * p.cpu.client) / p.ms / cores,
        (100 * p.cpu.redis) / p.ms / cores,
        (1000 * p.cpu.self) / total,
        (1000 * p.cpu.redis) / total,
        p.cpu.client === undefined ? null : (1000 * p.cpu.client) / total,
        extra,
      ]
    : [name, null, null, null, null, null, null, null, null, null, null, null];
rows.push(
  row('bare BullMQ addBulk + no-op Worker (before)', refBefore),
  row(
    'gitfleet: ReportStatus calls → BullMQ → stored',
    viaCall,
    viaCall ? `acks ${viaCall.ackRate.toFixed(0)}/s` : null,
  ),
  row(
    'gitfleet: reports on the Connect stream → BullMQ → stored',
    viaStream,
    viaStream ? `acks ${viaStream.ackRate.toFixed(0)}/s` : null,
  ),
  row('gitfleet: enqueue() in-process → stored', directPhase),
  row('bare BullMQ addBulk + no-op Worker (after)', refAfter),
);
report.table(
  `Status ingestion (reports/s until all stored; ratio to the mean bare BullMQ rate; CPU as % of ${cores} cores)`,
  [
    'path',
    'reports',
    'ms',
    'reports/s',
    'ratio',
    'CP/bench CPU %',
    'client CPU %',
    'redis CPU %',
    'CP/bench µs/report',
    'redis µs/report',
    'client µs/report',
    'note',
  ],
  rows,
);
report.table(
  'Report latency seen by the agents, until acknowledged (ms)',
  ['transport', 'p50', 'p90', 'p99', 'max'],
  (
    [
      ['ReportStatus call', viaCall],
      ['Connect stream', viaStream],
    ] as const
  )
    .filter(([, p]) => p)
    .map(([name, p]) => [name, p!.latencyMs.p50, p!.latencyMs.p90, p!.latencyMs.p99, p!.latencyMs.max]),
);
report.data.results = {
  refBefore,
  viaCall,
  viaStream,
  direct: directPhase,
  refAfter,
  refRate,
  goal: 'end-to-end rate the way agents report (on the stream) ≥ 0.5 × bare',
};
report.write();
process.exit(0);
