// Scenario 9: Redis memory per agent cluster and per fleet, for sizing (docs/operations.md,
// "Redis high availability"). An in-process control plane on a real Redis: N clusters
// registered, their agents' bootstrap tokens exchanged and a Hello recorded (with a list of
// served API versions), F fleets of two stages over every cluster (a canary stage, then a
// rollout in waves), each rendering a bundle per cluster (${cluster.name} in a manifest: the
// most bundles a fleet can have; the fleets' manifests are the same, so they share theirs),
// rolled out twice (a push) with a Ready report of `objects` objects from every cluster at
// every revision, then status heartbeats until each (cluster, fleet) history holds its 50.
// Then MEMORY USAGE (SAMPLES 0: every element counted) of every key of the installation, by
// kind, and INFO's used_memory before and after.
//
//   node bench/redis-memory.ts [--clusters 500] [--fleets 3] [--objects 20] [--quick]
import { setTimeout as sleep } from 'node:timers/promises';
import { toClusterFleetStatus } from '../control-plane/src/grpc/reports.ts';
import { primaries } from '../control-plane/src/store/connect.ts';
import { startTestControlPlane } from '../test/src/control-plane.ts';
import { startGitServer } from '../test/src/git-server.ts';
import { webDeployment } from '../test/src/manifests.ts';
import { startRedis } from '../test/src/redis.ts';
import { benchArgs, positive } from './lib/args.ts';
import { Report } from './lib/report.ts';
import { fleetStatus } from './lib/status.ts';

const args = benchArgs({
  clusters: { type: 'string', default: '500' },
  fleets: { type: 'string', default: '3' },
  objects: { type: 'string', default: '20' },
});
const clusters = args.quick ? 50 : positive(args.clusters, '--clusters');
const fleets = args.quick ? 2 : positive(args.fleets, '--fleets');
const objects = positive(args.objects, '--objects');
const HISTORY = 50;
const report = new Report('redis-memory', { clusters, fleets, objects });

const fleetYaml = `stages:
  - name: canary
    selector: { matchLabels: { tier: canary } }
  - name: prod
    selector: { matchLabels: { tier: prod } }
    rollout: { maxUnavailable: 25%, progressDeadline: 30m }
`;
const settings = (v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  cluster: "\${cluster.name}"\n  v: "${v}"\n`;

const redis = await startRedis();
const git = await startGitServer();
const cp = await startTestControlPlane({ redisUrl: redis.url });
const client = cp.cp.redis;
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
const before = await usedMemory();

try {
  const names = Array.from({ length: clusters }, (_, i) => `c${String(i).padStart(5, '0')}`);
  const apiVersions = [
    'v1',
    'apps/v1',
    'batch/v1',
    'networking.k8s.io/v1',
    'rbac.authorization.k8s.io/v1',
  ].concat(Array.from({ length: 55 }, (_, i) => `example${i}.io/v1`));
  for (const [i, name] of names.entries()) {
    const reg = await cp.cp.registry.register(name, {
      tier: i < Math.ceil(clusters / 10) ? 'canary' : 'prod',
    });
    const agent = { version: '0.1.0', kubernetesVersion: 'v1.35.4', apiVersions };
    await cp.cp.registry.exchange(reg.bootstrapToken, agent);
    await cp.cp.registry.markConnected(name, agent);
  }
  report.log(`${clusters} clusters registered, exchanged and connected`);

  const sequences = new Map<string, number>();
  const reported = new Map<string, string>();
  const send = async (cluster: string, fleet: string, revision: string) => {
    const sequence = (sequences.get(cluster) ?? 0) + 1;
    sequences.set(cluster, sequence);
    await cp.cp.ingestion.enqueue(
      cluster,
      toClusterFleetStatus(cluster, sequence, fleetStatus(fleet, objects, revision)),
    );
  };
  const drain = async () => {
    while ((await cp.cp.ingestion.backlog()) > 0) await sleep(50);
  };
  /** Reports Ready wherever the desired state moved, until every cluster runs `revisions`. */
  const rollOut = async (revisions: Map<string, string>) => {
    for (;;) {
      let pending = 0;
      const sends: Promise<void>[] = [];
      for (const [fleet, revision] of revisions) {
        for (const name of names) {
          const entry = await cp.cp.desired.getOne(name, fleet);
          if (entry?.revision !== revision) pending++;
          if (!entry || reported.get(`${name}/${fleet}`) === entry.revision) continue;
          reported.set(`${name}/${fleet}`, entry.revision);
          sends.push(send(name, fleet, entry.revision));
        }
      }
      await Promise.all(sends);
      await drain();
      if (pending === 0) return;
      await sleep(200);
    }
  };

  const files = (v: string) => ({
    'fleet.yaml': fleetYaml,
    'manifests/settings.yaml': settings(v),
    'manifests/web.yaml': webDeployment('shop', 2),
  });
  const heads = new Map<string, string>();
  for (let f = 0; f < fleets; f++) {
    const fleet = `fleet-${f}`;
    heads.set(fleet, await git.createRepo(fleet, files('1')));
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    if (created.status !== 201) throw new Error(`fleet ${fleet}: ${JSON.stringify(created.body)}`);
  }
  await rollOut(heads);
  report.log(`${fleets} fleets rolled out to every cluster`);
  for (const fleet of heads.keys()) {
    heads.set(fleet, await git.commit(fleet, { 'manifests/settings.yaml': settings('2') }, 'two'));
    await cp.api('POST', `/api/v1/fleets/${fleet}/sync`);
  }
  await rollOut(heads);
  report.log('a push rolled out to every cluster');
  for (let round = 0; round < HISTORY; round++) {
    await Promise.all(
      names.flatMap((name) => [...heads].map(([fleet, revision]) => send(name, fleet, revision))),
    );
  }
  await drain();
  report.log(`histories filled (${HISTORY} reports per cluster and fleet)`);

  const prefix = cp.prefix;
  const kinds = new Map<string, { keys: number; bytes: number }>();
  for await (const keys of primaries(client)[0]!.scanStream({ match: `${prefix}:*`, count: 1000 })) {
    const sizes = await Promise.all(
      (keys as string[]).map(
        (k) => client.call('MEMORY', 'USAGE', k, 'SAMPLES', '0') as Promise<number | null>,
      ),
    );
    (keys as string[]).forEach((key, i) => {
      const rest = key.slice(prefix.length + 1);
      const kind = rest.startsWith('bull:') ? `bull:${rest.split(':')[1]}` : (rest.split(':')[0] ?? rest);
      const k = kinds.get(kind) ?? { keys: 0, bytes: 0 };
      k.keys++;
      k.bytes += Number(sizes[i] ?? 0);
      kinds.set(kind, k);
    });
  }
  const after = await usedMemory();
  const perCluster = ['cluster', 'desired', 'seq', 'report-seq', 'status', 'status-history'];
  const rows = [...kinds].sort(([a], [b]) => a.localeCompare(b));
  report.table(
    'Memory by kind of key (MEMORY USAGE, bytes)',
    ['kind', 'keys', 'bytes', 'bytes/key', 'per'],
    rows.map(([kind, k]) => [
      kind,
      k.keys,
      k.bytes,
      Math.round(k.bytes / k.keys),
      perCluster.includes(kind)
        ? `${Math.round(k.bytes / clusters)} per cluster`
        : kind === 'fleet'
          ? `${Math.round(k.bytes / fleets)} per fleet`
          : '',
    ]),
  );
  const clusterBytes = perCluster.reduce((n, kind) => n + (kinds.get(kind)?.bytes ?? 0), 0);
  report.table(
    'Totals',
    ['what', 'bytes'],
    [
      ['one agent cluster with its fleets (its keys)', Math.round(clusterBytes / clusters)],
      [
        `  of which per (cluster, fleet), status + ${HISTORY} reports`,
        Math.round(
          ((kinds.get('status')?.bytes ?? 0) + (kinds.get('status-history')?.bytes ?? 0)) /
            (clusters * fleets),
        ),
      ],
      ['one fleet (its hash)', Math.round((kinds.get('fleet')?.bytes ?? 0) / fleets)],
      // One per distinct rendering (shared by every cluster and fleet that renders the same),
      // kept a day after the last desired state named it.
      [
        'one bundle (these manifests, gzip’d)',
        Math.round((kinds.get('bundle')?.bytes ?? 0) / (kinds.get('bundle')?.keys ?? 1)),
      ],
      ['used_memory growth, all told', after - before],
    ],
  );
  report.data.kinds = Object.fromEntries(kinds);
  report.data.usedMemory = { before, after };
  report.write();
} finally {
  await cp.stop();
  await git.stop();
  await redis.stop();
}
