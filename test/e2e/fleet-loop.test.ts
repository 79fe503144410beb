// The whole loop with real parts: Git server → control plane (REST, gRPC over TLS, BullMQ on
// Redis) → real agent processes → real kube-apiservers (with controllers and kwok, so
// Deployments become Available) → status back through the queue → REST. What a user checks
// with `kubectl` and the API is what the tests assert.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import { webDeployment } from '../src/manifests.ts';
import type { ManagedProcess } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const ns = `shop-${id}`;

const fleetYaml = (prodRevision: string) => `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { loop: "${id}", env: dev } }
  - name: prod
    selector: { matchLabels: { loop: "${id}", env: prod } }
    revision: ${prodRevision}
`;

const manifests = (greeting: string, withExtra = true): Record<string, string | null> => ({
  'manifests/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
  'manifests/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: ${ns}\ndata:\n  greeting: "${greeting}"\n  cluster: "\${cluster.name}"\n`,
  'manifests/extra.yaml': withExtra
    ? `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: ${ns}\ndata:\n  a: "1"\n`
    : null,
  'manifests/web.yaml': webDeployment(ns, 2),
});

interface StatusItem {
  cluster: string;
  stage: string;
  phase: string;
  appliedRevision: string | null;
  driftCorrections: number;
  objects: {
    kind: string;
    name: string;
    action: string;
    health: string;
    drifted: boolean;
    lastDrift?: { changes: string[]; managers: string[]; correctedAt: string };
  }[];
}

describe('the fleet loop with real agents and clusters', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  const agents: ManagedProcess[] = [];
  // The runner starts three clusters by default; this suite needs two.
  const dev = env.clusters[0]!;
  const prod = env.clusters[1]!;
  const agentNs = `gitfleet-${id}`;
  let first = '';

  const statusOf = async (cluster: string) => {
    const res = await cp.api<{ items: StatusItem[] }>('GET', `/api/v1/fleets/loop-${id}/status`);
    return res.body.items.find((i) => i.cluster === cluster);
  };
  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    timeoutMs = 60_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      last = await probe();
      if (last) return last as T;
      await sleep(250);
    }
    const status = await cp.api('GET', `/api/v1/fleets/loop-${id}/status`);
    const logs = agents.map((a) => `--- ${a.name}\n${a.tail(15)}`).join('\n');
    throw new Error(`timed out waiting for ${what}\nstatus: ${JSON.stringify(status.body)}\n${logs}`);
  };
  const readyAt = (cluster: string, revision: string) =>
    waitFor(`${cluster} Ready at ${revision.slice(0, 7)}`, async () => {
      const s = await statusOf(cluster);
      return s?.phase === 'Ready' && s.appliedRevision === revision ? s : undefined;
    });

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    for (const c of [dev, prod]) await kubectlFor(c.kubeconfig)(['create', 'namespace', agentNs]);
  });

  after(async () => {
    for (const a of agents) await a.stop();
    await cp?.stop();
    await git?.stop();
    for (const c of [dev, prod]) {
      const kubectl = kubectlFor(c.kubeconfig);
      await kubectl(['delete', 'namespace', agentNs, ns, '--wait=false', '--ignore-not-found']).catch(
        () => {},
      );
    }
  });

  it('registers two clusters, their agents exchange tokens, and both stages become Ready', async () => {
    first = await git.createRepo(`loop-${id}`, {
      'fleet.yaml': fleetYaml('HEAD'),
      ...(manifests('hello') as Record<string, string>),
    });
    // Pin prod to the first commit (a commit id can only be known once it exists).
    first = await git.commit(`loop-${id}`, { 'fleet.yaml': fleetYaml(first) }, 'pin prod');

    for (const [cluster, envLabel] of [
      [dev, 'dev'],
      [prod, 'prod'],
    ] as [typeof dev, string][]) {
      const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name: `${cluster.name}-${id}`,
        labels: { loop: id, env: envLabel },
      });
      assert.equal(reg.status, 201);
      agents.push(
        startAgentProcess({
          name: cluster.name,
          kubeconfig: cluster.kubeconfig,
          controlPlane: cp.grpcAddress,
          caPem: cp.caPem,
          namespace: agentNs,
          bootstrapToken: reg.body.bootstrapToken,
        }),
      );
    }
    const created = await cp.api<{ errors: unknown[]; lastGoodRevision: string }>('POST', '/api/v1/fleets', {
      name: `loop-${id}`,
      repo: git.repoUrl(`loop-${id}`),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);

    // prod is pinned to the commit before the pin: the first manifests.
    const pinned = (await git.log(`loop-${id}`)).at(-1)?.sha ?? '';
    const devStatus = await readyAt(`${dev.name}-${id}`, first);
    const prodStatus = await readyAt(`${prod.name}-${id}`, pinned);
    assert.equal(devStatus.stage, 'dev');
    assert.equal(prodStatus.stage, 'prod');
    assert.ok(
      devStatus.objects.every((o) => o.health === 'Current'),
      JSON.stringify(devStatus.objects),
    );

    // What a user checks with kubectl: the objects are there, the Deployment is Available,
    // and the substitution put each cluster's own name in.
    const kubectl = kubectlFor(dev.kubeconfig);
    const deploy = JSON.parse(await kubectl(['get', 'deployment', 'web', '-n', ns, '-o', 'json']));
    assert.equal(deploy.status.availableReplicas, 2);
    assert.equal(
      await kubectl(['get', 'configmap', 'web-config', '-n', ns, '-o', 'jsonpath={.data.cluster}']),
      `${dev.name}-${id}`,
    );
    const managers = JSON.parse(
      await kubectl(['get', 'configmap', 'web-config', '-n', ns, '-o', 'json', '--show-managed-fields']),
    ).metadata.managedFields.map((m: { manager: string }) => m.manager);
    assert.ok(managers.includes('gitfleet'), `field manager gitfleet in ${managers}`);

    const cluster = await cp.api<{ connected: boolean; agentVersion: string; kubernetesVersion: string }>(
      'GET',
      `/api/v1/clusters/${dev.name}-${id}`,
    );
    assert.equal(cluster.body.connected, true);
    assert.equal(cluster.body.kubernetesVersion, 'v1.35.4');
  });

  it('a push reaches the stage that follows the head, not the pinned one', async () => {
    const second = await git.commit(`loop-${id}`, manifests('bonjour'), 'greet in French');
    await cp.api('POST', `/api/v1/fleets/loop-${id}/sync`);
    await readyAt(`${dev.name}-${id}`, second);
    assert.equal(
      await kubectlFor(dev.kubeconfig)([
        'get',
        'configmap',
        'web-config',
        '-n',
        ns,
        '-o',
        'jsonpath={.data.greeting}',
      ]),
      'bonjour',
    );
    assert.equal(
      await kubectlFor(prod.kubeconfig)([
        'get',
        'configmap',
        'web-config',
        '-n',
        ns,
        '-o',
        'jsonpath={.data.greeting}',
      ]),
      'hello',
    );
  });

  it('corrects drift: an edited field and a deleted object come back, and the status says so', async () => {
    const kubectl = kubectlFor(dev.kubeconfig);
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
    await waitFor('drift corrected', async () => {
      const greeting = await kubectl([
        'get',
        'configmap',
        'web-config',
        '-n',
        ns,
        '-o',
        'jsonpath={.data.greeting}',
      ]);
      const extra = await kubectl([
        'get',
        'configmap',
        'extra',
        '-n',
        ns,
        '--ignore-not-found',
        '-o',
        'name',
      ]);
      return greeting === 'bonjour' && extra.trim() === 'configmap/extra';
    });
    const s = await waitFor('drift in status', async () => {
      const st = await statusOf(`${dev.name}-${id}`);
      return st && st.driftCorrections >= 2 && st.phase === 'Ready' ? st : undefined;
    });
    // Which field changed and who changed it (the field manager of `kubectl patch`), never the value.
    const edited = s.objects.find((o) => o.name === 'web-config');
    assert.ok(edited?.drifted, JSON.stringify(s.objects));
    assert.deepEqual(edited.lastDrift?.changes, ['data.greeting changed']);
    assert.match(edited.lastDrift?.managers.join() ?? '', /^kubectl-patch \(Update\) at \d{4}-/);
    assert.doesNotMatch(JSON.stringify(edited), /tampered/);
    assert.deepEqual(s.objects.find((o) => o.name === 'extra')?.lastDrift?.changes, ['deleted']);
    // And in the event history, as a DriftCorrected event naming the object, field and manager.
    const drift = await waitFor('a DriftCorrected event', async () => {
      const res = await cp.api<{ items: { reason?: string; cluster?: string }[] }>(
        'GET',
        `/api/v1/events?type=DriftCorrected&fleet=loop-${id}`,
      );
      return res.body.items.find((e) => e.reason?.includes('data.greeting changed'));
    });
    assert.equal(drift.cluster, `${dev.name}-${id}`);
    assert.match(
      drift.reason ?? '',
      /ConfigMap\/shop-\w+\/web-config \(data\.greeting changed by kubectl-patch \(Update\) at /,
    );
    assert.doesNotMatch(drift.reason ?? '', /tampered/);
  });

  it('prunes what left Git', async () => {
    const third = await git.commit(`loop-${id}`, manifests('bonjour', false), 'drop extra');
    await cp.api('POST', `/api/v1/fleets/loop-${id}/sync`);
    const s = await readyAt(`${dev.name}-${id}`, third);
    assert.ok(
      s.objects.some((o) => o.name === 'extra' && o.action === 'deleted'),
      JSON.stringify(s.objects),
    );
    const kubectl = kubectlFor(dev.kubeconfig);
    await waitFor(
      'extra gone',
      async () =>
        (
          await kubectl(['get', 'configmap', 'extra', '-n', ns, '--ignore-not-found', '-o', 'name'])
        ).trim() === '',
    );
    // The inventory the agent keeps in the cluster no longer lists it.
    const inventories = await kubectl([
      'get',
      'configmaps',
      '-n',
      agentNs,
      '-l',
      'gitfleet.dev/inventory',
      '-o',
      'json',
    ]);
    assert.ok(!inventories.includes('/extra'), 'inventory updated');
  });

  it('a restarted agent needs no bootstrap token: its credential is in a Secret', async () => {
    const kubectl = kubectlFor(dev.kubeconfig);
    const secret = JSON.parse(
      await kubectl(['get', 'secret', 'gitfleet-agent-credential', '-n', agentNs, '-o', 'json']),
    );
    assert.match(Buffer.from(secret.data.credential, 'base64').toString(), /^gfc_/);
    const before = await statusOf(`${dev.name}-${id}`);
    const old = agents.shift();
    await old?.stop();
    const restarted = startAgentProcess({
      name: `${dev.name}-again`,
      kubeconfig: dev.kubeconfig,
      controlPlane: cp.grpcAddress,
      caPem: cp.caPem,
      namespace: agentNs,
    });
    agents.push(restarted);
    await waitFor(
      'reconnected',
      async () =>
        (await cp.api<{ connected: boolean }>('GET', `/api/v1/clusters/${dev.name}-${id}`)).body.connected,
    );
    // A restarted agent has no bundle in memory, so the control plane sends it again; the
    // applier finds every object as it should be and writes nothing.
    const s = await waitFor('Ready again after the restart', async () => {
      const st = await statusOf(`${dev.name}-${id}`);
      return st?.phase === 'Ready' && st.objects.every((o) => o.action === 'unchanged') ? st : undefined;
    });
    assert.equal(s.appliedRevision, before?.appliedRevision);
  });

  it('with the control plane down, the agent keeps enforcing and keeps its reports until it returns', async () => {
    const cluster = `${dev.name}-${id}`;
    const before = (await statusOf(cluster))?.driftCorrections ?? 0;
    await cp.stop({ keepState: true });
    const kubectl = kubectlFor(dev.kubeconfig);
    await kubectl(['delete', 'configmap', 'web-config', '-n', ns]);
    await waitFor('restored without the control plane', async () =>
      (
        await kubectl(['get', 'configmap', 'web-config', '-n', ns, '--ignore-not-found', '-o', 'name'])
      ).includes('web-config'),
    );
    cp = await startTestControlPlane({ redisUrl: env.redisUrl, restartOf: cp });
    const s = await waitFor('the report kept while down arrives', async () => {
      const st = await statusOf(cluster);
      return st && st.driftCorrections > before && st.phase === 'Ready' ? st : undefined;
    });
    assert.ok(s.objects.some((o) => o.name === 'web-config' && o.drifted));
    await waitFor(
      'reconnected',
      async () => (await cp.api<{ connected: boolean }>('GET', `/api/v1/clusters/${cluster}`)).body.connected,
    );
  });

  it('deleting the cluster revokes the agent: it stops and says why', async () => {
    const agent = agents.at(-1);
    assert.ok(agent);
    assert.equal((await cp.api('DELETE', `/api/v1/clusters/${dev.name}-${id}`)).status, 204);
    await waitFor('agent exit', async () => agent.exited, 15_000);
    assert.match(agent.tail(5), /revoked|deleted/);
  });
});
