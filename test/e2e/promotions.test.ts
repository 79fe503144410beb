// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${cluster.name} in plain strings is the substitution syntax
// Promotions and progressive rollouts through Git, with real parts: a Git server, the control
// plane, real agents and kube-apiservers. Four gitfleet clusters in three stages (dev,
// staging, and two prod clusters sharing one kube-apiserver, each in namespaces of its own
// through `${cluster.name}`). Promotions are commits (checked with `git log`), the gates and
// rollout waves are checked through the API and the event stream, and what runs is checked
// with kubectl.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GitfleetEvent } from '@gitfleet/control-plane';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import { webDeployment } from '../src/manifests.ts';
import { freePort, type ManagedProcess } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const fleet = `promo-${id}`;
const repo = `promo-${id}`;

const fleetYaml = (pins: { staging?: string; prod?: string } = {}) => `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { promo: "${id}", env: dev } }
  - name: staging
    selector: { matchLabels: { promo: "${id}", env: staging } }
    requires: dev${pins.staging ? `\n    revision: ${pins.staging}` : ''}
  - name: prod
    selector: { matchLabels: { promo: "${id}", env: prod } }
    requires: staging
    rollout: { maxUnavailable: 1, progressDeadline: 5m }${pins.prod ? `\n    revision: ${pins.prod}` : ''}
`;

// Every object lives in a namespace named after the gitfleet cluster, so two gitfleet
// clusters can share one kube-apiserver without applying the same objects.
const manifests = (greeting: string, extra = false): Record<string, string | null> => ({
  'manifests/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop-${cluster.name}\n',
  'manifests/config.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop-\${cluster.name}
data:
  greeting: "${greeting}"
  stage: "\${stage}"
`,
  'manifests/extra.yaml': extra
    ? 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: shop-${cluster.name}\ndata:\n  a: "1"\n'
    : null,
  'manifests/web.yaml': webDeployment(`shop-\${cluster.name}`, 1),
});

interface StatusItem {
  cluster: string;
  stage: string;
  phase: string;
  message: string;
  desiredRevision: string | null;
  appliedRevision: string | null;
  attemptedRevision: string | null;
  objects: { kind: string; name: string; action: string; health: string }[];
}

interface Promotion {
  id: string;
  kind: 'promotion' | 'rollback';
  stage: string;
  revision: string;
  commit: string;
  author: { name: string; email: string };
  time: string;
  message: string;
  rollbackOf: string | null;
  from?: string | null;
}

interface FleetView {
  head: string;
  stages: {
    name: string;
    revision: string;
    rollout: { state: string; revision: string; wave: number; waves: number; reason: string | null } | null;
  }[];
}

interface ApiErrorBody {
  code: string;
  message: string;
  details?: {
    requires: string;
    notReady: { cluster: string; phase: string | null; revision: string | null }[];
  };
}

/**
 * A pass-through proxy in front of the Git server that can run something just before it
 * forwards the next push: a person's push landing between the control plane's look at the
 * branch and its own push, deterministically.
 */
async function startGitProxy(target: string) {
  let beforeNextPush: (() => Promise<void>) | undefined;
  let pushes = 0;
  const port = await freePort();
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method === 'POST' && req.url?.endsWith('/git-receive-pack')) {
        pushes++;
        const hook = beforeNextPush;
        beforeNextPush = undefined;
        await hook?.();
      }
      const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (err) => res.destroy(err));
      req.pipe(upstream);
    })().catch((err: Error) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    get pushes() {
      return pushes;
    },
    beforeNextPush(hook: () => Promise<void>) {
      beforeNextPush = hook;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('promotions and progressive rollouts through Git', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let proxy: Awaited<ReturnType<typeof startGitProxy>>;
  const agents = new Map<string, ManagedProcess>();
  const events: GitfleetEvent[] = [];
  let unsubscribe: (() => void) | undefined;

  const [k1, k2, k3] = env.clusters;
  const dev = `dev-${id}`;
  const stg = `stg-${id}`;
  const prodA = `prod-a-${id}`;
  const prodB = `prod-b-${id}`;
  // gitfleet cluster → kube cluster, stage and the agent's own namespace
  const members = [
    { name: dev, env: 'dev', kube: k1!, agentNs: `gf-${id}-dev` },
    { name: stg, env: 'staging', kube: k2!, agentNs: `gf-${id}-stg` },
    { name: prodA, env: 'prod', kube: k3!, agentNs: `gf-${id}-pa` },
    { name: prodB, env: 'prod', kube: k3!, agentNs: `gf-${id}-pb` },
  ];
  const kubectlOf = (cluster: string) => kubectlFor(members.find((m) => m.name === cluster)!.kube.kubeconfig);
  // Commits as the suite makes them.
  const rev = {
    v1: '',
    pin: '',
    v2: '',
    readme: '',
    promoteStaging: '',
    v3: '',
    v4: '',
    promoteProdBad: '',
    rollback: '',
    handEdit: '',
  };

  const statusOf = async (cluster: string) => {
    const res = await cp.api<{ items: StatusItem[] }>('GET', `/api/v1/fleets/${fleet}/status`);
    return res.body.items.find((i) => i.cluster === cluster);
  };
  const fleetView = async () => (await cp.api<FleetView>('GET', `/api/v1/fleets/${fleet}`)).body;
  const stageOf = async (name: string) => (await fleetView()).stages.find((s) => s.name === name)!;
  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    timeoutMs = 60_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const result = await probe();
      if (result) return result as T;
      await sleep(250);
    }
    const status = await cp.api('GET', `/api/v1/fleets/${fleet}/status`);
    const logs = [...agents.values()].map((a) => `--- ${a.name}\n${a.tail(10)}`).join('\n');
    throw new Error(`timed out waiting for ${what}\nstatus: ${JSON.stringify(status.body)}\n${logs}`);
  };
  const readyAt = (cluster: string, revision: string) =>
    waitFor(`${cluster} Ready at ${revision.slice(0, 7)}`, async () => {
      const s = await statusOf(cluster);
      return s?.phase === 'Ready' && s.appliedRevision === revision ? s : undefined;
    });
  const push = async (files: Record<string, string | null>, message: string) => {
    const sha = await git.commit(repo, files, message, {
      author: { name: 'Pat Person', email: 'pat@example.com' },
    });
    await cp.api('POST', `/api/v1/fleets/${fleet}/sync`);
    return sha;
  };
  const promote = (body: { stage: string; revision?: string; reason?: string }) =>
    cp.api<Promotion & ApiErrorBody>('POST', `/api/v1/fleets/${fleet}/promotions`, body);
  const configValue = (cluster: string, name: string, key: string) =>
    kubectlOf(cluster)([
      'get',
      'configmap',
      name,
      '-n',
      `shop-${cluster}`,
      '--ignore-not-found',
      '-o',
      `jsonpath={.data.${key}}`,
    ]);
  const appliedCount = (cluster: string) =>
    readFileSync(agents.get(cluster)!.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"msg":"applied"')).length;

  before(async () => {
    assert.ok(k3, 'this suite needs three kube clusters (GITFLEET_TEST_CLUSTERS=3)');
    git = await startGitServer();
    proxy = await startGitProxy(git.url);
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    unsubscribe = await cp.cp.events.subscribe((e) => events.push(e));
    for (const m of members) await kubectlFor(m.kube.kubeconfig)(['create', 'namespace', m.agentNs]);
  });

  after(async () => {
    unsubscribe?.();
    for (const a of agents.values()) await a.stop();
    await cp?.stop();
    await proxy?.stop();
    await git?.stop();
    for (const m of members) {
      await kubectlFor(m.kube.kubeconfig)([
        'delete',
        'namespace',
        m.agentNs,
        `shop-${m.name}`,
        '--wait=false',
        '--ignore-not-found',
      ]).catch(() => {});
    }
  });

  it('four clusters in three stages become Ready: dev at the head, staging and prod at their pins', async () => {
    const files = Object.fromEntries(
      Object.entries(manifests('v1')).filter((e): e is [string, string] => e[1] !== null),
    );
    rev.v1 = await git.createRepo(repo, { 'fleet.yaml': fleetYaml(), ...files });
    rev.pin = await git.commit(repo, { 'fleet.yaml': fleetYaml({ staging: rev.v1, prod: rev.v1 }) }, 'pin');

    for (const m of members) {
      const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name: m.name,
        labels: { promo: id, env: m.env },
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      agents.set(
        m.name,
        startAgentProcess({
          name: m.name,
          kubeconfig: m.kube.kubeconfig,
          controlPlane: cp.grpcAddress,
          caPem: cp.caPem,
          namespace: m.agentNs,
          bootstrapToken: reg.body.bootstrapToken,
        }),
      );
    }
    const created = await cp.api<{ errors: unknown[] }>('POST', '/api/v1/fleets', {
      name: fleet,
      repo: `${proxy.url}/${repo}.git`,
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.errors, []);

    await readyAt(dev, rev.pin);
    for (const c of [stg, prodA, prodB]) await readyAt(c, rev.v1);
    // Two prod clusters on one kube-apiserver, each in its own namespace.
    assert.equal(await configValue(prodA, 'web-config', 'stage'), 'prod');
    assert.equal(await configValue(prodB, 'web-config', 'greeting'), 'v1');
  });

  it('a push reaches dev only', async () => {
    rev.v2 = await push(manifests('v2'), 'greet with v2');
    await readyAt(dev, rev.v2);
    assert.equal(await configValue(dev, 'web-config', 'greeting'), 'v2');
    for (const c of [stg, prodA, prodB]) {
      assert.equal(await configValue(c, 'web-config', 'greeting'), 'v1');
      assert.equal((await statusOf(c))?.desiredRevision, rev.v1);
    }
  });

  it('promotes to staging with a commit, while a person pushes at the same moment: both commits land', async () => {
    const appliedBefore = appliedCount(dev);
    const objectsBefore = (await statusOf(dev))!.objects.map((o) => `${o.kind}/${o.name}:${o.action}`);
    const versionBefore = await kubectlOf(dev)([
      'get',
      'configmap',
      'web-config',
      '-n',
      `shop-${dev}`,
      '-o',
      'jsonpath={.metadata.resourceVersion}',
    ]);
    const pushesBefore = proxy.pushes;
    proxy.beforeNextPush(async () => {
      rev.readme = await git.commit(repo, { 'README.md': '# shop\n' }, 'docs: a README', {
        author: { name: 'Pat Person', email: 'pat@example.com' },
      });
    });

    const res = await promote({ stage: 'staging', reason: 'v2 soaked in dev' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const p = res.body;
    assert.equal(p.stage, 'staging');
    assert.equal(p.revision, rev.v2, 'without a revision, the one dev runs');
    assert.equal(p.from, 'dev');
    assert.deepEqual(p.author, { name: 'alice', email: 'alice@gitfleet.local' });
    assert.match(p.message, new RegExp(`^promote staging to ${rev.v2.slice(0, 7)}\n\nv2 soaked in dev\n\n`));
    assert.match(p.id, /^[0-9a-f-]{36}$/);
    rev.promoteStaging = p.commit;

    // The first push was overtaken by the person's and retried on top of it: nothing lost.
    assert.ok(rev.readme, 'the person pushed during the promotion');
    assert.ok(proxy.pushes >= pushesBefore + 2, `pushes: ${proxy.pushes - pushesBefore}`);
    const log = await git.log(repo);
    assert.deepEqual(
      log.slice(0, 3).map((c) => c.sha),
      [p.commit, rev.readme, rev.v2],
    );
    assert.equal(log[0]!.author, 'alice');
    assert.equal(log[0]!.email, 'alice@gitfleet.local');
    assert.match(log[0]!.body, new RegExp(`Gitfleet-Promotion-Id: ${p.id}`));
    assert.match(log[0]!.body, /Gitfleet-Stage: staging/);
    assert.match(log[0]!.body, new RegExp(`Gitfleet-Revision: ${rev.v2}`));
    assert.match(await git.readFile(repo, 'README.md'), /# shop/);
    // One line of fleet.yaml changed: the staging pin.
    assert.equal(
      await git.readFile(repo, 'fleet.yaml'),
      fleetYaml({ staging: rev.v1, prod: rev.v1 }).replace(`revision: ${rev.v1}`, `revision: ${rev.v2}`),
    );

    await readyAt(stg, rev.v2);
    assert.equal(await configValue(stg, 'web-config', 'greeting'), 'v2');
    assert.equal(await configValue(prodA, 'web-config', 'greeting'), 'v1');

    // dev follows the head: it now runs the promotion commit, whose bundle is the one it has
    // (only fleet.yaml and a README changed), so the agent applied nothing.
    const devStatus = await readyAt(dev, p.commit);
    assert.equal(appliedCount(dev), appliedBefore, agents.get(dev)!.tail(10));
    assert.deepEqual(
      devStatus.objects.map((o) => `${o.kind}/${o.name}:${o.action}`),
      objectsBefore,
    );
    assert.equal(
      await kubectlOf(dev)([
        'get',
        'configmap',
        'web-config',
        '-n',
        `shop-${dev}`,
        '-o',
        'jsonpath={.metadata.resourceVersion}',
      ]),
      versionBefore,
    );
  });

  it('refuses to promote to prod what staging does not run Ready, and accepts it once it does', async () => {
    rev.v3 = await push(manifests('v3'), 'greet with v3');
    await readyAt(dev, rev.v3);

    const refused = await promote({ stage: 'prod', revision: rev.v3 });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'PromotionRefused');
    assert.equal(refused.body.details?.requires, 'staging');
    assert.deepEqual(refused.body.details?.notReady, [{ cluster: stg, phase: 'Ready', revision: rev.v2 }]);
    assert.match(refused.body.message, new RegExp(stg));
    const head = (await git.log(repo))[0]!.sha;

    // Two promotions of the same revision at once: one commit, the other is told.
    const both = await Promise.all([
      promote({ stage: 'staging', revision: rev.v3.slice(0, 10) }),
      promote({ stage: 'staging', revision: rev.v3 }),
    ]);
    assert.deepEqual(both.map((r) => r.status).sort(), [201, 409], JSON.stringify(both.map((r) => r.body)));
    const made = both.find((r) => r.status === 201)!.body;
    assert.equal(made.revision, rev.v3, 'an abbreviated revision is written in full');
    assert.equal(both.find((r) => r.status === 409)!.body.code, 'Conflict');
    const log = await git.log(repo);
    assert.deepEqual(
      log.slice(0, 2).map((c) => c.sha),
      [made.commit, head],
    );

    await readyAt(stg, rev.v3);
    const accepted = await promote({ stage: 'prod', reason: 'v3 is fine in staging' });
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    assert.equal(accepted.body.revision, rev.v3, 'without a revision, the one staging runs');
    assert.equal(accepted.body.from, 'staging');
  });

  it('rolls prod out one cluster at a time', async () => {
    await readyAt(prodA, rev.v3);
    await readyAt(prodB, rev.v3);
    // The last Ready report is re-planned (and the event delivered) just after it is stored.
    const prod = await waitFor('prod rollout complete', async () => {
      const s = await stageOf('prod');
      const done = events.some(
        (e) => e.type === 'RolloutComplete' && e.stage === 'prod' && e.revision === rev.v3,
      );
      return s.rollout?.state === 'complete' && done ? s : undefined;
    });
    assert.equal(prod.rollout?.waves, 2);

    // prod-b was moved only after prod-a reported Ready at the new revision.
    const at = (match: (e: GitfleetEvent) => boolean) => events.findIndex(match);
    const aReady = at(
      (e) =>
        e.type === 'StatusChanged' && e.cluster === prodA && e.phase === 'Ready' && e.revision === rev.v3,
    );
    const aMoved = at(
      (e) => e.type === 'DesiredStateChanged' && e.cluster === prodA && e.revision === rev.v3,
    );
    const bMoved = at(
      (e) => e.type === 'DesiredStateChanged' && e.cluster === prodB && e.revision === rev.v3,
    );
    assert.ok(aMoved >= 0 && aReady > aMoved && bMoved > aReady, JSON.stringify({ aMoved, aReady, bMoved }));
    const rollout = events
      .filter((e) => e.fleet === fleet && e.stage === 'prod' && e.revision === rev.v3)
      .map((e) => `${e.type}: ${e.reason}`);
    assert.deepEqual(
      rollout.filter((r) => r.startsWith('Rollout')),
      ['RolloutProgressed: wave 1 of 2', 'RolloutProgressed: wave 2 of 2', 'RolloutComplete: wave 2 of 2'],
    );
  });

  it('a revision that fails in prod halts the rollout with the reason, and a rollback restores prod', async () => {
    // prod caps ConfigMaps per namespace (staging does not): the next revision adds one too many.
    for (const c of [prodA, prodB]) {
      const kubectl = kubectlOf(c);
      const ns = `shop-${c}`;
      const count = (await kubectl(['get', 'configmaps', '-n', ns, '-o', 'name'])).trim().split('\n').length;
      await kubectl(['create', 'quota', 'cap', '-n', ns, `--hard=count/configmaps=${count}`]);
      await waitFor(`quota in ${ns} counted`, async () => {
        const quota = JSON.parse(await kubectl(['get', 'resourcequota', 'cap', '-n', ns, '-o', 'json']));
        return quota.status?.used?.['count/configmaps'] === String(count);
      });
    }
    rev.v4 = await push(manifests('v3', true), 'add the extra config');
    await readyAt(dev, rev.v4);
    assert.equal((await promote({ stage: 'staging' })).status, 201);
    await readyAt(stg, rev.v4);
    assert.equal(await configValue(stg, 'extra', 'a'), '1');

    const promoted = await promote({ stage: 'prod' });
    assert.equal(promoted.status, 201, JSON.stringify(promoted.body));
    assert.equal(promoted.body.revision, rev.v4);
    rev.promoteProdBad = promoted.body.commit;

    const halted = await waitFor('prod rollout halted', async () => {
      const s = await stageOf('prod');
      return s.rollout?.state === 'halted' ? s.rollout : undefined;
    });
    assert.match(
      halted.reason ?? '',
      new RegExp(`cluster '${prodA}' is Failed at revision ${rev.v4.slice(0, 7)}`),
    );
    assert.equal(halted.wave, 1);
    const a = await statusOf(prodA);
    assert.equal(a?.phase, 'Failed');
    assert.match(a?.message ?? '', /exceeded quota/);
    await waitFor('a RolloutHalted event with the reason', async () =>
      events.some((e) => e.type === 'RolloutHalted' && e.stage === 'prod' && e.reason === halted.reason),
    );
    // The second wave never started: prod-b still runs v3 and was never sent v4.
    const b = await statusOf(prodB);
    assert.equal(b?.desiredRevision, rev.v3);
    assert.equal(b?.phase, 'Ready');
    assert.ok(!events.some((e) => e.cluster === prodB && e.revision === rev.v4));

    const rollback = await cp.api<Promotion>('POST', `/api/v1/fleets/${fleet}/rollbacks`, { stage: 'prod' });
    assert.equal(rollback.status, 201, JSON.stringify(rollback.body));
    assert.equal(rollback.body.kind, 'rollback');
    assert.equal(rollback.body.revision, rev.v3);
    assert.equal(rollback.body.rollbackOf, rev.promoteProdBad);
    assert.match(rollback.body.message, new RegExp(`^roll back prod to ${rev.v3.slice(0, 7)}`));
    rev.rollback = rollback.body.commit;
    // A new commit on top, nothing rewritten.
    const log = await git.log(repo);
    assert.equal(log[0]!.sha, rev.rollback);
    assert.ok(log.some((c) => c.sha === rev.promoteProdBad));

    await readyAt(prodA, rev.v3);
    await waitFor('prod rollout complete at v3', async () => {
      const s = await stageOf('prod');
      return s.rollout?.state === 'complete' && s.rollout.revision === rev.v3;
    });
    assert.equal(await configValue(prodA, 'extra', 'a'), '');
    assert.equal((await statusOf(prodB))?.appliedRevision, rev.v3);

    // dev follows the head: nothing pinned, nothing to roll back.
    const none = await cp.api<ApiErrorBody>('POST', `/api/v1/fleets/${fleet}/rollbacks`, { stage: 'dev' });
    assert.equal(none.status, 409);
    assert.equal(none.body.code, 'RollbackRefused');
    assert.match(none.body.message, /follows the head/);
  });

  it('people can do the same by pull request: a hand edit of fleet.yaml moves the stage', async () => {
    const current = await git.readFile(repo, 'fleet.yaml');
    const edited = current.replace(
      new RegExp(`(name: staging\\n(?:.*\\n)*?\\s+revision: )${rev.v4}`),
      `$1${rev.v3}`,
    );
    assert.notEqual(edited, current);
    rev.handEdit = await push({ 'fleet.yaml': edited }, 'staging back to v3 (reviewed in PR #7)');
    await readyAt(stg, rev.v3);
    // v3 has no `extra`: the agent pruned it.
    await waitFor('extra pruned in staging', async () => (await configValue(stg, 'extra', 'a')) === '');
    assert.equal((await stageOf('staging')).revision, rev.v3);
  });

  it('the promotion history in the API is `git log fleet.yaml` of the promotion commits', async () => {
    const res = await cp.api<{ items: Promotion[] }>('GET', `/api/v1/fleets/${fleet}/promotions`);
    assert.equal(res.status, 200);
    const log = (await git.log(repo, { path: 'fleet.yaml' })).filter((c) =>
      c.body.includes('Gitfleet-Promotion-Id:'),
    );
    assert.deepEqual(
      res.body.items.map((p) => p.commit),
      log.map((c) => c.sha),
    );
    assert.equal(res.body.items.length, 6);
    assert.deepEqual(
      res.body.items.map((p) => `${p.kind} ${p.stage} ${p.revision.slice(0, 7)}`),
      [
        `rollback prod ${rev.v3.slice(0, 7)}`,
        `promotion prod ${rev.v4.slice(0, 7)}`,
        `promotion staging ${rev.v4.slice(0, 7)}`,
        `promotion prod ${rev.v3.slice(0, 7)}`,
        `promotion staging ${rev.v3.slice(0, 7)}`,
        `promotion staging ${rev.v2.slice(0, 7)}`,
      ],
    );
    for (const [i, p] of res.body.items.entries()) {
      assert.equal(p.author.name, log[i]!.author);
      assert.equal(p.author.email, log[i]!.email);
      assert.equal(p.message.split('\n')[0], log[i]!.subject);
      assert.match(log[i]!.body, new RegExp(`Gitfleet-Promotion-Id: ${p.id}`));
    }
    // The hand edit changed fleet.yaml but is not a promotion commit.
    assert.ok(!res.body.items.some((p) => p.commit === rev.handEdit));
  });

  it('a rollout halts at its progressDeadline even when no status ever arrives', async () => {
    const name = `deadline-${id}`;
    await git.createRepo(name, {
      'fleet.yaml': `stages:\n  - name: canary\n    selector: { matchLabels: { deadline: "${id}" } }\n    rollout: { maxUnavailable: 1, progressDeadline: 2s }\n`,
      'manifests/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: default\n`,
    });
    // A registered cluster whose agent never comes: nothing will ever report.
    const reg = await cp.api('POST', '/api/v1/clusters', { name: `ghost-${id}`, labels: { deadline: id } });
    assert.equal(reg.status, 201);
    const created = await cp.api('POST', '/api/v1/fleets', {
      name,
      repo: git.repoUrl(name),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const reason = await waitFor(
      'canary halted by its deadline',
      async () => {
        const view = (await cp.api<FleetView>('GET', `/api/v1/fleets/${name}`)).body;
        const rollout = view.stages[0]?.rollout;
        return rollout?.state === 'halted' ? rollout.reason : undefined;
      },
      30_000,
    );
    assert.match(
      reason ?? '',
      new RegExp(`cluster 'ghost-${id}' is not Ready 2s after being moved \\(no status reported\\)`),
    );
    assert.equal((await cp.api('DELETE', `/api/v1/fleets/${name}`)).status, 204);
  });
});
