// Scenario 4: the real agent process (bundled from agent/src/main.ts, started the way the tests start it)
// managing one fleet of 1,000 objects of mixed kinds on a real cluster (kube-apiserver with
// controller-manager, scheduler and kwok, so Deployments really become Available). Once the
// fleet is Ready on the cluster, the agent's resident memory and CPU are sampled every second
// for 60 s: its idle footprint, with the intervals the Helm chart uses (drift check every 60 s,
// health every 2 s), the chart's NODE_OPTIONS, and run as the image runs it: the one-file
// bundle agent/bundle.ts builds (both applied by startAgentProcess, as in every e2e test).
//
// The agent's CPU time until Ready is the cost of applying 1,000 objects cold; with
// --node-options the agent runs with other NODE_OPTIONS than the chart's (e.g. without
// --jitless, to see what interpreting costs), side by side in two runs.
//
//   node bench/agent-footprint.ts [--objects 1000] [--seconds 60] [--node-options="..."] [--quick]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chartNodeOptions, startAgentProcess } from '../test/src/agent-process.ts';
import { startTestControlPlane } from '../test/src/control-plane.ts';
import { startGitServer } from '../test/src/git-server.ts';
import { startKubeClusters } from '../test/src/kube/clusters.ts';
import { freePort } from '../test/src/process.ts';
import { startRedis } from '../test/src/redis.ts';
import { benchArgs, positive } from './lib/args.ts';
import { kindCounts, mixedObjects, namespaceCount, toYamlStream } from './lib/objects.ts';
import { cpuMs, mib, rssBytes } from './lib/proc.ts';
import { type Cell, Report } from './lib/report.ts';
import { summarize } from './lib/stats.ts';

const args = benchArgs({
  objects: { type: 'string', default: '1000' },
  seconds: { type: 'string', default: '60' },
  'ready-timeout-seconds': { type: 'string', default: '600' },
  'node-options': { type: 'string' },
});
const nodeOptions = args['node-options'] ?? chartNodeOptions();
const objectCount = args.quick ? 200 : positive(args.objects, '--objects');
const seconds = args.quick ? 20 : positive(args.seconds, '--seconds');
const readyTimeoutMs = positive(args['ready-timeout-seconds'], '--ready-timeout-seconds') * 1000;
// The goal is 80 MB (decimal); RSS is sampled and shown in MiB: 76.3 MiB.
const GOAL_RSS_MIB = (80 * 1e6) / 2 ** 20;
const FLEET = 'footprint';
const id = Date.now().toString(36);

// 100 pods at most: the fake node takes 110 (see mixedObjects).
const POD_BUDGET = 100;
const objects = mixedObjects(objectCount, `fp-${id}`, {}, { podBudget: POD_BUDGET });
const report = new Report('agent-footprint', {
  objects: objectCount,
  namespaces: namespaceCount(objectCount),
  kinds: kindCounts(objects),
  pods: POD_BUDGET,
  seconds,
  agentEnv: { GITFLEET_DRIFT_INTERVAL_SECONDS: 60, GITFLEET_HEALTH_INTERVAL_SECONDS: 2 },
  agentNodeOptions: nodeOptions,
  agentNodeEnv: `NODE_OPTIONS ${args['node-options'] === undefined ? 'from charts/gitfleet-agent values.yaml' : 'from --node-options'}; the agent bundle (agent/bundle.ts), as the Dockerfile builds it`,
  goal: `idle RSS < 80 MB (${GOAL_RSS_MIB.toFixed(1)} MiB)`,
});

interface StatusItem {
  cluster: string;
  phase: string;
  appliedRevision: string;
  objects: { health: string }[];
}

report.log('starting Redis, Git server, a cluster with controllers, the control plane');
const [redis, git, kube] = await Promise.all([
  startRedis(),
  startGitServer(),
  startKubeClusters({ count: 1, controllers: true }),
]);
const cluster = kube.clusters[0]!;
const tcp = await startTestControlPlane({ redisUrl: redis.url });
let agent: ReturnType<typeof startAgentProcess> | undefined;
try {
  // One file per 100 objects, as a repository would split them.
  const files: Record<string, string> = {
    'fleet.yaml': `manifests: ./manifests\nstages:\n  - name: prod\n    selector: { matchLabels: { bench: footprint } }\n`,
  };
  for (let i = 0; i < objects.length; i += 100) {
    files[`manifests/part-${String(i / 100).padStart(3, '0')}.yaml`] = toYamlStream(
      objects.slice(i, i + 100),
    );
  }
  const head = await git.createRepo(`fp-${id}`, files);
  const registered = await tcp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
    name: `fp-${id}`,
    labels: { bench: 'footprint' },
  });
  if (registered.status !== 201)
    throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`);
  const fleet = await tcp.api('POST', '/api/v1/fleets', {
    name: FLEET,
    repo: git.repoUrl(`fp-${id}`),
    credentials: { username: git.username, password: git.password },
  });
  if (fleet.status !== 201) throw new Error(`create fleet: ${fleet.status} ${JSON.stringify(fleet.body)}`);

  const started = Date.now();
  agent = startAgentProcess({
    name: `fp-${id}`,
    kubeconfig: cluster.kubeconfig,
    controlPlane: tcp.grpcAddress,
    caPem: tcp.caPem,
    namespace: `gitfleet-${id}`,
    bootstrapToken: registered.body.bootstrapToken,
    // The chart's settings, not the test harness's fast ones.
    env: {
      GITFLEET_DRIFT_INTERVAL_SECONDS: '60',
      GITFLEET_HEALTH_INTERVAL_SECONDS: '2',
      GITFLEET_PROBE_PORT: String(await freePort()),
      GITFLEET_LOG_LEVEL: 'info',
      NODE_OPTIONS: nodeOptions,
    },
  });
  const pid = agent.child.pid!;
  report.log(`agent pid ${pid} started; waiting until the fleet is Ready on the cluster`);

  // Memory while it applies, for context: the idle figure is what the goal is about.
  let peakRss = 0;
  let ready: StatusItem | undefined;
  let lastPhase = '';
  while (!ready) {
    if (agent.exited) throw new Error(`the agent exited:\n${agent.tail(30)}`);
    if (Date.now() - started > readyTimeoutMs) {
      throw new Error(`not Ready after ${readyTimeoutMs / 1000} s (phase ${lastPhase}):\n${agent.tail(20)}`);
    }
    peakRss = Math.max(peakRss, rssBytes(pid));
    const res = await tcp.api<{ items: StatusItem[] }>('GET', `/api/v1/fleets/${FLEET}/status`);
    const item = res.body.items?.[0];
    if (item && item.phase !== lastPhase) {
      lastPhase = item.phase;
      report.log(`  phase ${item.phase}`);
    }
    if (item?.phase === 'Ready' && item.appliedRevision === head && item.objects.length === objectCount)
      ready = item;
    else await sleep(1000);
  }
  const readyMs = Date.now() - started;
  const readyCpuMs = cpuMs(pid);
  report.log(
    `Ready after ${(readyMs / 1000).toFixed(1)} s (${ready.objects.length} objects); sampling ${seconds} s`,
  );

  const samples: number[] = [];
  const cpuStart = cpuMs(pid);
  const t0 = Date.now();
  const perTen: number[] = [];
  let lastCpu = cpuStart;
  for (let s = 1; s <= seconds; s++) {
    await sleep(t0 + s * 1000 - Date.now());
    if (agent.exited) throw new Error(`the agent exited while idle:\n${agent.tail(30)}`);
    samples.push(mib(rssBytes(pid)));
    if (s % 10 === 0) {
      const c = cpuMs(pid);
      perTen.push(((c - lastCpu) / 10_000) * 100);
      lastCpu = c;
    }
  }
  const elapsed = Date.now() - t0;
  const cpuPercent = ((cpuMs(pid) - cpuStart) / elapsed) * 100;
  const rss = summarize(samples);
  const rows: Cell[][] = [
    [
      objectCount,
      readyMs / 1000,
      readyCpuMs / 1000,
      mib(peakRss),
      rss.min,
      rss.p50,
      rss.max,
      cpuPercent,
      Math.max(...perTen),
      rss.max < GOAL_RSS_MIB ? 'yes' : 'no',
    ],
  ];
  // What a Node process holds before any work, in the same run: the floor under the figures above.
  // The agent's modules from its sources are measured twice: types stripped by Node's
  // WebAssembly stripper, and from a filled compile cache (which spares the stripper).
  const compileCache = mkdtempSync(join(tmpdir(), 'gitfleet-floor-cache-'));
  const floorOf = (what: string, env: Record<string, string> = {}) => {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', join(import.meta.dirname, 'lib', 'import-floor.ts'), what],
      { encoding: 'utf8', env: { ...process.env, ...env } },
    );
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      what: string;
      rss: number;
      heapUsed: number;
      external: number;
    };
  };
  let floors: { loads: string; rss: number; heapUsed: number; external: number }[];
  try {
    floorOf('agent', { NODE_COMPILE_CACHE: compileCache });
    floors = [
      { loads: 'an empty .ts file', ...floorOf('empty') },
      { loads: '@kubernetes/client-node', ...floorOf('client-node') },
      { loads: 'agent/src/agent.ts and its imports', ...floorOf('agent') },
      {
        loads: 'the same from a filled compile cache',
        ...floorOf('agent', { NODE_COMPILE_CACHE: compileCache }),
      },
    ];
  } finally {
    rmSync(compileCache, { recursive: true, force: true });
  }
  report.table(
    `Agent process footprint, NODE_OPTIONS "${nodeOptions}" (idle = the ${seconds} s after the fleet is Ready; CPU % of one core; goal RSS < 80 MB = ${GOAL_RSS_MIB.toFixed(1)} MiB)`,
    [
      'objects',
      'ready after s',
      'agent CPU until Ready s',
      'RSS peak while applying MiB',
      'idle RSS min MiB',
      'idle RSS p50 MiB',
      'idle RSS max MiB',
      'idle CPU %',
      'max CPU % per 10 s',
      'met',
    ],
    rows,
  );
  report.table(
    'Floor: RSS of a node process that only loads modules (after GC), same run',
    ['loads', 'RSS MiB', 'heap used MiB', 'external MiB'],
    floors.map((f) => [f.loads, mib(f.rss), mib(f.heapUsed), mib(f.external)]),
  );
  report.data.floors = floors;
  report.data.results = {
    readyMs,
    readyCpuMs,
    peakRssMiB: mib(peakRss),
    idleRssMiB: samples,
    idleCpuPercent: cpuPercent,
    cpuPercentPer10s: perTen,
  };
  report.write();
} finally {
  await agent?.stop();
  await tcp.stop();
  await Promise.all([kube.stop(), git.stop(), redis.stop()]);
}
process.exit(0);
