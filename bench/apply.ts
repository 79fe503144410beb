// Scenario 1: the agent's Applier against `kubectl apply --server-side`, on the same real
// kube-apiserver (no controllers: nothing else writes to the objects), with the same objects
// of mixed kinds, each side in namespaces of its own.
//
//   cold     everything is created, into fresh namespaces; both sides start without
//            discovery (a new KubeClient; kubectl with an empty --cache-dir)
//   warm     the same apply again, nothing changed (agent: the same Applier, as in a running
//            agent; kubectl: its discovery cache from the cold run)
//   restart  agent only: a new Applier on objects it applied before (the first apply after an
//            agent restart: no verified cache, so one dry-run per object)
//
// Requests per run come from the API server's own apiserver_request_total counter.
//
//   node bench/apply.ts [--sizes 100,1000,3000] [--repeat 3] [--quick]
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { FLEET_LABEL } from '@gitfleet/proto/core';
import { Applier, DEFAULT_CONCURRENCY } from '../agent/src/apply/apply.ts';
import type { ChangeAction } from '../agent/src/apply/changeset.ts';
import { KubeClient } from '../agent/src/kube/client.ts';
import type { KubeObject } from '../agent/src/objects.ts';
import { startKubeClusters } from '../test/src/kube/clusters.ts';
import { tempDir } from '../test/src/process.ts';
import { toolPath } from '../test/src/toolchain.ts';
import { benchArgs, numberList, positive } from './lib/args.ts';
import { mixedObjects, namespaceCount, toYamlStream } from './lib/objects.ts';
import { cpuMeter, findPids } from './lib/proc.ts';
import { type Cell, ms, now, Report } from './lib/report.ts';
import { type Summary, summarize } from './lib/stats.ts';

const args = benchArgs({
  sizes: { type: 'string', default: '100,1000,3000' },
  repeat: { type: 'string', default: '3' },
  concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
});
const sizes = args.quick ? [100, 300] : numberList(args.sizes, '--sizes');
const repeat = args.quick ? 2 : positive(args.repeat, '--repeat');
const concurrency = positive(args.concurrency, '--concurrency');
const GOAL_COLD = 3;
const GOAL_WARM = 20;

const report = new Report('apply', {
  sizes,
  repeat,
  concurrency,
  goals: { cold: GOAL_COLD, warm: GOAL_WARM },
});
report.log('starting etcd + kube-apiserver (controllers off)');
const kube = await startKubeClusters({ count: 1, controllers: false });
const cluster = kube.clusters[0]!;
const kubectlBin = toolPath(cluster.binDir, 'kubectl');
const metricsClient = KubeClient.fromSource({ kubeconfig: cluster.kubeconfig });
const cacheDirs: string[] = [];
// The API server and etcd are charged for the CPU each run used: on 2 cores they, not the
// client, bound how fast objects can be created.
const serverPids = [
  ...findPids('kube-apiserver', `--secure-port=${new URL(cluster.server).port}`),
  ...findPids('etcd', `--listen-client-urls=${kube.etcdUrl}`),
];
if (serverPids.length !== 2)
  throw new Error(`expected the pids of kube-apiserver and etcd, found ${serverPids}`);
const runId = Date.now().toString(36);

interface Run {
  ms: number;
  requests: number;
  /** CPU ms of kube-apiserver + etcd during the run. */
  serverCpuMs: number;
  /** CPU ms of this process (the agent side; 0 for kubectl, which is another process). */
  clientCpuMs: number;
  actions?: Partial<Record<ChangeAction, number>>;
}

/** Sum of apiserver_request_total: every request the API server answered so far. */
async function requestCount(): Promise<number> {
  const res = await metricsClient.request({ method: 'GET', path: '/metrics', accept: 'text/plain' });
  let total = 0;
  for (const line of String(res.body).split('\n')) {
    if (line.startsWith('apiserver_request_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

// The metrics request itself is counted too: one per measurement, subtracted.
async function measure(work: () => Promise<Partial<Record<ChangeAction, number>> | undefined>): Promise<Run> {
  const before = await requestCount();
  const serverCpu = cpuMeter(serverPids);
  const clientCpu = process.cpuUsage();
  const start = now();
  const actions = await work();
  const elapsed = ms(start);
  const serverCpuMs = serverCpu();
  const { user, system } = process.cpuUsage(clientCpu);
  const requests = (await requestCount()) - before - 1;
  return {
    ms: elapsed,
    requests,
    serverCpuMs,
    clientCpuMs: (user + system) / 1000,
    ...(actions ? { actions } : {}),
  };
}

async function agentApply(applier: Applier, objects: KubeObject[], fleet: string, expect: ChangeAction) {
  const changeSet = await applier.apply(objects, { fleet, concurrency });
  const actions: Partial<Record<ChangeAction, number>> = {};
  for (const e of changeSet.entries) actions[e.action] = (actions[e.action] ?? 0) + 1;
  if (actions[expect] !== objects.length) {
    const failed = changeSet.entries.find((e) => e.action !== expect);
    throw new Error(
      `agent apply: expected ${objects.length} ${expect}, got ${JSON.stringify(actions)}; e.g. ${JSON.stringify(failed)}`,
    );
  }
  return actions;
}

function kubectlApply(yaml: string, cacheDir: string): Promise<undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBin, [
      '--kubeconfig',
      cluster.kubeconfig,
      '--cache-dir',
      cacheDir,
      'apply',
      '--server-side',
      '-f',
      '-',
    ]);
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(undefined) : reject(new Error(`kubectl apply exited ${code}: ${stderr.trim()}`)),
    );
    child.stdin.end(yaml);
  });
}

// Latency of each request the agent's client makes, per run: with 8 in flight on 2 cores,
// it shows whether the API server queues them.
const requestLatencies: number[] = [];
function timed(client: KubeClient): KubeClient {
  const send = client.request.bind(client);
  client.request = async (req) => {
    const start = now();
    try {
      return await send(req);
    } finally {
      requestLatencies.push(ms(start));
    }
  };
  return client;
}
function newApplier(): Applier {
  return new Applier(timed(KubeClient.fromSource({ kubeconfig: cluster.kubeconfig })));
}
async function measureAgent(work: () => Promise<Partial<Record<ChangeAction, number>>>) {
  requestLatencies.length = 0;
  const run = await measure(work);
  return { ...run, requestMs: summarize(requestLatencies) };
}

const rows: Cell[][] = [];
const details: Cell[][] = [];
const results: Record<string, unknown>[] = [];
const cores = report.machine.cpus;
const detail = (size: number, side: string, what: string, r: Run & { requestMs?: Summary }) => [
  size,
  side,
  what,
  r.ms,
  r.requests,
  r.requestMs?.p50 ?? null,
  r.requestMs?.p99 ?? null,
  r.serverCpuMs,
  (100 * r.serverCpuMs) / (r.ms * cores),
  side === 'agent' ? r.clientCpuMs : null,
];
try {
  for (const size of sizes) {
    const fleet = `bench-${size}`;
    const agentObjects = mixedObjects(size, `ba-${runId}-${size}-agent`);
    // kubectl gets the fleet label the Applier adds, so both sides write the same objects.
    const kubectlObjects = mixedObjects(size, `ba-${runId}-${size}-kubectl`, { [FLEET_LABEL]: fleet });
    const yaml = toYamlStream(kubectlObjects);
    const cacheDir = tempDir('kubectl-cache');
    cacheDirs.push(cacheDir);
    report.log(`${size} objects (${namespaceCount(size)} namespaces): cold`);

    const applier = newApplier();
    const agentCold = await measureAgent(() => agentApply(applier, agentObjects, fleet, 'created'));
    const kubectlCold = await measure(() => kubectlApply(yaml, cacheDir));

    report.log(`${size} objects: warm ×${repeat}`);
    const agentWarm: (Run & { requestMs: Summary })[] = [];
    const kubectlWarm: Run[] = [];
    for (let r = 0; r < repeat; r++) {
      agentWarm.push(await measureAgent(() => agentApply(applier, agentObjects, fleet, 'unchanged')));
      kubectlWarm.push(await measure(() => kubectlApply(yaml, cacheDir)));
    }
    applier.client.close();

    // A restarted agent: no verified cache, discovery again; every object takes the dry-run path.
    const restarted = newApplier();
    const agentRestart = await measureAgent(() => agentApply(restarted, agentObjects, fleet, 'unchanged'));
    restarted.client.close();

    // The median warm run, whole, so its columns belong together.
    const mid = <T extends Run>(runs: T[]): T =>
      [...runs].sort((a, b) => a.ms - b.ms)[Math.floor((runs.length - 1) / 2)]!;
    const aw = mid(agentWarm);
    const kw = mid(kubectlWarm);
    const met = (ratio: number, goal: number) => (ratio >= goal ? 'yes' : 'no');
    rows.push(
      [
        size,
        'cold (create)',
        agentCold.ms,
        kubectlCold.ms,
        kubectlCold.ms / agentCold.ms,
        `≥ ${GOAL_COLD}×`,
        met(kubectlCold.ms / agentCold.ms, GOAL_COLD),
      ],
      [
        size,
        'warm (no change)',
        aw.ms,
        kw.ms,
        kw.ms / aw.ms,
        `≥ ${GOAL_WARM}×`,
        met(kw.ms / aw.ms, GOAL_WARM),
      ],
      [size, 'agent restarted vs kubectl warm', agentRestart.ms, kw.ms, kw.ms / agentRestart.ms, '-', '-'],
    );
    details.push(
      detail(size, 'agent', 'cold', agentCold),
      detail(size, 'kubectl', 'cold', kubectlCold),
      detail(size, 'agent', 'warm', aw),
      detail(size, 'kubectl', 'warm', kw),
      detail(size, 'agent', 'restarted', agentRestart),
    );
    results.push({ size, agentCold, kubectlCold, agentWarm, kubectlWarm, agentRestart });
    report.log(
      `${size}: cold ${agentCold.ms.toFixed(0)} vs ${kubectlCold.ms.toFixed(0)} ms, warm ${aw.ms.toFixed(1)} vs ${kw.ms.toFixed(0)} ms`,
    );
  }
  report.table(
    'Applier vs kubectl apply --server-side (ms; warm = median run)',
    ['objects', 'case', 'agent ms', 'kubectl ms', 'kubectl/agent', 'goal', 'met'],
    rows,
  );
  report.table(
    'Where the time goes (requests = apiserver_request_total delta; server = kube-apiserver + etcd)',
    [
      'objects',
      'side',
      'case',
      'ms',
      'requests',
      'req p50 ms',
      'req p99 ms',
      'server CPU ms',
      `server CPU % of ${cores} cores`,
      'agent CPU ms',
    ],
    details,
  );
  report.data.results = results;
  report.write();
} finally {
  metricsClient.close();
  await kube.stop();
  for (const dir of cacheDirs) rmSync(dir, { recursive: true, force: true });
}
// Keep-alive sockets and the toolchain's child handles must not hold the process open.
process.exit(0);
