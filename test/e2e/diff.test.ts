// Preview diffs (issue #15) with real parts: a branch of the fleet's repository is rendered by
// the control plane, each cluster's real agent dry-runs it on its real kube-apiserver, and the
// API and the CLI show per object what would be created, changed (a field-level diff) and
// pruned, before anything is merged. Secret values never appear; a cluster whose agent is not
// connected says so. Nothing in the clusters changes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { runGitfleet } from '../src/gitfleet-cli.ts';
import { defaultBinDir, kubectlFor } from '../src/kube/kubectl.ts';
import { webDeployment } from '../src/manifests.ts';
import type { ManagedProcess } from '../src/process.ts';
import { toolPath } from '../src/toolchain.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const fleet = `diff-${id}`;
const ns = `diff-${id}`;

const cm = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n${Object.entries(
    data,
  )
    .map(([k, v]) => `  ${k}: "${v}"`)
    .join('\n')}\n`;
const secret = (data: Record<string, string>) =>
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: ${ns}\nstringData:\n${Object.entries(
    data,
  )
    .map(([k, v]) => `  ${k}: "${v}"`)
    .join('\n')}\n`;

const service = `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ${ns}\nspec:\n  selector: { app: web }\n  ports:\n    - port: 80\n      targetPort: 9898\n`;
const newImage = (yaml: string) => yaml.replace('podinfo:6.7.0', 'podinfo:6.7.1');

/** The + and - lines of a unified diff, without the markers and indentation, sorted. */
function changedLines(diff: string): string[] {
  return diff
    .split('\n')
    .filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+)/.test(l))
    .map((l) => `${l[0]}${l.slice(1).trim().replace(/^- /, '')}`)
    .sort();
}

/** `kubectl diff --server-side` as the agent's field manager; exit 1 means "differences". */
function kubectlDiffServerSide(kubeconfig: string, manifest: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      toolPath(defaultBinDir(), 'kubectl'),
      [
        '--kubeconfig',
        kubeconfig,
        'diff',
        '--server-side',
        '--field-manager=gitfleet',
        '--force-conflicts',
        '-f',
        '-',
      ],
      { env: { ...process.env, KUBECTL_EXTERNAL_DIFF: 'diff -u -N' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('close', (code) =>
      code === 0 || code === 1 ? resolve(out) : reject(new Error(`kubectl diff: ${err}`)),
    );
    child.stdin.end(manifest);
  });
}

interface ObjectDiff {
  kind: string;
  name: string;
  change: string;
  diff: string;
  message: string;
  changedKeys: string[];
}
interface FleetDiff {
  revision: string;
  changed: boolean;
  clusters: {
    cluster: string;
    stage: string;
    outcome: string;
    message: string;
    summary: Record<string, number>;
    objects: ObjectDiff[];
  }[];
}

describe('preview diff of a branch, by the agents', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let agent: ManagedProcess | undefined;
  const cluster = env.clusters[0]!;
  const kubectl = kubectlFor(cluster.kubeconfig);
  const agentNs = `gitfleet-diff-${id}`;
  const connected = `diff-a-${id}`;
  const offline = `diff-b-${id}`;
  let main = '';
  let server = '';

  const cli = (args: string[]) => runGitfleet(args, server, cp.adminToken);

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    await cp.app.listen({ host: '127.0.0.1', port: 0 });
    server = `http://127.0.0.1:${(cp.app.server.address() as AddressInfo).port}`;
    await kubectl(['create', 'namespace', agentNs]);
  });

  after(async () => {
    await agent?.stop();
    await cp?.stop();
    await git?.stop();
    await kubectl(['delete', 'namespace', agentNs, ns, '--wait=false', '--ignore-not-found']).catch(() => {});
  });

  it('applies the main branch on a real cluster', async () => {
    main = await git.createRepo(fleet, {
      'fleet.yaml': `stages:\n  - name: prod\n    selector: { matchLabels: { diff: "${id}" } }\n`,
      'manifests/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
      'manifests/settings.yaml': cm('settings', { color: 'blue', size: 'small' }),
      'manifests/old.yaml': cm('old', { a: '1' }),
      'manifests/secret.yaml': secret({ password: 'hunter2-original', user: 'app' }),
      'manifests/web.yaml': webDeployment(ns, 1),
      'manifests/service.yaml': service,
    });
    const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: connected,
      labels: { diff: id },
    });
    assert.equal(reg.status, 201);
    // A second cluster of the stage whose agent never connects.
    assert.equal(
      (await cp.api('POST', '/api/v1/clusters', { name: offline, labels: { diff: id } })).status,
      201,
    );
    agent = startAgentProcess({
      name: connected,
      kubeconfig: cluster.kubeconfig,
      controlPlane: cp.grpcAddress,
      caPem: cp.caPem,
      namespace: agentNs,
      bootstrapToken: reg.body.bootstrapToken,
    });
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await cp.api<{ items: { cluster: string; phase: string; appliedRevision: string }[] }>(
        'GET',
        `/api/v1/fleets/${fleet}/status`,
      );
      const mine = s.body.items.find((i) => i.cluster === connected);
      if (mine?.phase === 'Ready' && mine.appliedRevision === main) break;
      if (Date.now() > deadline) throw new Error(`not Ready: ${JSON.stringify(s.body)}\n${agent.tail(20)}`);
      await sleep(250);
    }
  });

  it('shows what a branch would change: a field-level diff, a new object, a pruned one, Secret keys but no values', async () => {
    const branch = `feature-${id}`;
    const head = await git.commit(
      fleet,
      {
        'manifests/settings.yaml': cm('settings', { color: 'green', size: 'small' }),
        'manifests/new.yaml': cm('new', { b: '2' }),
        'manifests/old.yaml': null,
        'manifests/secret.yaml': secret({ password: 'hunter2-rotated', user: 'app' }),
        'manifests/web.yaml': newImage(webDeployment(ns, 1)),
        'manifests/service.yaml': null,
      },
      'feature',
      { branch },
    );
    const res = await cp.api<FleetDiff>('GET', `/api/v1/fleets/${fleet}/diff?revision=${branch}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.revision, head);
    assert.equal(res.body.changed, true);
    const mine = res.body.clusters.find((c) => c.cluster === connected);
    assert.equal(mine?.outcome, 'compared', JSON.stringify(mine));
    const byName = new Map(mine!.objects.map((o) => [`${o.kind}/${o.name}`, o]));
    const settings = byName.get('ConfigMap/settings');
    assert.equal(settings?.change, 'changed');
    assert.match(settings!.diff, /^-\s+color: blue$/m);
    assert.match(settings!.diff, /^\+\s+color: green$/m);
    assert.doesNotMatch(settings!.diff, /^[-+]\s+size:/m, 'unchanged fields are context, not changes');
    assert.doesNotMatch(settings!.diff, /managedFields|resourceVersion|creationTimestamp/);
    assert.equal(byName.get('ConfigMap/new')?.change, 'created');
    assert.match(byName.get('ConfigMap/new')!.diff, /^\+\s+b: "2"$/m);
    assert.equal(byName.get('ConfigMap/old')?.change, 'deleted');
    assert.equal(byName.get(`Namespace/${ns}`)?.change, 'unchanged');
    const creds = byName.get('Secret/creds');
    assert.equal(creds?.change, 'changed');
    assert.deepEqual(creds!.changedKeys, ['password']);
    assert.deepEqual(mine!.summary, { created: 1, changed: 3, deleted: 2, unchanged: 1, failed: 0 });
    assert.equal(byName.get('Service/web')?.change, 'deleted');

    // The Deployment's diff says what `kubectl diff --server-side` says for the same change,
    // as the same field manager (the lines that change, whatever the YAML indentation).
    const web = byName.get('Deployment/web');
    assert.equal(web?.change, 'changed');
    const desiredWeb = newImage(webDeployment(ns, 1)).replace(
      'metadata:\n  name: web\n',
      `metadata:\n  name: web\n  labels:\n    gitfleet.dev/fleet: ${fleet}\n`,
    );
    const kubectlDiff = await kubectlDiffServerSide(cluster.kubeconfig, desiredWeb);
    // kubectl shows the generation the server would bump; gitfleet leaves server-kept fields out.
    const theirs = changedLines(kubectlDiff).filter((l) => !l.includes('generation:'));
    assert.deepEqual(changedLines(web!.diff), theirs, `gitfleet:\n${web!.diff}\nkubectl:\n${kubectlDiff}`);
    assert.ok(theirs.some((l) => l.includes('podinfo:6.7.1')));
    const text = JSON.stringify(res.body);
    for (const value of ['hunter2', Buffer.from('hunter2-rotated').toString('base64'), 'aHVudGVy']) {
      assert.ok(!text.includes(value), `no Secret value (${value}) in the diff`);
    }
    const other = res.body.clusters.find((c) => c.cluster === offline);
    assert.equal(other?.outcome, 'not-connected');

    // Nothing changed in the cluster: it is a preview.
    const live = JSON.parse(await kubectl(['get', 'configmap', 'settings', '-n', ns, '-o', 'json'])) as {
      data: Record<string, string>;
    };
    assert.equal(live.data.color, 'blue');
    assert.ok((await kubectl(['get', 'configmap', 'old', '-n', ns, '-o', 'name'])).includes('old'));

    // The CLI: exit 1 and the same diff for people; exit 0 for the main branch, which runs.
    const changed = await cli(['diff', fleet, '--revision', branch, '--cluster', connected]);
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(
      changed.stdout,
      /cluster diff-a-\w+ \(stage prod\): 1 created, 3 changed, 2 deleted, 1 unchanged/,
    );
    assert.match(changed.stdout, /~ ConfigMap\/diff-\w+\/settings/);
    assert.match(changed.stdout, /secret keys changed: password/);
    assert.doesNotMatch(changed.stdout, /hunter2/);
    const same = await cli(['diff', fleet, '--revision', main, '--cluster', connected]);
    assert.equal(same.code, 0, `${same.stdout}${same.stderr}`);
    assert.match(same.stdout, /No changes\./);
  });

  it('is answered through the replica that holds the agent stream, whichever replica is asked', async () => {
    const other = await startTestControlPlane({ redisUrl: env.redisUrl, replicaOf: cp });
    try {
      const res = await other.api<FleetDiff>(
        'GET',
        `/api/v1/fleets/${fleet}/diff?revision=feature-${id}&cluster=${connected}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.clusters[0]?.outcome, 'compared', JSON.stringify(res.body.clusters[0]));
      assert.equal(res.body.clusters[0]?.summary.changed, 3);
    } finally {
      await other.stop();
    }
  });

  it('refuses a revision that does not exist or is not good, saying what to fix', async () => {
    const missing = await cp.api<{ code: string; message: string }>(
      'GET',
      `/api/v1/fleets/${fleet}/diff?revision=no-such-branch-${id}`,
    );
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
    assert.equal(missing.body.code, 'RevisionNotFound');
    const bad = await git.commit(fleet, { 'fleet.yaml': 'stages: [oops' }, 'broken', { branch: `bad-${id}` });
    const invalid = await cp.api<{ code: string; message: string }>(
      'GET',
      `/api/v1/fleets/${fleet}/diff?revision=bad-${id}`,
    );
    assert.equal(invalid.status, 422, JSON.stringify(invalid.body));
    assert.equal(invalid.body.code, 'InvalidRevision');
    assert.match(invalid.body.message, new RegExp(`^${bad.slice(0, 7)} is not a good revision`));
  });
});
