import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ManagedProcess, tempDir, waitUntil } from '../process.ts';
import { ensureToolchain } from '../toolchain.ts';
import { apiClient, startApiserver } from './apiserver.ts';
import { createClusterPki, writeAdminKubeconfig } from './certs.ts';
import { fakeNode, fakeNodeName, nodeIsSchedulable, startControllers } from './controllers.ts';
import { freePorts, startEtcd } from './etcd.ts';
import { kubectl } from './kubectl.ts';

export interface KubeCluster {
  name: string;
  /** Kubeconfig file of the cluster's admin (O=system:masters), certificates embedded. */
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** The cluster CA's certificate (PEM file). */
  caFile: string;
  /** Directory of the Kubernetes binaries (kubectl, helm, ...), see toolPath(). */
  binDir: string;
  /** Runs `kubectl --kubeconfig <this> ...args`; resolves stdout, rejects with stderr. */
  kubectl(args: string[], input?: string): Promise<string>;
}

export interface KubeClusters {
  clusters: KubeCluster[];
  /** Client URL of the etcd all apiservers share ('' when count is 0). */
  etcdUrl: string;
  /** Stops every process and removes the temporary files; safe to call twice. */
  stop(): Promise<void>;
}

export interface KubeClustersOptions {
  count: number;
  /** Run kube-controller-manager, kube-scheduler and kwok (default true). */
  controllers?: boolean;
  /** Cluster names (default cluster-1 ... cluster-N); also their etcd prefix /gitfleet-<name>. */
  names?: string[];
}

const startTimeoutMs = 90_000;

export async function startKubeClusters(options: KubeClustersOptions): Promise<KubeClusters> {
  const { count, controllers = true } = options;
  const names = options.names ?? Array.from({ length: count }, (_, i) => `cluster-${i + 1}`);
  if (names.length !== count)
    throw new Error(`startKubeClusters: ${names.length} names for ${count} clusters`);
  for (const name of names) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
      throw new Error(`startKubeClusters: invalid cluster name '${name}'`);
  }
  if (new Set(names).size !== names.length)
    throw new Error(`startKubeClusters: duplicate cluster names in ${names.join(', ')}`);
  if (count === 0) return { clusters: [], etcdUrl: '', stop: async () => {} };

  const binDir = await ensureToolchain([
    'etcd',
    'kube-apiserver',
    'kubectl',
    ...(controllers ? ['kube-controller-manager', 'kube-scheduler', 'kwok'] : []),
  ]);

  const root = tempDir('kube');
  // Stopped in reverse order of these tiers: controllers, then apiservers, then etcd.
  const tiers: ManagedProcess[][] = [[], [], []];
  const [etcdTier, apiserverTier, controllerTier] = tiers as [
    ManagedProcess[],
    ManagedProcess[],
    ManagedProcess[],
  ];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const tier of [...tiers].reverse()) await Promise.all(tier.map((p) => p.stop()));
      await rm(root, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const [etcdClientPort, etcdPeerPort, ...apiserverPorts] = await freePorts(count + 2);
    const [etcd, setups] = await allSettled([
      startEtcd(binDir, join(root, 'etcd'), [etcdClientPort as number, etcdPeerPort as number]).then((e) => {
        etcdTier.push(e.process);
        return e;
      }),
      Promise.all(
        names.map(async (name, i) => {
          const dir = join(root, name);
          await mkdir(dir, { recursive: true });
          const pki = await createClusterPki(dir, name);
          const server = `https://127.0.0.1:${apiserverPorts[i]}`;
          const kubeconfig = join(dir, 'kubeconfig');
          await writeAdminKubeconfig(kubeconfig, name, server, pki);
          return { name, dir, pki, server, port: apiserverPorts[i] as number, kubeconfig };
        }),
      ),
    ] as const);

    // One cluster failing to start fails the whole start: the others stop waiting.
    const abort = new AbortController();
    const waitFor = (what: string, check: () => Promise<boolean>, procs: ManagedProcess[]) =>
      waitWatching(what, check, procs, abort.signal);
    const startCluster = async (s: (typeof setups)[number]) => {
      const apiserver = startApiserver({
        binDir,
        dir: s.dir,
        name: s.name,
        port: s.port,
        etcdUrl: etcd.url,
        pki: s.pki,
      });
      apiserverTier.push(apiserver);
      const api = await apiClient(s.server, s.pki);
      await waitFor(
        `${s.name}'s kube-apiserver to answer /readyz`,
        async () => ok(await api.request('GET', '/readyz')),
        [apiserver, etcd.process],
      );
      if (!controllers) return;
      const procs = await startControllers({
        binDir,
        dir: s.dir,
        name: s.name,
        kubeconfig: s.kubeconfig,
        pki: s.pki,
      });
      controllerTier.push(...procs);
      const created = await api.request('POST', '/api/v1/nodes', fakeNode());
      if (created.status !== 201)
        throw new Error(`creating node ${fakeNodeName} in ${s.name}: ${created.status} ${created.body}`);
      const watched = [...procs, apiserver, etcd.process];
      await Promise.all([
        // The serviceaccount controller runs: pods can be created in `default`.
        waitFor(
          `the default ServiceAccount in ${s.name}`,
          async () => ok(await api.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')),
          watched,
        ),
        waitFor(
          `node ${fakeNodeName} in ${s.name} to be Ready and untainted`,
          async () => {
            const res = await api.request('GET', `/api/v1/nodes/${fakeNodeName}`);
            return ok(res) && nodeIsSchedulable(JSON.parse(res.body));
          },
          watched,
        ),
      ]);
    };
    // The first failure is the cause; the others are then mostly "gave up waiting".
    const failures: unknown[] = [];
    await Promise.allSettled(
      setups.map((s) =>
        startCluster(s).catch((err: unknown) => {
          failures.push(err);
          abort.abort();
        }),
      ),
    );
    if (failures.length > 0) throw failures[0];

    return {
      clusters: setups.map((s) => ({
        name: s.name,
        kubeconfig: s.kubeconfig,
        server: s.server,
        caFile: s.pki.caCert,
        binDir,
        kubectl: (args, input) => kubectl(binDir, s.kubeconfig, args, input),
      })),
      etcdUrl: etcd.url,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function ok(res: { status: number }): boolean {
  return res.status === 200;
}

/**
 * Like Promise.all, but waits for every promise before failing, so nothing that is still
 * starting is forgotten by the cleanup that follows a failure.
 */
async function allSettled<T extends readonly unknown[]>(
  promises: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * waitUntil that fails as soon as any of `procs` exits (the condition would never become
 * true) or `signal` aborts, and that names the processes' last output when it times out.
 */
async function waitWatching(
  what: string,
  check: () => Promise<boolean>,
  procs: ManagedProcess[],
  signal: AbortSignal,
): Promise<void> {
  try {
    await waitUntil(what, async () => signal.aborted || procs.some((p) => p.exited) || (await check()), {
      timeoutMs: startTimeoutMs,
      intervalMs: 100,
    });
  } catch (err) {
    const tails = procs.map((p) => `--- ${p.name}'s last output:\n${p.tail(15)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${tails}`);
  }
  if (signal.aborted) throw new Error(`gave up waiting for ${what}: another cluster failed to start`);
  const dead = procs.find((p) => p.exited);
  if (dead)
    throw new Error(`${dead.name} exited while waiting for ${what}; its last output:\n${dead.tail()}`);
}
