// The quick start the way a new user lives it, through the README's first command and then
// only the `gitfleet` CLI and git: `make up` runs scripts/quickstart.ts; the user logs in,
// sees the fleet Ready, clones the example repository, pushes a change, sees it arrive in dev,
// promotes it to prod and waits for the rollout, then stops everything with Ctrl-C.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { environmentFromEnv } from '../src/environment.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import { tempDir } from '../src/process.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const home = tempDir('quickstart-user');
// HOME stays as it is (the Kubernetes binaries are cached under it); the user's CLI config
// and git identity are the test's own.
const env = {
  ...process.env,
  GITFLEET_CONFIG: join(home, 'gitfleet.json'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: join(home, 'gitconfig'),
  GIT_AUTHOR_NAME: 'New User',
  GIT_AUTHOR_EMAIL: 'new.user@example.com',
  GIT_COMMITTER_NAME: 'New User',
  GIT_COMMITTER_EMAIL: 'new.user@example.com',
};

async function gitfleet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, 'cli/src/main.ts'), ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface StatusJson {
  items: { cluster: string; stage: string; phase: string; appliedRevision: string | null }[];
}

describe('the quick start, as a new user', () => {
  const up = spawn(process.execPath, [join(root, 'scripts/quickstart.ts'), '--clusters', '2'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  up.stdout.on('data', (d) => {
    out += d;
  });
  up.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => up.on('exit', resolve));
  let server = '';
  let token = '';
  let gitUrl = '';

  before(async () => {
    for (let i = 0; i < 600 && !out.includes('gitfleet is running'); i++) {
      if (up.exitCode !== null) throw new Error(`quick start exited:\n${out}`);
      await sleep(500);
    }
    assert.match(out, /gitfleet is running/, out);
    server = /REST API +(\S+)/.exec(out)?.[1] ?? '';
    token = /admin token: (\S+)\)/.exec(out)?.[1] ?? '';
    gitUrl = /Git +(\S+)/.exec(out)?.[1] ?? '';
  });

  after(async () => {
    if (up.exitCode === null) up.kill('SIGINT');
    await exited;
    rmSync(home, { recursive: true, force: true });
  });

  it('prints what to do next and logs in with the printed token', async () => {
    assert.match(out, /cluster +dev-1 \{"env":"dev"\}/);
    assert.match(out, /cluster +prod-1 \{"env":"prod"\}/);
    assert.ok(server && token && gitUrl, out);
    const login = await gitfleet('login', '--server', server, '--token', token);
    assert.equal(login.code, 0, login.stderr);
    const clusters = await gitfleet('cluster', 'list');
    assert.equal(clusters.code, 0, clusters.stderr);
    assert.match(clusters.stdout, /dev-1/);
    assert.match(clusters.stdout, /prod-1/);
  });

  it('shows the example fleet Ready on both clusters', async () => {
    const status = await gitfleet('fleet', 'status', 'quickstart', '-o', 'json');
    assert.equal(status.code, 0, status.stderr);
    const items = (JSON.parse(status.stdout) as StatusJson).items;
    assert.deepEqual(items.map((i) => [i.cluster, i.stage, i.phase]).sort(), [
      ['dev-1', 'dev', 'Ready'],
      ['prod-1', 'prod', 'Ready'],
    ]);
  });

  it('shows the Helm fleet beside it: the podinfo chart from the local Helm repository, per-stage values', async () => {
    const status = await gitfleet('fleet', 'status', 'quickstart-helm', '-o', 'json');
    assert.equal(status.code, 0, status.stderr);
    const items = (JSON.parse(status.stdout) as StatusJson).items;
    assert.deepEqual(items.map((i) => [i.cluster, i.stage, i.phase]).sort(), [
      ['dev-1', 'dev', 'Ready'],
      ['prod-1', 'prod', 'Ready'],
    ]);
    const detail = await gitfleet('fleet', 'get', 'quickstart-helm');
    assert.equal(detail.code, 0, detail.stderr);
    assert.match(detail.stdout, /Source:\s+helm/);
    assert.match(detail.stdout, /Chart version:\s+6\.14\.1/);
    assert.match(out, /Helm repo +http:\/\/127\.0\.0\.1:\d+ .*podinfo 6\.14\.1/);
    assert.match(out, /OCI registry +oci:\/\/127\.0\.0\.1:\d+/);
    const kubeconfigOf = (cluster: string) =>
      new RegExp(`cluster +${cluster} .* kubectl --kubeconfig (\\S+)`).exec(out)?.[1] ?? '';
    for (const [cluster, stage, replicas] of [
      ['dev-1', 'dev', '1'],
      ['prod-1', 'prod', '2'],
    ] as const) {
      const kubectl = kubectlFor(kubeconfigOf(cluster));
      const deployment = JSON.parse(
        await kubectl(['get', 'deployment', 'podinfo', '-n', `podinfo-helm-${stage}`, '-o', 'json']),
      ) as {
        spec: {
          replicas: number;
          template: { spec: { containers: { env?: { name: string; value: string }[] }[] } };
        };
      };
      assert.equal(String(deployment.spec.replicas), replicas, cluster);
      const message = deployment.spec.template.spec.containers[0]?.env?.find(
        (e) => e.name === 'PODINFO_UI_MESSAGE',
      );
      assert.equal(message?.value, `hello from ${cluster} (${stage}), by Helm`);
    }
  });

  it('a pushed edit arrives in dev; promoting it rolls it out to prod', async () => {
    const work = join(home, 'quickstart');
    await run('git', ['clone', '-q', gitUrl, work], { env });
    const file = join(work, 'manifests/config.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('hello from', 'bonjour de'));
    await run('git', ['-C', work, 'commit', '-qam', 'say bonjour'], { env });
    await run('git', ['-C', work, 'push', '-q', 'origin', 'HEAD:main'], { env });
    const sha = (await run('git', ['-C', work, 'rev-parse', 'HEAD'], { env })).stdout.trim();

    const sync = await gitfleet('fleet', 'sync', 'quickstart');
    assert.equal(sync.code, 0, sync.stderr);
    let dev: StatusJson['items'][number] | undefined;
    for (let i = 0; i < 120; i++) {
      const s = JSON.parse(
        (await gitfleet('fleet', 'status', 'quickstart', '-o', 'json')).stdout,
      ) as StatusJson;
      dev = s.items.find((x) => x.cluster === 'dev-1');
      if (dev?.phase === 'Ready' && dev.appliedRevision === sha) break;
      await sleep(500);
    }
    assert.equal(dev?.appliedRevision, sha, 'the push reached dev');

    const promote = await gitfleet('promote', 'quickstart', 'prod', '--wait', '--timeout', '3m');
    assert.equal(promote.code, 0, `${promote.stdout}\n${promote.stderr}`);
    const after = JSON.parse(
      (await gitfleet('fleet', 'status', 'quickstart', '-o', 'json')).stdout,
    ) as StatusJson;
    const prod = after.items.find((x) => x.cluster === 'prod-1');
    assert.equal(prod?.phase, 'Ready');
    assert.equal(prod?.appliedRevision, sha, 'prod runs the promoted revision');
  });

  it('Ctrl-C stops everything it started', async () => {
    up.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.match(out, /stopping everything/);
  });
});

describe('the quick start against a cluster the user already has', () => {
  it('installs one agent with the given kubeconfig and gets the example fleet Ready', async () => {
    const [cluster] = environmentFromEnv().clusters;
    assert.ok(cluster, 'the environment has a cluster');
    const child = spawn(
      process.execPath,
      [join(root, 'scripts/quickstart.ts'), '--once', '--kubeconfig', cluster.kubeconfig],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
    });
    child.stderr.on('data', (d) => {
      text += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, text);
    assert.match(text, /cluster +my-cluster \{"env":"dev"\}/);
    assert.doesNotMatch(text, /starting \d+ local Kubernetes clusters/);
    // What it applied is there, in the user's cluster, as kubectl shows it.
    const cm = await kubectlFor(cluster.kubeconfig)([
      'get',
      'configmap',
      'podinfo-config',
      '-n',
      'podinfo-dev',
      '-o',
      'jsonpath={.data.PODINFO_UI_MESSAGE}',
    ]);
    assert.equal(cm, 'hello from my-cluster (dev)');
    await kubectlFor(cluster.kubeconfig)([
      'delete',
      'namespace',
      'podinfo-dev',
      'podinfo-helm-dev',
      'gitfleet-system',
      '--wait=false',
    ]);
  });
});
