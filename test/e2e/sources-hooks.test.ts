// Helm's install and upgrade hooks, run by a real agent as `helm install`/`helm upgrade` would:
// pre- hooks before any object of the release is applied (a failing one leaves the release as
// it was), post- hooks after it, in weight order, with hook-delete-policy honoured; hooks are
// not part of the release (never pruned or drift-corrected), and kwok completes Job pods so
// hook Jobs finish in the test clusters.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import type { ManagedProcess } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');

const hookJob = (
  name: string,
  hook: string,
  extra: { weight?: number; policy?: string; fail?: boolean } = {},
) => `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  annotations:
    helm.sh/hook: ${hook}
${extra.weight !== undefined ? `    helm.sh/hook-weight: "${extra.weight}"\n` : ''}${extra.policy ? `    helm.sh/hook-delete-policy: ${extra.policy}\n` : ''}spec:
  backoffLimit: 0
${extra.fail ? '  activeDeadlineSeconds: 1\n' : ''}  template:
    spec:
      restartPolicy: Never
${extra.fail ? '      nodeSelector: { gitfleet.dev/no-such-node: "true" }\n' : ''}      containers:
        - name: run
          image: registry.example/migrate:1.0
`;

const chart = (message: string, options: { failingPreUpgrade?: boolean } = {}) => ({
  'chart/Chart.yaml': 'apiVersion: v2\nname: hooked\nversion: 0.1.0\n',
  'chart/templates/app.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  message: ${JSON.stringify(message)}
`,
  'chart/templates/migrate.yaml': hookJob('migrate', 'pre-install,pre-upgrade', { weight: -5 }),
  'chart/templates/seed.yaml': hookJob('seed', 'post-install', { policy: 'hook-succeeded' }),
  'chart/templates/notify.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: notified
  annotations:
    helm.sh/hook: post-install,post-upgrade
data:
  message: ${JSON.stringify(message)}
`,
  ...(options.failingPreUpgrade
    ? { 'chart/templates/check.yaml': hookJob('check', 'pre-upgrade', { weight: 1, fail: true }) }
    : {}),
});

interface StatusItem {
  cluster: string;
  phase: string;
  appliedRevision: string | null;
  message: string;
  objects: { kind: string; name: string; reason: string; message: string }[];
}

describe('Helm hooks', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let agent: ManagedProcess;
  const cluster = env.clusters[0]!;
  const kubectl = kubectlFor(cluster.kubeconfig);
  const agentNs = `gitfleet-${id}`;
  const ns = `hooks-${id}`;
  const fleet = `hooks-${id}`;
  const clusterName = `${cluster.name}-${id}`;

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> => {
    const deadline = Date.now() + 90_000;
    let last: unknown;
    while (Date.now() < deadline) {
      last = await probe();
      if (last) return last as T;
      await sleep(300);
    }
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}\n${agent.tail(20)}`);
  };
  const status = async () =>
    (await cp.api<{ items: StatusItem[] }>('GET', `/api/v1/fleets/${fleet}/status`)).body.items.find(
      (i) => i.cluster === clusterName,
    );
  const get = async (kind: string, name: string) =>
    JSON.parse(await kubectl(['get', kind, name, '-n', ns, '-o', 'json'])) as {
      metadata: { uid: string; creationTimestamp: string };
      data?: Record<string, string>;
      status?: { succeeded?: number; completionTime?: string };
    };
  const exists = async (kind: string, name: string) =>
    (await kubectl(['get', kind, name, '-n', ns, '--ignore-not-found', '-o', 'name'])).trim() !== '';

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    await kubectl(['create', 'namespace', agentNs]);
    const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: clusterName,
      labels: { hooks: id },
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    agent = startAgentProcess({
      name: cluster.name,
      kubeconfig: cluster.kubeconfig,
      controlPlane: cp.grpcAddress,
      caPem: cp.caPem,
      namespace: agentNs,
      bootstrapToken: reg.body.bootstrapToken,
    });
  });

  after(async () => {
    await agent?.stop();
    await cp?.stop();
    await git?.stop();
    await kubectl(['delete', 'namespace', agentNs, ns, '--wait=false', '--ignore-not-found']).catch(() => {});
  });

  const fleetYaml = `helm:\n  chart: ./chart\n  namespace: ${ns}\nstages:\n  - name: all\n    selector: { matchLabels: { hooks: "${id}" } }\n`;

  it('install: pre-install Job completes before the release, post-install hooks after; hook-succeeded deletes', async () => {
    const head = await git.createRepo(fleet, { 'fleet.yaml': fleetYaml, ...chart('one') });
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const ready = await waitFor('Ready', async () => {
      const s = await status();
      return s?.phase === 'Ready' && s.appliedRevision === head ? s : undefined;
    });

    const migrate = await get('job', 'migrate');
    assert.equal(migrate.status?.succeeded, 1, 'the pre-install Job ran to completion');
    const app = await get('configmap', 'app');
    assert.equal(app.data?.message, 'one');
    // Created after the hook completed (the API server's times are whole seconds).
    assert.ok(
      Date.parse(app.metadata.creationTimestamp) >= Date.parse(migrate.status?.completionTime ?? ''),
      `${app.metadata.creationTimestamp} vs ${migrate.status?.completionTime}`,
    );
    assert.equal((await get('configmap', 'notified')).data?.message, 'one');
    // seed: post-install with hook-succeeded, so it is gone once it succeeded.
    assert.equal(await exists('job', 'seed'), false, 'seed is deleted after it succeeded');
    const hookObjects = ready.objects.filter((o) => o.reason === 'HookSucceeded').map((o) => o.name);
    assert.deepEqual(hookObjects.sort(), ['migrate', 'notified', 'seed']);
  });

  it('upgrade: a failing pre-upgrade hook leaves the release as it was; the fix replaces the old hook Job', async () => {
    const before = await get('job', 'migrate');
    const bad = await git.commit(
      fleet,
      chart('two', { failingPreUpgrade: true }),
      'a pre-upgrade check that fails',
    );
    await cp.api('POST', `/api/v1/fleets/${fleet}/sync`);
    const failed = await waitFor('the failing hook', async () => {
      const s = await status();
      return s?.phase === 'Failed' && /pre-upgrade/.test(s.message) ? s : undefined;
    });
    assert.match(failed.message, /Job\/hooks-[0-9a-f]+\/check failed/);
    assert.notEqual(failed.appliedRevision, bad);
    // Nothing of revision two was applied: the pre- hook gates the release.
    assert.equal((await get('configmap', 'app')).data?.message, 'one');
    assert.equal((await get('configmap', 'notified')).data?.message, 'one');
    // migrate (weight -5) ran again before check (weight 1): before-hook-creation replaced it.
    // The agent retries the failed release, and each try replaces migrate anew, so the Job
    // read here may be a later try that is still running: wait for one that completed.
    const rerun = await waitFor('migrate replaced and completed', async () => {
      const job = await get('job', 'migrate').catch(() => undefined);
      return job && job.metadata.uid !== before.metadata.uid && job.status?.succeeded === 1 ? job : undefined;
    });
    assert.notEqual(rerun.metadata.uid, before.metadata.uid);
    assert.equal(rerun.status?.succeeded, 1);

    const fixed = await git.commit(
      fleet,
      { ...chart('three'), 'chart/templates/check.yaml': null },
      'drop the check',
    );
    await cp.api('POST', `/api/v1/fleets/${fleet}/sync`);
    await waitFor('Ready at the fix', async () => {
      const s = await status();
      return s?.phase === 'Ready' && s.appliedRevision === fixed ? s : undefined;
    });
    assert.equal((await get('configmap', 'app')).data?.message, 'three');
    assert.equal((await get('configmap', 'notified')).data?.message, 'three', 'post-upgrade ran');
    assert.equal(await exists('job', 'seed'), false, 'post-install hooks do not run on upgrade');
    // The failed check Job stays as it was left (no hook-failed policy); it is not pruned,
    // since hooks are not part of the release.
    assert.equal(await exists('job', 'check'), true);
  });
});
