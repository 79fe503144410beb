// Scenario 7: a Helm fleet (the podinfo chart in the fleet's repository) to N simulated
// clusters, beside the plain-YAML fleet of scenario 3 at the same N, in the same run:
//
//   per-cluster   one value from ${cluster.name}: every cluster has its own render key, so a
//                 push runs `helm template` N times
//   per-stage     values equal within a stage (two stages): a push runs it once per stage
//   plain         the fan-out fleet of bench/fanout.ts (pure in-process rendering)
//
// Each: renders executed for the measured push (the renderer's count), their CPU (the control
// plane's helm subprocesses) and the control plane's own CPU, and the push p50/p99 (from the
// signed webhook until every agent holds the new revision).
//
// Reference, same run: the same chart through `helm template` once per cluster (the way a
// tool without render keys renders for each cluster), at the renderer's concurrency. At large
// N it runs --reference-runs times and the total is scaled to N (marked so in the table).
//
//   node bench/helm-fanout.ts [--agents 1000,10000] [--procs 4] [--reference-runs 1000] [--quick]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGitServer } from '../test/src/git-server.ts';
import { tempDir } from '../test/src/process.ts';
import { startRedis } from '../test/src/redis.ts';
import { cachedBinDir, ensureToolchain } from '../test/src/toolchain.ts';
import { benchArgs, numberList, positive } from './lib/args.ts';
import { type FanoutFleet, fanoutRunner, type Side } from './lib/fanout-run.ts';
import { plainFanoutFleet } from './lib/fleet.ts';
import { limit } from './lib/parallel.ts';
import { childCpuMs } from './lib/proc.ts';
import { type Cell, Report } from './lib/report.ts';

const run = promisify(execFile);
const args = benchArgs({
  agents: { type: 'string', default: '1000,10000' },
  procs: { type: 'string', default: '4' },
  'in-flight': { type: 'string', default: '100' },
  'timeout-seconds': { type: 'string', default: '1200' },
  'reference-runs': { type: 'string', default: '1000' },
  concurrency: { type: 'string', default: '2' },
});
const sizes = args.quick ? [100, 500] : numberList(args.agents, '--agents');
const procs = positive(args.procs, '--procs');
const referenceRuns = positive(args['reference-runs'], '--reference-runs');
const concurrency = positive(args.concurrency, '--concurrency');
const timeoutMs = positive(args['timeout-seconds'], '--timeout-seconds') * 1000;
/** The issue's bound: a Helm fleet with equal values per stage pushes within 1.5× of plain YAML. */
const GOAL_RATIO = 1.5;

await ensureToolchain(['helm']);
const helm = join(cachedBinDir(), 'helm');
const chartDir = join(import.meta.dirname, '..', 'test', 'fixtures', 'real-world', 'podinfo-chart');

const report = new Report('helm-fanout', {
  agents: sizes,
  procs,
  timeoutMs,
  referenceRuns,
  concurrency,
  goals: { perStageP99VsPlain: GOAL_RATIO },
});
const redis = await startRedis();
const git = await startGitServer();
const runner = fanoutRunner({
  report,
  redis,
  git,
  procs,
  inFlight: positive(args['in-flight'], '--in-flight'),
  timeoutMs,
  profileDir: '',
  adminToken: `admin-${randomBytes(12).toString('hex')}`,
  webhookSecret: `bench-${randomBytes(8).toString('hex')}`,
});

function chartFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full, `${rel}${name}/`);
      else out[`chart/${rel}${name}`] = readFileSync(full, 'utf8');
    }
  };
  walk(chartDir, '');
  return out;
}

const env = {
  GITFLEET_HELM_PATH: helm,
  GITFLEET_KUBECTL_PATH: join(cachedBinDir(), 'kubectl'),
  GITFLEET_RENDER_CONCURRENCY: String(concurrency),
};

/** One value per cluster: N render keys. */
function perClusterFleet(): FanoutFleet {
  const fleetYaml = (message: string) => `helm:
  chart: ./chart
  releaseName: podinfo
  namespace: podinfo-bench
  values:
    ui: { message: "${message}" }
    podAnnotations: { gitfleet.dev/cluster: "\${cluster.name}" }
stages:
  - name: all
    selector: { matchLabels: { bench: fanout } }
`;
  return {
    files: { 'fleet.yaml': fleetYaml('hello'), ...chartFiles() },
    push: { 'fleet.yaml': fleetYaml('pushed') },
    env,
  };
}

/** Values equal within each of two stages: two render keys, whatever N. */
function perStageFleet(): FanoutFleet {
  const fleetYaml = (message: string) => `helm:
  chart: ./chart
  releaseName: podinfo
  namespace: podinfo-bench
  values:
    ui: { message: "${message}" }
stages:
  - name: blue
    selector: { matchLabels: { bench: fanout, lane: blue } }
    helm: { values: { ui: { color: "#1565c0" } } }
  - name: green
    selector: { matchLabels: { bench: fanout, lane: green } }
    helm: { values: { ui: { color: "#2e7d32" } } }
`;
  return {
    files: { 'fleet.yaml': fleetYaml('hello'), ...chartFiles() },
    push: { 'fleet.yaml': fleetYaml('pushed') },
    env,
    labels: (i) => ({ bench: 'fanout', lane: i % 2 === 0 ? 'blue' : 'green' }),
  };
}

interface Reference {
  runs: number;
  /** Wall ms of `runs` renders at the renderer's concurrency. */
  wallMs: number;
  cpuMs: number;
  /** Scaled to N when runs < N. */
  wallMsAtN: number;
  cpuMsAtN: number;
  scaled: boolean;
}

/** `helm template` of the chart once per cluster, each with its cluster's values. */
async function helmPerCluster(n: number): Promise<Reference> {
  const runs = Math.min(n, referenceRuns);
  const dir = tempDir('helm-reference');
  try {
    const cpuBefore = childCpuMs(process.pid);
    const t0 = performance.now();
    await limit(
      Array.from({ length: runs }, (_, i) => i),
      concurrency,
      async (i) => {
        const values = join(dir, `values-${i}.json`);
        writeFileSync(
          values,
          JSON.stringify({
            ui: { message: 'pushed' },
            podAnnotations: { 'gitfleet.dev/cluster': `agent-${i}` },
          }),
        );
        await run(
          helm,
          ['template', 'podinfo', chartDir, '--namespace', 'podinfo-bench', '--values', values],
          {
            maxBuffer: 64 * 2 ** 20,
          },
        );
      },
    );
    const wallMs = performance.now() - t0;
    const cpuMs = childCpuMs(process.pid) - cpuBefore;
    return {
      runs,
      wallMs,
      cpuMs,
      wallMsAtN: (wallMs * n) / runs,
      cpuMsAtN: (cpuMs * n) / runs,
      scaled: runs < n,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface SizeRow {
  n: number;
  plain?: Side;
  perStage?: Side;
  perCluster?: Side;
  reference?: Reference;
  error?: string;
}

const rows: SizeRow[] = [];
const agents = runner.startAgents();
try {
  for (const n of sizes) {
    const row: SizeRow = { n };
    rows.push(row);
    try {
      report.log(`N=${n}: plain YAML`);
      row.plain = await runner.gitfleet(n, agents, plainFanoutFleet());
      report.log(`N=${n}: Helm, values per stage`);
      row.perStage = await runner.gitfleet(n, agents, perStageFleet());
      report.log(`N=${n}: Helm, a value per cluster`);
      row.perCluster = await runner.gitfleet(n, agents, perClusterFleet());
      report.log(`N=${n}: reference, helm template per cluster`);
      row.reference = await helmPerCluster(n);
    } catch (err) {
      row.error = (err as Error).message;
      report.note(`N=${n}: ${row.error}`);
      break;
    }
  }
} finally {
  await Promise.all(agents.map((a) => a.stop()));
  await git.stop();
  await redis.stop();
}

const table: Cell[][] = [];
for (const r of rows) {
  for (const [what, s, keys] of [
    ['plain YAML', r.plain, null],
    ['Helm, values per stage', r.perStage, 2],
    ['Helm, value per cluster', r.perCluster, r.n],
  ] as const) {
    if (!s) continue;
    table.push([
      r.n,
      what,
      keys,
      s.renders?.helmTemplates ?? 0,
      s.renderCpuMs ?? 0,
      s.serverCpuMsPush,
      `${s.delivered}/${s.connected}`,
      s.deliveryMs.p50,
      s.deliveryMs.p99,
      r.plain && s !== r.plain ? s.deliveryMs.p99 / r.plain.deliveryMs.p99 : null,
    ]);
  }
  if (r.reference) {
    table.push([
      r.n,
      `helm template per cluster${r.reference.scaled ? ` (${r.reference.runs} runs, scaled)` : ''}`,
      r.n,
      r.n,
      r.reference.cpuMsAtN,
      null,
      null,
      null,
      r.reference.wallMsAtN,
      r.plain ? r.reference.wallMsAtN / r.plain.deliveryMs.p99 : null,
    ]);
  }
}
report.table(
  `Helm fan-out (ms; push = from the signed webhook until the agent held the revision; reference: wall time of the renders alone; goal: per-stage p99 within ${GOAL_RATIO}× of plain)`,
  [
    'agents',
    'fleet',
    'distinct keys',
    'helm runs',
    'helm CPU ms',
    'control plane CPU ms',
    'delivered',
    'p50 ms',
    'p99 ms',
    'p99 / plain',
  ],
  table,
);
for (const r of rows) {
  if (r.perStage && r.perStage.renders?.helmTemplates !== 2) {
    report.note(
      `N=${r.n}: values per stage ran helm ${r.perStage.renders?.helmTemplates} times, not 2 (one per key)`,
    );
  }
  if (r.perCluster && r.perCluster.renders?.helmTemplates !== r.n) {
    report.note(
      `N=${r.n}: a value per cluster ran helm ${r.perCluster.renders?.helmTemplates} times, not ${r.n}`,
    );
  }
  if (r.perStage && r.plain && r.perStage.deliveryMs.p99 > GOAL_RATIO * r.plain.deliveryMs.p99) {
    report.note(
      `N=${r.n}: per-stage p99 ${r.perStage.deliveryMs.p99.toFixed(0)} ms is over ${GOAL_RATIO}× plain (${r.plain.deliveryMs.p99.toFixed(0)} ms)`,
    );
  }
}
report.data.results = rows;
report.write();
process.exit(0);
