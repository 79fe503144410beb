// Faults on the agent's side, survived with nothing lost (real control plane, real agent
// processes, a real kube-apiserver, real Git):
//
//   - the link to the control plane silently cut for minutes (a TCP proxy that drops every
//     byte): the agent keeps enforcing its last desired state, both ends notice the cut, and
//     when the link returns the agent catches up and its reports of the outage arrive;
//   - the agent killed with SIGKILL mid-apply and mid-prune: on restart it finishes, and its
//     inventory neither loses an object it created nor deletes one it does not own;
//   - the Git server answering 500, refusing connections, or hanging: the fleet says why,
//     clusters keep what they run, and fetching recovers by itself.
//
// GITFLEET_TEST_CUT_SECONDS sets how long the link is cut (default 120).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { defaultBinDir, kubectlFor } from '../src/kube/kubectl.ts';
import { webDeployment } from '../src/manifests.ts';
import type { ManagedProcess } from '../src/process.ts';
import { startTcpProxy, type TcpProxy } from '../src/tcp-proxy.ts';
import { toolPath } from '../src/toolchain.ts';

const env = environmentFromEnv();
const cluster = env.clusters[0]!;
const kubectl = kubectlFor(cluster.kubeconfig);
const id = randomBytes(3).toString('hex');
const CUT_MS = Number(process.env.GITFLEET_TEST_CUT_SECONDS ?? 120) * 1000;
// Both ends must notice a silent cut within keepalive time + timeout (30 s + 10 s), plus
// the agent's own reconnect attempt: a minute is the bound a user can count on.
const DETECT_MS = 60_000;

interface StatusItem {
  cluster: string;
  phase: string;
  connected: boolean;
  desiredRevision: string | null;
  appliedRevision: string | null;
  driftCorrections: number;
  message: string;
  objects: { kind: string; name: string; action: string; drifted: boolean }[];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A one-stage fleet that selects the clusters labelled faults=<part>-<id>. */
const fleetYaml = (part: string) => `manifests: ./manifests
stages:
  - name: all
    selector: { matchLabels: { faults: "${part}-${id}" } }
`;

function configMap(ns: string, name: string, data: Record<string, string>): string {
  const lines = Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n${lines.join('\n')}\n`;
}

const watches = new Set<ReturnType<typeof spawn>>();

/** Streams `kubectl get <resource> -n ns --watch-only` events: ADDED/MODIFIED/DELETED name. */
function watchObjects(resource: string, ns: string) {
  const events: { type: string; name: string }[] = [];
  const child = spawn(toolPath(defaultBinDir(), 'kubectl'), [
    '--kubeconfig',
    cluster.kubeconfig,
    'get',
    resource,
    '-n',
    ns,
    '--watch-only',
    '--output-watch-events',
    '-o',
    'jsonpath={.type} {.object.metadata.name}{"\\n"}',
  ]);
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const [type = '', name = ''] = line.trim().split(' ');
      if (type) events.push({ type, name });
    }
  });
  child.on('error', () => {});
  watches.add(child);
  return {
    count: (type: string, prefix = '') =>
      new Set(events.filter((e) => e.type === type && e.name.startsWith(prefix)).map((e) => e.name)).size,
    stop: () => {
      child.kill('SIGKILL');
      watches.delete(child);
    },
  };
}

describe('agent faults', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  const agents: ManagedProcess[] = [];
  const proxies: TcpProxy[] = [];
  const gitServers: GitServer[] = [];
  const namespaces: string[] = [];

  const api = <T>(method: string, url: string, body?: unknown) => cp.api<T>(method, url, body);
  const statusOf = async (fleet: string, name: string) => {
    const res = await api<{ items: StatusItem[] }>('GET', `/api/v1/fleets/${fleet}/status`);
    return res.body.items?.find((i) => i.cluster === name);
  };
  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    timeoutMs = 60_000,
    intervalMs = 250,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await probe().catch(() => undefined);
      if (value) return value as T;
      await sleep(intervalMs);
    }
    const logs = agents.map((a) => `--- ${a.name}\n${a.tail(15)}`).join('\n');
    throw new Error(`timed out after ${seconds(timeoutMs)} waiting for ${what}\n${logs}`);
  };
  const readyAt = (fleet: string, name: string, revision: string, timeoutMs = 90_000) =>
    waitFor(
      `${name} Ready at ${revision.slice(0, 7)}`,
      async () => {
        const s = await statusOf(fleet, name);
        return s?.phase === 'Ready' && s.appliedRevision === revision ? s : undefined;
      },
      timeoutMs,
    );
  const connected = async (name: string) =>
    (await api<{ connected: boolean }>('GET', `/api/v1/clusters/${name}`)).body.connected;

  /** Registers a cluster (the shared kube cluster, under a name of its own) and starts its agent. */
  const registerAgent = async (part: string, agentNs: string, controlPlane: string) => {
    const name = `${part}-${id}`;
    await kubectl(['create', 'namespace', agentNs]);
    namespaces.push(agentNs);
    const reg = await api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name,
      labels: { faults: name },
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    return { name, agent: startAgent(part, agentNs, controlPlane, reg.body.bootstrapToken) };
  };
  const startAgent = (part: string, agentNs: string, controlPlane: string, bootstrapToken?: string) => {
    const agent = startAgentProcess({
      name: `${part}-${agents.length}`,
      kubeconfig: cluster.kubeconfig,
      controlPlane,
      caPem: cp.caPem,
      namespace: agentNs,
      ...(bootstrapToken ? { bootstrapToken } : {}),
    });
    agents.push(agent);
    return agent;
  };
  const createFleet = async (fleet: string, repo: string, auth: { username: string; password: string }) => {
    const created = await api<{ errors: unknown[] }>('POST', '/api/v1/fleets', {
      name: fleet,
      repo,
      credentials: { username: auth.username, password: auth.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);
  };
  const sync = async (fleet: string) => {
    const res = await api<{ fetchError: string | null }>('POST', `/api/v1/fleets/${fleet}/sync`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.fetchError, null);
  };
  const kill9 = async (agent: ManagedProcess) => {
    assert.ok(agent.child.pid);
    process.kill(agent.child.pid, 'SIGKILL');
    await waitFor(`${agent.name} gone`, async () => agent.exited, 10_000, 20);
  };
  /** The refs the agent's inventory lists for a fleet (ref keys: group/Kind/namespace/name). */
  const inventoryOf = async (agentNs: string, fleet: string): Promise<string[] | undefined> => {
    const out = await kubectl([
      'get',
      'configmap',
      `gitfleet-inventory-${fleet}`,
      '-n',
      agentNs,
      '--ignore-not-found',
      '-o',
      'jsonpath={.data.inventory\\.json}',
    ]);
    if (!out) return undefined;
    return (JSON.parse(out) as { entries: [string, string][] }).entries.map(([key]) => key).sort();
  };

  before(async () => {
    git = await startGitServer();
    gitServers.push(git);
    // Polling every 2 s: part (c) waits for the next poll to notice Git is back.
    cp = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: { GITFLEET_POLL_INTERVAL_SECONDS: '2', GITFLEET_GIT_TIMEOUT_SECONDS: '5' },
    });
  });

  after(async () => {
    for (const w of watches) w.kill('SIGKILL');
    for (const a of agents) await a.stop();
    for (const p of proxies) await p.close();
    await cp?.stop();
    for (const g of gitServers) await g.stop();
    await kubectl(['delete', 'namespace', ...namespaces, '--wait=false', '--ignore-not-found']).catch(
      () => {},
    );
  });

  it(`cut off for ${seconds(CUT_MS)}: keeps enforcing, both ends notice, then catches up and reports the outage`, async () => {
    const fleet = `cut-${id}`;
    const ns = `cut-${id}`;
    namespaces.push(ns);
    const manifests = (greeting: string) => ({
      'manifests/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
      'manifests/config.yaml': configMap(ns, 'web-config', { greeting }),
      'manifests/extra.yaml': configMap(ns, 'extra', { a: '1' }),
      'manifests/web.yaml': webDeployment(ns, 1),
    });
    const repo = fleet;
    const first = await git.createRepo(repo, {
      'fleet.yaml': fleetYaml('cut'),
      ...manifests('hello'),
    });
    const proxy = await startTcpProxy(cp.grpcAddress);
    proxies.push(proxy);
    const { name, agent } = await registerAgent('cut', `gitfleet-cut-${id}`, proxy.address);
    await createFleet(fleet, git.repoUrl(repo), git);
    await readyAt(fleet, name, first);
    const greeting = () =>
      kubectl([
        'get',
        'configmap',
        'web-config',
        '-n',
        ns,
        '--ignore-not-found',
        '-o',
        'jsonpath={.data.greeting}',
      ]);
    const extraExists = async () =>
      (await kubectl(['get', 'configmap', 'extra', '-n', ns, '--ignore-not-found', '-o', 'name'])).trim() !==
      '';
    const before = (await statusOf(fleet, name))?.driftCorrections ?? 0;

    // The cut: every byte dropped both ways, nothing closed.
    const cutAt = Date.now();
    await proxy.blackhole();
    const dropped = proxy.bytes.dropped;

    // Drift while cut off (before either end knows): an edit and a deletion come back.
    await kubectl([
      'patch',
      'configmap',
      'web-config',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"data":{"greeting":"tampered"}}',
    ]);
    await kubectl(['delete', 'configmap', 'extra', '-n', ns]);
    await waitFor(
      'drift restored while cut off',
      async () => (await greeting()) === 'hello' && (await extraExists()),
      30_000,
    );
    let corrections = 2;

    // Both ends notice the silent cut in bounded time: the control plane marks the cluster
    // disconnected (server keepalive), the agent drops its stream (client keepalive).
    await waitFor(
      'control plane marks the cluster disconnected',
      async () => !(await connected(name)),
      DETECT_MS,
      500,
    );
    const cpNoticedMs = Date.now() - cutAt;
    await waitFor(
      'the agent notices the cut',
      async () =>
        agent
          .tail(200)
          .split('\n')
          .some((line) => line.includes('stream to the control plane lost') && lineTime(line) >= cutAt),
      DETECT_MS,
      500,
    );
    const agentNoticedMs = Date.now() - cutAt;
    assert.ok(proxy.bytes.dropped > dropped, 'keepalive pings went into the blackhole');

    // A new revision is pushed during the cut: the control plane has it, the cluster cannot.
    const second = await git.commit(repo, manifests('bonjour'), 'greet in French');
    await sync(fleet);
    const pending = await statusOf(fleet, name);
    assert.equal(pending?.desiredRevision, second);
    assert.equal(pending?.connected, false);

    // Drift after the agent knows it is cut off: still enforced, with the last desired state.
    await kubectl(['delete', 'configmap', 'web-config', '-n', ns]);
    await waitFor(
      'deleted object restored while disconnected',
      async () => (await greeting()) === 'hello',
      30_000,
    );
    corrections += 1;
    assert.equal(await greeting(), 'hello', 'the revision pushed during the cut has not arrived');

    // The rest of the cut, enforcing on the way.
    const restoreAt = cutAt + CUT_MS;
    while (Date.now() < restoreAt - 10_000) {
      await kubectl(['patch', 'configmap', 'extra', '-n', ns, '--type=merge', '-p', '{"data":{"a":"x"}}']);
      await waitFor(
        'drift restored',
        async () =>
          (await kubectl(['get', 'configmap', 'extra', '-n', ns, '-o', 'jsonpath={.data.a}'])) === '1',
        30_000,
      );
      corrections += 1;
      await sleep(Math.min(20_000, Math.max(0, restoreAt - 10_000 - Date.now())));
    }
    await sleep(Math.max(0, restoreAt - Date.now()));
    assert.equal(agent.exited, false);

    // The link returns: reconnect, catch up, report.
    const restoredAt = Date.now();
    await proxy.pass();
    await waitFor('reconnected', () => connected(name), 60_000, 200);
    const reconnectMs = Date.now() - restoredAt;
    await waitFor('the new revision applied', async () => (await greeting()) === 'bonjour', 60_000, 200);
    const appliedMs = Date.now() - restoredAt;
    const ready = await readyAt(fleet, name, second);
    const readyMs = Date.now() - restoredAt;
    assert.ok(
      ready.driftCorrections - before >= corrections,
      `drift corrections ${ready.driftCorrections - before} ≥ ${corrections}`,
    );

    // The reports made during the outage reached the status history: the drift corrected
    // while cut off, with the time it was observed.
    const history = await cp.cp.ingestion.history(name, fleet);
    // Made during the outage: observed after the cut, still about the revision before it (on
    // a loaded machine the last correction's Ready may be observed just after the link returned,
    // before the agent hears of the new revision; it belongs to the outage all the same).
    const duringCut = history.filter((h) => Date.parse(h.observedAt) > cutAt && h.desiredRevision !== second);
    assert.ok(
      duringCut.some((h) => h.phase === 'Drifted'),
      `a Drifted report observed during the cut: ${JSON.stringify(history.map((h) => [h.observedAt, h.phase]))}`,
    );
    // Every correction of the cut is in the history, observed during it — all but possibly the
    // last, which on a loaded machine can be reported just as the new revision arrives.
    const reportedDuringCut = Math.max(0, ...duringCut.map((h) => h.driftCorrections - before));
    assert.ok(
      reportedDuringCut >= corrections - 1,
      `${reportedDuringCut} of ${corrections} drift corrections in reports observed during the cut; history: ${JSON.stringify(
        history.map((h) => [
          h.observedAt,
          h.phase,
          h.driftCorrections - before,
          h.desiredRevision === second ? 'new' : 'old',
        ]),
      )}`,
    );
    console.log(
      `cut ${seconds(restoredAt - cutAt)}: ${corrections} drift corrections made during the cut ` +
        `(${ready.driftCorrections - before} reported); control plane noticed after ${seconds(cpNoticedMs)}, ` +
        `agent after ${seconds(agentNoticedMs)}; after restoring: reconnected in ${seconds(reconnectMs)}, ` +
        `new revision applied in ${seconds(appliedMs)}, Ready reported in ${seconds(readyMs)}; ` +
        `${duringCut.length} reports observed during the cut in the history; ${proxy.bytes.dropped} bytes dropped`,
    );
  });

  it('killed with SIGKILL mid-apply and mid-prune: finishes on restart, and the inventory stays exact', async () => {
    const fleet = `many-${id}`;
    const ns = `many-${id}`;
    const nsB = `many-${id}-b`;
    namespaces.push(ns, nsB);
    const agentNs = `gitfleet-many-${id}`;
    const COUNT = 300;
    const pad = (i: number) => String(i).padStart(3, '0');
    const cms = (prefix: string, from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) =>
        configMap(ns, `${prefix}-${pad(from + k)}`, { index: pad(from + k), payload: 'x'.repeat(200) }),
      ).join('---\n');
    const base = (keep: number, extra = 0): Record<string, string | null> => ({
      'manifests/namespaces.yaml': [ns, nsB]
        .map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`)
        .join('---\n'),
      'manifests/web.yaml': webDeployment(ns, 1),
      'manifests/web-b.yaml': webDeployment(nsB, 1),
      'manifests/configmaps.yaml': cms('cm', 0, keep),
      'manifests/extra.yaml': extra > 0 ? cms('new', 0, extra) : null,
    });
    const keysOf = (keep: number) =>
      [
        `/Namespace//${ns}`,
        `/Namespace//${nsB}`,
        `apps/Deployment/${ns}/web`,
        `apps/Deployment/${nsB}/web`,
        ...Array.from({ length: keep }, (_, i) => `/ConfigMap/${ns}/cm-${pad(i)}`),
      ].sort();
    const liveConfigMaps = async () => {
      const list = JSON.parse(await kubectl(['get', 'configmaps', '-n', ns, '-o', 'json'])) as {
        items: {
          metadata: { name: string; uid: string; resourceVersion: string };
          data?: Record<string, string>;
        }[];
      };
      return new Map(list.items.map((cm) => [cm.metadata.name, cm]));
    };
    const named = (live: Map<string, unknown>, prefix: string) =>
      [...live.keys()].filter((n) => n.startsWith(`${prefix}-`)).length;
    const killWhen = async (agent: ManagedProcess, what: string, reached: () => boolean) => {
      await waitFor(what, async () => reached() || agent.exited, 90_000, 5);
      await kill9(agent);
    };

    // 1. Killed while creating: the restarted agent (credential from its Secret, no bootstrap
    // token) finishes the apply.
    const rev1 = await git.createRepo(fleet, {
      'fleet.yaml': fleetYaml('many'),
      ...(base(COUNT) as Record<string, string>),
    });
    let watch = watchObjects('configmaps', ns);
    await sleep(1500);
    const first = await registerAgent('many', agentNs, cp.grpcAddress);
    await createFleet(fleet, git.repoUrl(fleet), git);
    await killWhen(first.agent, 'the apply to start', () => watch.count('ADDED', 'cm-') >= 30);
    watch.stop();
    const atKill1 = named(await liveConfigMaps(), 'cm');
    assert.ok(atKill1 < COUNT, `killed mid-apply (${atKill1} of ${COUNT} ConfigMaps existed)`);
    // What the pass was about to create was recorded before it created anything.
    sameKeys(await inventoryOf(agentNs, fleet), keysOf(COUNT), 'inventory written before the apply');
    const name = first.name;
    let restartedAt = Date.now();
    let agent = startAgent('many', agentNs, cp.grpcAddress);
    await readyAt(fleet, name, rev1, 120_000);
    const converge1 = Date.now() - restartedAt;
    let live = await liveConfigMaps();
    assert.equal(named(live, 'cm'), COUNT);
    for (let i = 0; i < COUNT; i++) {
      assert.equal(live.get(`cm-${pad(i)}`)?.data?.index, pad(i), `cm-${pad(i)} as in Git`);
    }
    sameKeys(await inventoryOf(agentNs, fleet), keysOf(COUNT), 'inventory');

    // 2. Killed while creating objects that Git then drops before the agent returns: nothing
    // it created is forgotten (no orphans).
    const NEW = 200;
    watch = watchObjects('configmaps', ns);
    await sleep(1500);
    const rev2 = await git.commit(fleet, base(COUNT, NEW), `add ${NEW} ConfigMaps`);
    await sync(fleet);
    await killWhen(agent, 'the second apply to start', () => watch.count('ADDED', 'new-') >= 20);
    watch.stop();
    const atKill2 = named(await liveConfigMaps(), 'new');
    assert.ok(atKill2 > 0 && atKill2 < NEW, `killed mid-apply (${atKill2} of ${NEW} new ConfigMaps existed)`);
    const rev3 = await git.commit(fleet, base(COUNT), `drop the ${NEW} again`);
    assert.notEqual(rev3, rev2);
    await sync(fleet);
    restartedAt = Date.now();
    agent = startAgent('many', agentNs, cp.grpcAddress);
    await readyAt(fleet, name, rev3, 120_000);
    const converge2 = Date.now() - restartedAt;
    live = await liveConfigMaps();
    assert.equal(named(live, 'new'), 0, 'no orphan of the killed apply');
    assert.equal(named(live, 'cm'), COUNT);
    sameKeys(await inventoryOf(agentNs, fleet), keysOf(COUNT), 'inventory');

    // 3. Killed while pruning half: on restart the rest goes, what stays is untouched, and an
    // object that is not the fleet's, in the same namespace, survives.
    await kubectl(['create', 'configmap', 'bystander', '-n', ns, '--from-literal=mine=yes']);
    const KEEP = COUNT / 2;
    const keptBefore = new Map(
      [...live]
        .filter(([n]) => n.startsWith('cm-') && Number(n.slice(3)) < KEEP)
        .map(([n, cm]) => [n, cm.metadata]),
    );
    watch = watchObjects('configmaps', ns);
    await sleep(1500);
    const rev4 = await git.commit(fleet, base(KEEP), `remove ${COUNT - KEEP} ConfigMaps`);
    await sync(fleet);
    await killWhen(agent, 'the prune to start', () => watch.count('DELETED', 'cm-') >= 15);
    watch.stop();
    const atKill3 = COUNT - named(await liveConfigMaps(), 'cm');
    assert.ok(atKill3 < COUNT - KEEP, `killed mid-prune (${atKill3} of ${COUNT - KEEP} deleted)`);
    restartedAt = Date.now();
    agent = startAgent('many', agentNs, cp.grpcAddress);
    await readyAt(fleet, name, rev4, 120_000);
    const converge3 = Date.now() - restartedAt;
    live = await liveConfigMaps();
    assert.equal(named(live, 'cm'), KEEP);
    for (const [n, meta] of keptBefore) {
      const now = live.get(n)?.metadata;
      assert.deepEqual([now?.uid, now?.resourceVersion], [meta.uid, meta.resourceVersion], `${n} untouched`);
    }
    assert.equal(live.get('bystander')?.data?.mine, 'yes', 'an object that is not the fleet’s survives');
    sameKeys(await inventoryOf(agentNs, fleet), keysOf(KEEP), 'inventory');
    for (const n of [ns, nsB]) {
      assert.equal(
        await kubectl(['get', 'deployment', 'web', '-n', n, '-o', 'name']),
        'deployment.apps/web\n',
      );
    }
    console.log(
      `kill -9 mid-apply at ${atKill1}/${COUNT} ConfigMaps: Ready at ${COUNT} ${seconds(converge1)} after the restart; ` +
        `mid-apply at ${atKill2}/${NEW} new ones, then dropped from Git: none left, Ready ${seconds(converge2)} after the restart; ` +
        `mid-prune at ${atKill3}/${COUNT - KEEP} deleted: Ready with ${KEEP} kept ${seconds(converge3)} after the restart`,
    );
  });

  it('Git answering 500, refusing connections, or silent: the fleet says why, the cluster keeps running, fetching recovers by itself', async () => {
    const fleet = `git-${id}`;
    const ns = `git-${id}`;
    namespaces.push(ns);
    const flaky = await startGitServer();
    gitServers.push(flaky);
    const gitProxy = await startTcpProxy(new URL(flaky.url).host);
    proxies.push(gitProxy);
    const manifests = (greeting: string) => ({
      'manifests/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
      'manifests/config.yaml': configMap(ns, 'web-config', { greeting }),
    });
    let revision = await flaky.createRepo(fleet, { 'fleet.yaml': fleetYaml('git'), ...manifests('hello') });
    const { name } = await registerAgent('git', `gitfleet-git-${id}`, cp.grpcAddress);
    await createFleet(fleet, `http://${gitProxy.address}/${fleet}.git`, flaky);
    await readyAt(fleet, name, revision);
    const fleetView = async () =>
      (await api<{ fetchError: string | null; head: string }>('GET', `/api/v1/fleets/${fleet}`)).body;
    const greeting = () =>
      kubectl(['get', 'configmap', 'web-config', '-n', ns, '-o', 'jsonpath={.data.greeting}']);

    const faults: { fault: string; breakIt(): unknown; fix(): unknown; says: RegExp; canPush: boolean }[] = [
      {
        fault: 'HTTP 500',
        breakIt: () => flaky.failWith(500),
        fix: () => flaky.failWith(null),
        says: /500/,
        canPush: false,
      },
      {
        fault: 'connection refused',
        breakIt: () => gitProxy.reset(),
        fix: () => gitProxy.pass(),
        says: /ECONNREFUSED/,
        canPush: true,
      },
      {
        fault: 'no answer',
        breakIt: () => gitProxy.blackhole(),
        fix: () => gitProxy.pass(),
        says: /no answer for 5 s/,
        canPush: true,
      },
    ];
    const figures: string[] = [];
    for (const { fault, breakIt, fix, says, canPush } of faults) {
      const greetingBefore = await greeting();
      await breakIt();
      const brokenAt = Date.now();
      // A commit the control plane cannot see yet (the test pushes past the proxy).
      const pushed = canPush ? await flaky.commit(fleet, manifests(`after ${fault}`), fault) : undefined;
      const error = await waitFor<string>(
        `the fleet reports ${fault}`,
        async () => (await fleetView()).fetchError ?? undefined,
        30_000,
      );
      const reportedMs = Date.now() - brokenAt;
      assert.match(error, says);
      assert.match(error, new RegExp(`fetching http://${gitProxy.address}/${fleet}.git failed`));
      assert.ok(!error.includes(flaky.password), 'no credential in the error');
      // The cluster keeps what it runs: connected, Ready at the last revision, objects as they were.
      const s = await statusOf(fleet, name);
      assert.equal(s?.connected, true);
      assert.equal(s?.phase, 'Ready');
      assert.equal(s?.appliedRevision, revision);
      assert.equal(s?.desiredRevision, revision);
      assert.equal(await greeting(), greetingBefore);

      await fix();
      const fixedAt = Date.now();
      const next = pushed ?? (await flaky.commit(fleet, manifests(`after ${fault}`), fault));
      // No sync call: the next poll alone clears the error and brings the commit.
      await waitFor(
        `the ${fault} error to clear`,
        async () => (await fleetView()).fetchError === null,
        30_000,
      );
      const clearedMs = Date.now() - fixedAt;
      await readyAt(fleet, name, next);
      assert.equal(await greeting(), `after ${fault}`);
      revision = next;
      figures.push(
        `${fault}: reported after ${seconds(reportedMs)}, cleared ${seconds(clearedMs)} after Git was back, new commit Ready ${seconds(Date.now() - fixedAt)} after`,
      );
    }
    console.log(`Git faults (poll every 2 s, Git timeout 5 s): ${figures.join('; ')}`);
  });
});

/** Set equality, failing with what is missing and what is extra rather than two long lists. */
function sameKeys(actual: string[] | undefined, expected: string[], what: string): void {
  assert.ok(actual, `${what}: none`);
  const have = new Set(actual);
  const want = new Set(expected);
  const missing = expected.filter((k) => !have.has(k));
  const extra = actual.filter((k) => !want.has(k));
  assert.ok(
    missing.length === 0 && extra.length === 0,
    `${what}: ${missing.length} missing (${missing.slice(0, 3).join(', ')}), ${extra.length} extra (${extra.slice(0, 3).join(', ')})`,
  );
}

// Pino lines carry their time in ms.
function lineTime(line: string): number {
  try {
    return (JSON.parse(line) as { time?: number }).time ?? 0;
  } catch {
    return 0;
  }
}
