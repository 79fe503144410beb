// Bad input from Git, pushed with the git CLI to a real Git server the way people push it
// (symbolic links, binary bytes and other encodings included): YAML that does not parse, files
// and fleets over the size limits, links pointing out of the repository, submodules, paths
// that climb out of the fleet, stages that loop or that would drop every cluster. Each must
// show on the fleet as an error naming the file and the reason, while the cluster keeps the
// last good revision: its desired state does not move.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { tempDir } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const FILE_LIMIT = 64 * 1024;
const FLEET_LIMIT = 256 * 1024;

interface FleetView {
  head: string;
  lastGoodRevision: string | null;
  errors: { code: string; file: string; line?: number; message: string }[];
  stages: { name: string; clusters: number }[];
}

const fleetYaml = (selector = `{ matchLabels: { input: "${id}" } }`, extra = '') =>
  `manifests: ./manifests\nstages:\n  - name: dev\n    selector: ${selector}\n${extra}`;
const configMap = (name: string, value = 'v') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: input\ndata:\n  value: "${value}"\n`;

function git(args: string[], cwd: string, home: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      'git',
      args,
      {
        cwd,
        env: {
          PATH: process.env.PATH,
          HOME: home,
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_AUTHOR_NAME: 'Input Test',
          GIT_AUTHOR_EMAIL: 'input@gitfleet.invalid',
          GIT_COMMITTER_NAME: 'Input Test',
          GIT_COMMITTER_EMAIL: 'input@gitfleet.invalid',
        },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) =>
        err ? reject(new Error(`git ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    ),
  );
}

describe('bad input from Git', () => {
  let cp: TestControlPlane;
  let server: GitServer;
  const repo = `input-${id}`;
  const cluster = `input-${id}`;
  const home = tempDir('git-input-home');
  let work = '';
  let good = '';

  /** Edits the clone (files as bytes, links, deletions), commits and pushes; returns the commit. */
  const push = async (message: string, edit: (dir: string) => Promise<void>) => {
    await edit(work);
    await git(['add', '-A'], work, home);
    await git(['commit', '-q', '--allow-empty', '-m', message], work, home);
    await git(['push', '-q', 'origin', 'HEAD:main'], work, home);
    return (await git(['rev-parse', 'HEAD'], work, home)).trim();
  };
  const put = (files: Record<string, string | Buffer | null>) => async (dir: string) => {
    for (const [path, content] of Object.entries(files)) {
      const target = join(dir, path);
      await rm(target, { force: true, recursive: true });
      if (content === null) continue;
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
  };
  const sync = async () => {
    const res = await cp.api<FleetView>('POST', `/api/v1/fleets/${repo}/sync`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const desiredRevision = async () =>
    (
      await cp.api<{ items: { cluster: string; desiredRevision: string | null }[] }>(
        'GET',
        `/api/v1/fleets/${repo}/status`,
      )
    ).body.items.find((i) => i.cluster === cluster)?.desiredRevision ?? null;

  /**
   * Pushes a bad commit and checks that it is refused: the head moves, the last good revision
   * and the cluster's desired state do not, and errors[] holds what `expected` describes. Then
   * pushes `undo` and checks that the fleet is good again.
   */
  const refused = async (
    what: string,
    edit: (dir: string) => Promise<void>,
    expected: { code: string; file: string; line?: number; message: RegExp }[],
    undo: (dir: string) => Promise<void>,
  ) => {
    const bad = await push(what, edit);
    const view = await sync();
    assert.equal(view.head, bad, what);
    assert.equal(view.lastGoodRevision, good, `${what}: the last good revision is kept`);
    for (const e of expected) {
      const found = view.errors.find((x) => x.code === e.code && x.file === e.file);
      assert.ok(found, `${what}: expected ${e.code} on ${e.file}, got ${JSON.stringify(view.errors)}`);
      assert.match(found.message, e.message, what);
      if (e.line !== undefined) assert.equal(found.line, e.line, `${what}: line`);
    }
    assert.equal(await desiredRevision(), good, `${what}: the cluster keeps the last good revision`);
    good = await push(`undo: ${what}`, undo);
    const fixed = await sync();
    assert.deepEqual(fixed.errors, [], `${what} undone`);
    assert.equal(fixed.lastGoodRevision, good);
    assert.equal(await desiredRevision(), good);
  };

  before(async () => {
    server = await startGitServer();
    cp = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: {
        GITFLEET_GIT_MAX_FILE_BYTES: String(FILE_LIMIT),
        GITFLEET_GIT_MAX_FLEET_BYTES: String(FLEET_LIMIT),
      },
    });
    await server.createRepo(repo, {
      'fleet.yaml': fleetYaml(),
      'manifests/settings.yaml': configMap('settings'),
    });
    work = tempDir('git-input-work');
    await git(['clone', '-q', join(server.root, `${repo}.git`), work], home, home);
    good = (await git(['rev-parse', 'HEAD'], work, home)).trim();
    const reg = await cp.api('POST', '/api/v1/clusters', { name: cluster, labels: { input: id } });
    assert.equal(reg.status, 201);
    const created = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: repo,
      repo: server.repoUrl(repo),
      credentials: { username: server.username, password: server.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.lastGoodRevision, good);
    assert.equal(await desiredRevision(), good);
  });
  after(async () => {
    await cp?.stop();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  });

  it('YAML that does not parse: the file and line', async () => {
    await refused(
      'broken manifest',
      put({ 'manifests/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n  name: x\n' }),
      [
        {
          code: 'YamlSyntax',
          file: 'manifests/broken.yaml',
          line: 3,
          message: /^manifests\/broken\.yaml:3: .*not valid YAML/,
        },
      ],
      put({ 'manifests/broken.yaml': null }),
    );
    await refused(
      'broken fleet.yaml',
      put({ 'fleet.yaml': 'stages:\n  - name: dev\n    selector: { matchLabels: { a: b }\n' }),
      [{ code: 'YamlSyntax', file: 'fleet.yaml', message: /^fleet\.yaml:\d+: YAML does not parse/ }],
      put({ 'fleet.yaml': fleetYaml() }),
    );
  });

  it('a file over the per-file limit, and a fleet over the per-fleet limit', async () => {
    const big = `${configMap('big')}  payload: "${'x'.repeat(FILE_LIMIT)}"\n`;
    await refused(
      'huge file',
      put({ 'manifests/huge.yaml': big }),
      [
        {
          code: 'FileTooLarge',
          file: 'manifests/huge.yaml',
          message: new RegExp(`is ${Buffer.byteLength(big)} bytes, over the limit of ${FILE_LIMIT} per file`),
        },
      ],
      put({ 'manifests/huge.yaml': null }),
    );
    // Five files under the per-file limit that add up to more than the per-fleet one.
    const parts: Record<string, string | null> = {};
    for (let i = 0; i < 5; i++) {
      parts[`manifests/part-${i}.yaml`] = `${configMap(`part-${i}`)}  payload: "${'y'.repeat(60 * 1024)}"\n`;
    }
    await refused(
      'fleet too large',
      put(parts),
      [
        {
          code: 'FleetTooLarge',
          file: 'manifests',
          message: new RegExp(`over the limit of ${FLEET_LIMIT} per fleet`),
        },
      ],
      put(Object.fromEntries(Object.keys(parts).map((k) => [k, null]))),
    );
  });

  it('symbolic links are never followed, inside or out of the repository, nor submodules', async () => {
    await refused(
      'links',
      async (dir) => {
        await symlink('/etc/passwd', join(dir, 'manifests/passwd.yaml'));
        await symlink('../../..', join(dir, 'manifests/up'));
        await symlink('settings.yaml', join(dir, 'manifests/alias.yaml'));
      },
      [
        {
          code: 'SymlinkNotAllowed',
          file: 'manifests/passwd.yaml',
          message: /symbolic link.*does not follow/,
        },
        { code: 'SymlinkNotAllowed', file: 'manifests/up', message: /symbolic link/ },
        { code: 'SymlinkNotAllowed', file: 'manifests/alias.yaml', message: /symbolic link/ },
      ],
      async (dir) => {
        for (const l of ['passwd.yaml', 'up', 'alias.yaml']) await unlink(join(dir, 'manifests', l));
      },
    );
    const view = await sync();
    assert.ok(!JSON.stringify(view).includes('root:x:0:0'), 'nothing of /etc/passwd was read');
    await refused(
      'fleet.yaml as a link',
      async (dir) => {
        await rm(join(dir, 'fleet.yaml'));
        await writeFile(join(dir, 'real-fleet.yaml'), fleetYaml());
        await symlink('real-fleet.yaml', join(dir, 'fleet.yaml'));
      },
      [{ code: 'SymlinkNotAllowed', file: 'fleet.yaml', message: /symbolic link/ }],
      async (dir) => {
        await rm(join(dir, 'fleet.yaml'));
        await rm(join(dir, 'real-fleet.yaml'));
        await writeFile(join(dir, 'fleet.yaml'), fleetYaml());
      },
    );
    await refused(
      'the manifests directory as a link',
      async (dir) => {
        await writeFile(join(dir, 'fleet.yaml'), fleetYaml(undefined).replace('./manifests', './linked'));
        await symlink('manifests', join(dir, 'linked'));
      },
      [{ code: 'SymlinkNotAllowed', file: 'linked', message: /symbolic link/ }],
      async (dir) => {
        await rm(join(dir, 'linked'));
        await writeFile(join(dir, 'fleet.yaml'), fleetYaml());
      },
    );
    await refused(
      'submodule',
      async (dir) => {
        // A gitlink; the empty directory is what a submodule not checked out looks like.
        await mkdir(join(dir, 'manifests/vendored'));
        await git(['update-index', '--add', '--cacheinfo', `160000,${good},manifests/vendored`], dir, home);
      },
      [{ code: 'SubmoduleNotAllowed', file: 'manifests/vendored', message: /submodule/ }],
      async (dir) => {
        await git(['rm', '-q', '--cached', 'manifests/vendored'], dir, home);
        await rm(join(dir, 'manifests/vendored'), { recursive: true });
      },
    );
  });

  it('binary files and other encodings in manifests; other files are left alone', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);
    await refused(
      'binary',
      put({ 'manifests/logo.yaml': png }),
      [{ code: 'BinaryFile', file: 'manifests/logo.yaml', message: /binary file/ }],
      put({ 'manifests/logo.yaml': null }),
    );
    const latin1 = Buffer.concat([
      Buffer.from(configMap('latin1', 'caf')),
      Buffer.from('# caf\xe9\n', 'latin1'),
    ]);
    await refused(
      'latin-1',
      put({ 'manifests/latin1.yaml': latin1 }),
      [
        {
          code: 'NotUtf8',
          file: 'manifests/latin1.yaml',
          line: 8,
          message: /is not UTF-8 text \(invalid byte 0xe9/,
        },
      ],
      put({ 'manifests/latin1.yaml': null }),
    );
    // A binary that is not a manifest (a picture next to them) is not read at all.
    good = await push('a picture', put({ 'manifests/logo.png': png }));
    const view = await sync();
    assert.deepEqual(view.errors, []);
    assert.equal(view.lastGoodRevision, good);
  });

  it('paths that climb out of the fleet', async () => {
    await refused(
      'manifests outside the fleet',
      put({ 'fleet.yaml': fleetYaml().replace('./manifests', '../other') }),
      [
        {
          code: 'InvalidManifestsPath',
          file: 'fleet.yaml',
          line: 1,
          message: /inside the fleet path.*no '\.\.'/,
        },
      ],
      put({ 'fleet.yaml': fleetYaml() }),
    );
    const outside = await cp.api<{ code: string; message: string }>('POST', '/api/v1/fleets', {
      name: `escape-${id}`,
      repo: server.repoUrl(repo),
      path: '../x',
      credentials: { username: server.username, password: server.password },
    });
    assert.equal(outside.status, 400);
    assert.match(outside.body.message, /inside the repository/);
    // A fleet path that is a link (here back to the root) is not followed either.
    good = await push('a link to the root', async (dir) => symlink('.', join(dir, 'deploy')));
    const linked = await cp.api<FleetView>('POST', '/api/v1/fleets', {
      name: `linked-${id}`,
      repo: server.repoUrl(repo),
      path: 'deploy',
      credentials: { username: server.username, password: server.password },
    });
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    assert.equal(linked.body.lastGoodRevision, null);
    assert.ok(
      linked.body.errors.some((e) => e.code === 'SymlinkNotAllowed' && e.file === 'deploy'),
      JSON.stringify(linked.body.errors),
    );
    assert.equal((await cp.api('DELETE', `/api/v1/fleets/linked-${id}`)).status, 204);
    good = await push('no link', async (dir) => unlink(join(dir, 'deploy')));
    assert.deepEqual((await sync()).errors, []);
  });

  it('stages that loop are refused with the line', async () => {
    const loop = `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { input: "${id}" } }
    requires: prod
  - name: prod
    selector: { matchLabels: { input: "${id}-prod" } }
    requires: dev
`;
    await refused(
      'requires loop',
      put({ 'fleet.yaml': loop }),
      [
        {
          code: 'RequiresLaterStage',
          file: 'fleet.yaml',
          line: 5,
          message: /requires 'prod', which comes after it/,
        },
      ],
      put({ 'fleet.yaml': fleetYaml() }),
    );
    await refused(
      'requires itself',
      put({ 'fleet.yaml': fleetYaml(undefined, '    requires: dev\n') }),
      [{ code: 'RequiresSelf', file: 'fleet.yaml', line: 5, message: /requires itself/ }],
      put({ 'fleet.yaml': fleetYaml() }),
    );
  });

  it('a stage that selects nothing is fine; a commit that would drop every cluster is refused', async () => {
    // A stage for clusters not registered yet: the fleet is good, the stage shows 0 clusters.
    good = await push(
      'prod stage, no prod clusters yet',
      put({
        'fleet.yaml': fleetYaml(
          undefined,
          `  - name: prod\n    selector: { matchLabels: { input: "${id}", env: prod } }\n`,
        ),
      }),
    );
    const view = await sync();
    assert.deepEqual(view.errors, []);
    assert.equal(view.lastGoodRevision, good);
    assert.deepEqual(
      view.stages.map((s) => [s.name, s.clusters]),
      [
        ['dev', 1],
        ['prod', 0],
      ],
    );
    // A typo in the only selector that matched: no stage selects the cluster any more, which
    // would remove the fleet from it and prune everything. Refused, naming the cluster.
    await refused(
      'selector typo',
      put({ 'fleet.yaml': fleetYaml(`{ matchLabels: { inptu: "${id}" } }`) }),
      [
        {
          code: 'NoClusterSelected',
          file: 'fleet.yaml',
          message: new RegExp(`no stage selects any registered cluster.*\\(${cluster}\\).*allowEmpty: true`),
        },
      ],
      put({ 'fleet.yaml': fleetYaml() }),
    );
    // Meant it: with allowEmpty the fleet leaves the cluster.
    good = await push(
      'leave every cluster',
      put({
        'fleet.yaml': fleetYaml(`{ matchLabels: { inptu: "${id}" } }`, 'apply: { allowEmpty: true }\n'),
      }),
    );
    const left = await sync();
    assert.deepEqual(left.errors, []);
    assert.equal(left.lastGoodRevision, good);
    assert.equal(await desiredRevision(), null, 'the fleet no longer targets the cluster');
  });
});
