// The `gitfleet` CLI as people and scripts run it: a child process (cli/src/main.ts) talking
// HTTP to a real control plane listening on loopback, with a real Redis and a real Git server.
// Checks what it prints, what it saves, and the exit codes scripts rely on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Action, GITFLEET_VERSION, Health, Phase } from '@gitfleet/proto';
import { bearer, startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { freePort, tempDir } from '../src/process.ts';

const env = environmentFromEnv();
const CLI = resolve(import.meta.dirname, '../../cli/src/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('gitfleet CLI', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let server: string;
  const shop = `cli-shop-${randomBytes(3).toString('hex')}`;
  const home = tempDir('cli-home');
  const configFile = join(home, 'gitfleet', 'config.json');

  /** The environment of every CLI process: its own config file, no inherited server or token. */
  function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const { GITFLEET_SERVER: _s, GITFLEET_TOKEN: _t, GITFLEET_CONFIG: _c, ...rest } = process.env;
    return { ...rest, HOME: home, GITFLEET_CONFIG: configFile, NO_COLOR: '1', ...extra };
  }

  function gitfleet(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
    return new Promise<Run>((done, fail) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: childEnv(options.env),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => {
        stdout += c;
      });
      child.stderr.on('data', (c) => {
        stderr += c;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', fail);
      child.on('close', (code) => {
        clearTimeout(timer);
        done({ code, stdout, stderr });
      });
      child.stdin.end(options.stdin ?? '');
    });
  }

  /** Runs and insists on exit 0, showing stderr otherwise. */
  async function ok(args: string[], options?: { stdin?: string; env?: Record<string, string> }) {
    const r = await gitfleet(args, options);
    assert.equal(r.code, 0, `gitfleet ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r;
  }

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    await cp.app.listen({ host: '127.0.0.1', port: 0 });
    server = `http://127.0.0.1:${(cp.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('is not logged in at first (exit 3), refuses a wrong token (exit 1), then logs in', async () => {
    const before = await gitfleet(['cluster', 'list']);
    assert.equal(before.code, 3);
    assert.match(before.stderr, /not logged in.*gitfleet login --server URL --token TOKEN/);

    const wrong = await gitfleet(['login', '--server', server, '--token', 'not-a-token-at-all']);
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr,
      'Unauthorized: API token not recognised: check the token you logged in with\n',
    );
    assert.throws(() => statSync(configFile), /ENOENT/, 'a rejected login saves nothing');

    const login = await ok(['login', '--server', `${server}/`, '--token', cp.adminToken]);
    assert.match(login.stdout, new RegExp(`Logged in to: +${server}\n`));
    assert.equal(statSync(configFile).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(configFile, 'utf8')), { server, token: cp.adminToken });
  });

  it('registers clusters and prints the bootstrap token and the helm command', async () => {
    const r = await ok(['cluster', 'register', 'cli-eu', '-l', 'env=prod', '-l', 'region=eu']);
    const token = r.stdout.match(/Bootstrap token: +(gfb_\S+)/)?.[1];
    assert.ok(token, r.stdout);
    assert.match(r.stdout, /^Cluster cli-eu registered \(labels env=prod,region=eu\)\./);
    assert.match(r.stdout, /Expires: +\d{4}-\d\d-\d\dT.* \(in /);
    assert.match(r.stdout, /helm install gitfleet-agent/);
    assert.ok(r.stdout.includes(`--set bootstrapToken=${token}`));
    assert.ok(r.stdout.includes('--set cluster.name=cli-eu'));

    const json = await ok([
      'cluster',
      'register',
      'cli-us',
      '-l',
      'env=prod',
      '-l',
      'region=us',
      '-o',
      'json',
    ]);
    const reg = JSON.parse(json.stdout) as {
      bootstrapToken: string;
      helmInstall: string;
      cluster: { name: string };
    };
    assert.equal(reg.cluster.name, 'cli-us');
    assert.match(reg.bootstrapToken, /^gfb_/);
    await ok(['cluster', 'register', 'cli-dev', '-l', 'env=dev', '-o', 'yaml']);
  });

  it('lists clusters by selector, as an aligned table or JSON', async () => {
    const json = await ok(['cluster', 'list', '--selector', 'env=prod', '-o', 'json']);
    assert.deepEqual(
      (JSON.parse(json.stdout) as { name: string }[]).map((c) => c.name),
      ['cli-eu', 'cli-us'],
    );
    const spaced = await ok(['cluster', 'list', '-l', 'env in (prod,dev),region notin (us)', '-o', 'json']);
    assert.deepEqual((JSON.parse(spaced.stdout) as { name: string }[]).map((c) => c.name).sort(), [
      'cli-dev',
      'cli-eu',
    ]);

    const table = await ok(['cluster', 'list']);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME +STATE +LABELS +AGENT +KUBERNETES +LAST SEEN +AGE$/);
    const col = lines[0]!.indexOf('LABELS');
    const eu = lines.find((l) => l.startsWith('cli-eu '));
    assert.ok(eu, table.stdout);
    assert.equal(eu.slice(col).split(/ {3,}/)[0], 'env=prod,region=eu', 'columns line up');
    assert.match(eu, /AwaitingAgent/);

    const none = await ok(['cluster', 'list', '-l', 'env=nowhere']);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /No clusters match env=nowhere/);
  });

  it('adds, changes and removes labels, keeping the others', async () => {
    const r = await ok(['cluster', 'label', 'cli-us', 'region-', 'tier=gold', 'env=staging']);
    assert.equal(r.stdout, 'cluster cli-us labelled: +tier=gold, env: prod → staging, -region\n');
    const got = await ok(['cluster', 'get', 'cli-us', '-o', 'json']);
    assert.deepEqual(JSON.parse(got.stdout).labels, { env: 'staging', tier: 'gold' });

    const same = await ok(['cluster', 'label', 'cli-us', 'tier=gold', 'ghost-']);
    assert.match(same.stdout, /not labelled \(no changes\)/);
    assert.match(same.stderr, /label "ghost" not found on cli-us/);

    const detail = await ok(['cluster', 'get', 'cli-us']);
    assert.match(detail.stdout, /^Name: +cli-us$/m);
    assert.match(detail.stdout, /^Labels: +env=staging,tier=gold$/m);
  });

  it('shows API errors as the API words them (exit 1) and usage errors (exit 2)', async () => {
    const missing = await gitfleet(['cluster', 'get', 'nope']);
    const api = await cp.api<{ code: string; message: string }>('GET', '/api/v1/clusters/nope');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `${api.body.code}: ${api.body.message}\n`);
    assert.equal(missing.stdout, '');

    const dup = await gitfleet(['cluster', 'register', 'cli-eu']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^ClusterExists: cluster cli-eu is already registered/);

    const selector = await gitfleet(['cluster', 'list', '-l', 'env in prod']);
    assert.equal(selector.code, 1);
    assert.match(selector.stderr, /^InvalidSelector: /);

    const badName = await gitfleet(['cluster', 'register', 'Bad_Name']);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /^InvalidRequest: cluster name "Bad_Name" is not valid/);

    const viewer = await gitfleet(['cluster', 'delete', 'cli-eu', '--token', cp.viewerToken]);
    assert.equal(viewer.code, 1);
    assert.equal(viewer.stderr, 'Forbidden: victor has the viewer role: DELETE needs an admin token\n');

    const usage = await gitfleet(['cluster', 'label', 'cli-eu', 'oops']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /See 'gitfleet cluster label --help'/);
  });

  it('creates a fleet from Git (password on stdin) and shows it, its status and per-object results', async () => {
    const repo = shop;
    const head = await git.createRepo(repo, {
      'deploy/fleet.yaml': [
        'manifests: ./manifests',
        'stages:',
        '  - name: dev',
        '    selector: { matchLabels: { env: dev } }',
        '',
      ].join('\n'),
      'deploy/manifests/settings.yaml': [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: settings',
        '  namespace: shop',
        'data:',
        '  greeting: hello',
        '',
      ].join('\n'),
    });

    const noPassword = await gitfleet([
      'fleet',
      'create',
      repo,
      '--repo',
      git.repoUrl(repo),
      '--username',
      'u',
    ]);
    assert.equal(noPassword.code, 2);
    assert.match(noPassword.stderr, /--username needs --password-stdin/);

    const created = await ok(
      [
        'fleet',
        'create',
        repo,
        '--repo',
        git.repoUrl(repo),
        '--path',
        'deploy',
        '--username',
        git.username,
        '--password-stdin',
      ],
      { stdin: `${git.password}\n` },
    );
    assert.match(created.stdout, new RegExp(`^fleet ${repo} created`));
    assert.match(created.stdout, new RegExp(`^Head: +${head.slice(0, 7)}$`, 'm'));
    assert.ok(!created.stdout.includes(git.password));

    const got = await ok(['fleet', 'get', repo, '-o', 'json']);
    const fleet = JSON.parse(got.stdout) as {
      head: string;
      lastGoodRevision: string;
      path: string;
      errors: unknown[];
    };
    assert.equal(fleet.head, head);
    assert.equal(fleet.lastGoodRevision, head);
    assert.equal(fleet.path, 'deploy');
    assert.deepEqual(fleet.errors, []);
    const table = await ok(['fleet', 'get', repo]);
    assert.match(table.stdout, /^ {2}STAGE +FOLLOWS +REVISION +REQUIRES +CLUSTERS +PHASES +ROLLOUT$/m);
    assert.match(table.stdout, new RegExp(`^ {2}dev +head +${head.slice(0, 7)} +- +1 `, 'm'));

    const listed = await ok(['fleet', 'list']);
    assert.match(
      listed.stdout,
      new RegExp(
        `^${repo} +${git.repoUrl(repo).replace(/[.]/g, '\\.')} +main +deploy +${head.slice(0, 7)} +dev +0/1 +0 `,
        'm',
      ),
    );

    const pending = await ok(['fleet', 'status', repo]);
    assert.match(pending.stdout, /^CLUSTER +STAGE +PHASE +APPLIED +DESIRED +MESSAGE$/m);
    assert.match(pending.stdout, new RegExp(`^cli-dev +dev +Pending +- +${head.slice(0, 7)} +-$`, 'm'));

    // An agent for cli-dev reports the ConfigMap applied and Ready.
    const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters/cli-dev/bootstrap-token');
    const client = cp.grpcClient();
    const { credential } = await new Promise<{ credential: string }>((res, rej) =>
      client.register(
        {
          bootstrapToken: reg.body.bootstrapToken,
          agent: { version: 'test', kubernetesVersion: 'v1.35.4', apiVersions: [] },
        },
        (err, r) => (err ? rej(err) : res(r)),
      ),
    );
    const status = await ok(['fleet', 'status', repo, '-o', 'json']);
    const digest = (JSON.parse(status.stdout) as { items: { desiredDigest: string }[] }).items[0]!
      .desiredDigest;
    await new Promise((res, rej) =>
      client.reportStatus(
        {
          sequence: 1,
          status: {
            fleet: repo,
            desiredRevision: head,
            desiredDigest: digest,
            appliedRevision: head,
            attemptedRevision: head,
            phase: Phase.PHASE_READY,
            message: 'all objects current',
            objects: [
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                namespace: 'shop',
                name: 'settings',
                action: Action.ACTION_CREATED,
                health: Health.HEALTH_CURRENT,
                reason: '',
                message: '',
                drifted: false,
                driftChanges: [],
                driftManagers: [],
                driftCorrectedAtUnixMs: 0,
              },
            ],
            observedAtUnixMs: Date.now(),
            driftCorrections: 0,
          },
        },
        bearer(credential),
        (err, r) => (err ? rej(err) : res(r)),
      ),
    );
    let ready: Run | undefined;
    for (let i = 0; i < 100; i++) {
      const r = await ok(['fleet', 'status', repo, '--objects']);
      if (/^cli-dev +dev +Ready /m.test(r.stdout)) {
        ready = r;
        break;
      }
      await sleep(100);
    }
    assert.ok(ready, 'the report was ingested');
    const short = head.slice(0, 7);
    assert.match(
      ready.stdout,
      new RegExp(`^cli-dev +dev +Ready +${short} +${short} +all objects current$`, 'm'),
    );
    assert.match(ready.stdout, /^CLUSTER +KIND +NAMESPACE +NAME +ACTION +HEALTH +DRIFTED +MESSAGE$/m);
    assert.match(ready.stdout, /^cli-dev +ConfigMap +shop +settings +created +Current +no +-$/m);

    const synced = await ok(['fleet', 'sync', repo]);
    assert.match(synced.stdout, new RegExp(`^fleet ${repo} synced`));
    assert.match((await ok(['fleet', 'get', repo])).stdout, / dev +head +\w{7} +- +1 +Ready=1 /);
  });

  it('promotes with --wait (exit 0), is refused (exit 4), and follows a rollout to its halt (exit 4)', async () => {
    const id = randomBytes(3).toString('hex');
    const repo = `cli-promo-${id}`;
    const fleetYaml = (prodPin?: string) =>
      [
        'manifests: ./manifests',
        'stages:',
        '  - name: dev',
        `    selector: { matchLabels: { promo: "${id}", stage: dev } }`,
        '  - name: prod',
        `    selector: { matchLabels: { promo: "${id}", stage: prod } }`,
        '    requires: dev',
        ...(prodPin ? ['    rollout: { maxUnavailable: 1 }', `    revision: ${prodPin}`] : []),
        '',
      ].join('\n');
    const manifest = (greeting: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: promo\n  namespace: promo\ndata:\n  greeting: ${greeting}\n`;
    const a = await git.createRepo(repo, { 'fleet.yaml': fleetYaml(), 'manifests/cm.yaml': manifest('a') });
    const b = await git.commit(repo, { 'fleet.yaml': fleetYaml(a), 'manifests/cm.yaml': manifest('b') }, 'b');

    // Protocol-level agents for three clusters: they report whatever phase the test says.
    const client = cp.grpcClient();
    const agents = new Map<string, { credential: string; sequence: number }>();
    for (const [name, stage] of [
      [`pd-${id}`, 'dev'],
      [`pp1-${id}`, 'prod'],
      [`pp2-${id}`, 'prod'],
    ] as const) {
      const r = await ok([
        'cluster',
        'register',
        name,
        '-l',
        `promo=${id}`,
        '-l',
        `stage=${stage}`,
        '-o',
        'json',
      ]);
      const { bootstrapToken } = JSON.parse(r.stdout) as { bootstrapToken: string };
      const { credential } = await new Promise<{ credential: string }>((res, rej) =>
        client.register(
          { bootstrapToken, agent: { version: 'test', kubernetesVersion: 'v1.35.4', apiVersions: [] } },
          (err, x) => (err ? rej(err) : res(x)),
        ),
      );
      agents.set(name, { credential, sequence: 0 });
    }
    const statusOf = async () =>
      (
        await cp.api<{
          items: { cluster: string; desiredRevision: string | null; desiredDigest: string | null }[];
        }>('GET', `/api/v1/fleets/${repo}/status`)
      ).body.items;
    const report = async (cluster: string, revision: string, phase: Phase) => {
      const agent = agents.get(cluster)!;
      const digest = (await statusOf()).find((i) => i.cluster === cluster)?.desiredDigest ?? '';
      await new Promise((res, rej) =>
        client.reportStatus(
          {
            sequence: ++agent.sequence,
            status: {
              fleet: repo,
              desiredRevision: revision,
              desiredDigest: digest,
              appliedRevision: revision,
              attemptedRevision: revision,
              phase,
              message: phase === Phase.PHASE_FAILED ? 'ConfigMap promo: admission denied' : '',
              objects: [],
              observedAtUnixMs: Date.now(),
              driftCorrections: 0,
            },
          },
          bearer(agent.credential),
          (err, x) => (err ? rej(err) : res(x)),
        ),
      );
    };
    /** Reports, then waits until the API shows the report ingested. */
    const reported = async (cluster: string, revision: string, phase: Phase) => {
      await report(cluster, revision, phase);
      for (let i = 0; i < 100; i++) {
        const items = (
          await cp.api<{ items: { cluster: string; appliedRevision: string | null; phase: string }[] }>(
            'GET',
            `/api/v1/fleets/${repo}/status`,
          )
        ).body.items;
        const item = items.find((x) => x.cluster === cluster);
        if (item?.appliedRevision === revision && item.phase === 'Ready') return;
        await sleep(50);
      }
      throw new Error(`the report of ${cluster} at ${revision} was not ingested`);
    };
    /** Until `done`, every prod cluster told to run `revision` reports `phase` at it (once). */
    const respond = async (revision: string, phase: (cluster: string) => Phase, done: () => boolean) => {
      const answered = new Set<string>();
      while (!done()) {
        for (const item of await statusOf()) {
          if (
            item.desiredRevision === revision &&
            !answered.has(item.cluster) &&
            item.cluster.startsWith('pp')
          ) {
            answered.add(item.cluster);
            await report(item.cluster, revision, phase(item.cluster));
          }
        }
        await sleep(100);
      }
    };
    const promote = (args: string[]) => {
      let finished = false;
      const run = gitfleet(['promote', repo, 'prod', ...args]).finally(() => {
        finished = true;
      });
      return { run, done: () => finished };
    };

    await ok(
      ['fleet', 'create', repo, '--repo', git.repoUrl(repo), '--username', git.username, '--password-stdin'],
      {
        stdin: git.password,
      },
    );
    // prod runs a; dev follows the head, b, but has not reported: the gate refuses b for prod.
    await reported(`pp1-${id}`, a, Phase.PHASE_READY);
    await reported(`pp2-${id}`, a, Phase.PHASE_READY);
    const refused = await gitfleet(['promote', repo, 'prod']);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, new RegExp(`^PromotionRefused: cannot promote ${b.slice(0, 7)} to 'prod'`));
    assert.match(refused.stderr, new RegExp(`Not ready:\nCLUSTER +PHASE +REVISION\npd-${id} +- +-\n`));

    // dev Ready at b: the promotion goes through, and --wait follows both waves to the end.
    await reported(`pd-${id}`, b, Phase.PHASE_READY);
    const good = promote(['--reason', 'release b', '--wait', '--timeout', '60s', '--interval', '200ms']);
    await respond(b, () => Phase.PHASE_READY, good.done);
    const promoted = await good.run;
    assert.equal(promoted.code, 0, promoted.stderr + promoted.stdout);
    const short = b.slice(0, 7);
    assert.match(
      promoted.stdout,
      new RegExp(`^Promoted prod of fleet ${repo} to ${short} \\(from dev, commit \\w{7} by alice\\)\n`),
    );
    assert.match(promoted.stdout, new RegExp(`^prod: wave 1/2, [01]/2 clusters Ready at ${short}$`, 'm'));
    assert.match(
      promoted.stdout,
      new RegExp(`^prod: rollout complete, 2/2 clusters Ready at ${short}\n$`, 'm'),
    );
    const log = await git.log(repo, { path: 'fleet.yaml' });
    assert.match(`${log[0]?.subject}\n${log[0]?.body}`, /release b/);

    // c fails on the first prod cluster: the rollout halts and --wait says why.
    const c = await git.commit(repo, { 'manifests/cm.yaml': manifest('c') }, 'c');
    await ok(['fleet', 'sync', repo]);
    await reported(`pd-${id}`, c, Phase.PHASE_READY);
    const bad = promote(['--revision', c.slice(0, 10), '--wait', '--interval', '200ms', '-o', 'json']);
    await respond(c, () => Phase.PHASE_FAILED, bad.done);
    const halted = await bad.run;
    assert.equal(halted.code, 4, halted.stderr + halted.stdout);
    assert.doesNotMatch(halted.stderr, /PromotionRefused/);
    assert.equal((JSON.parse(halted.stdout) as { revision: string }).revision, c, 'stdout is the JSON alone');
    assert.match(
      halted.stderr,
      new RegExp(`^error: prod: wave 1/2: .*'pp1-${id}' is Failed at revision ${c.slice(0, 7)}`, 'm'),
    );

    // A rollback is a commit too; then d, which no prod cluster ever reports on: exit 5.
    const back = await ok(['rollback', repo, 'prod', '--reason', 'c is broken']);
    assert.match(back.stdout, new RegExp(`^Rolled back prod of fleet ${repo} to ${short} `));
    const d = await git.commit(repo, { 'manifests/cm.yaml': manifest('d') }, 'd');
    await ok(['fleet', 'sync', repo]);
    await reported(`pd-${id}`, d, Phase.PHASE_READY);
    const slow = await gitfleet([
      'promote',
      repo,
      'prod',
      '--revision',
      d,
      '--wait',
      '--timeout',
      '1s',
      '--interval',
      '200ms',
    ]);
    assert.equal(slow.code, 5, slow.stderr);
    assert.match(
      slow.stderr,
      new RegExp(
        `^error: timed out after 1s waiting for the rollout of ${d.slice(0, 7)} to prod \\(prod: `,
        'm',
      ),
    );
  });

  it('follows events, filtered, until killed', async () => {
    const child = spawn(process.execPath, [CLI, 'events', '--follow', '--cluster', 'cli-eu'], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    try {
      // --follow without --since starts with what happens after it subscribed: keep making events until one shows.
      for (let i = 0; i < 100 && !stdout.includes('ClusterLabelsChanged'); i++) {
        await cp.api('PATCH', '/api/v1/clusters/cli-us', { labels: { env: 'staging', noise: String(i) } });
        await cp.api('PATCH', '/api/v1/clusters/cli-eu', {
          labels: { env: 'prod', region: 'eu', n: String(i) },
        });
        await sleep(150);
      }
      assert.match(stdout, /^\d{4}-\d\d-\d\dT\S+Z {2}ClusterLabelsChanged {2}cluster=cli-eu$/m, stderr);
      assert.ok(!stdout.includes('cli-us'), 'events of other clusters are filtered out');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }

    // --wait waits for one event; none coming in time is exit 5, with one line.
    const quiet = await gitfleet(['events', '--wait', '--cluster', 'nobody', '--timeout', '300ms']);
    assert.equal(quiet.code, 5, quiet.stderr);
    assert.equal(quiet.stderr, 'error: no matching event within 300ms\n');
    // Without either, the history: what happened to cli-eu, then exit 0.
    const history = await ok(['events', '--cluster', 'cli-eu', '--since', '1h']);
    assert.match(history.stdout, /^\d{4}-\d\d-\d\dT\S+Z {2}ClusterRegistered {4}cluster=cli-eu$/m);
    assert.match(history.stdout, /ClusterLabelsChanged {2}cluster=cli-eu$/m);
  });

  it('deletes clusters and fleets', async () => {
    await ok(['cluster', 'delete', 'cli-us']);
    const gone = await gitfleet(['cluster', 'get', 'cli-us']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^ClusterNotFound: /);
    const deleted = await ok(['fleet', 'delete', shop, '-o', 'json']);
    assert.deepEqual(JSON.parse(deleted.stdout), { name: shop, deleted: true });
    const noFleet = await gitfleet(['fleet', 'get', shop]);
    assert.equal(noFleet.code, 1);
    assert.equal(noFleet.stderr, `FleetNotFound: fleet ${shop} does not exist\n`);
  });

  it('exits 3 when the server cannot be reached, and after logout', async () => {
    const port = await freePort();
    const down = await gitfleet(['cluster', 'list', '--server', `http://127.0.0.1:${port}`]);
    assert.equal(down.code, 3);
    assert.match(
      down.stderr,
      new RegExp(`^error: cannot reach the control plane at http://127.0.0.1:${port}: .*ECONNREFUSED`),
    );
    const viaEnv = await gitfleet(['fleet', 'list'], {
      env: { GITFLEET_SERVER: `http://127.0.0.1:${port}` },
    });
    assert.equal(viaEnv.code, 3, 'GITFLEET_SERVER overrides the saved server');

    const version = await ok(['version', '-o', 'json']);
    assert.deepEqual(JSON.parse(version.stdout).server, { url: server, version: GITFLEET_VERSION });

    await ok(['logout']);
    assert.deepEqual(JSON.parse(readFileSync(configFile, 'utf8')), { server });
    const after = await gitfleet(['cluster', 'list']);
    assert.equal(after.code, 3);
    assert.match(after.stderr, /not logged in \(no token\)/);
    // The saved server is kept, so a new token is enough to log in again; env vars work too.
    await ok(['cluster', 'list'], { env: { GITFLEET_TOKEN: cp.viewerToken } });
  });
});
