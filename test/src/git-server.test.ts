import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import git, { Errors } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { type GitServer, startGitServer } from './git-server.ts';
import { tempDir } from './process.ts';

describe('startGitServer', () => {
  let server: GitServer;
  let clones: string;
  let cloneCount = 0;
  before(async () => {
    server = await startGitServer();
    clones = tempDir('git-server-test');
  });
  after(async () => {
    await server?.stop();
    if (clones) await rm(clones, { recursive: true, force: true });
  });

  const onAuth = () => ({ username: server.username, password: server.password });

  async function cloneWithIsomorphicGit(name: string): Promise<string> {
    const dir = join(clones, `${name}-${cloneCount++}`);
    await git.clone({ fs, http, dir, url: server.repoUrl(name), ref: 'main', singleBranch: true, onAuth });
    return dir;
  }

  test('isomorphic-git clones a repository over HTTP with basic auth', async () => {
    const sha = await server.createRepo('clone-me', {
      'fleet.yaml': 'manifests: ./manifests\n',
      'manifests/cm.yaml': 'kind: ConfigMap\n',
    });
    assert.match(sha, /^[0-9a-f]{40}$/);
    assert.equal(server.repoUrl('clone-me'), `${server.url}/clone-me.git`);
    const requestsBefore = server.requestCount;

    const dir = await cloneWithIsomorphicGit('clone-me');

    assert.ok(server.requestCount > requestsBefore, 'the clone did not go through the server');
    assert.equal(await git.resolveRef({ fs, dir, ref: 'HEAD' }), sha);
    assert.equal(await readFile(join(dir, 'manifests/cm.yaml'), 'utf8'), 'kind: ConfigMap\n');
    assert.equal(await readFile(join(dir, 'fleet.yaml'), 'utf8'), 'manifests: ./manifests\n');
  });

  test('a commit() pushed with the git CLI is seen by an isomorphic-git fetch', async () => {
    const first = await server.createRepo('fetch-me', { 'a.txt': 'one\n', 'gone.txt': 'bye\n' });
    const dir = await cloneWithIsomorphicGit('fetch-me');

    const second = await server.commit(
      'fetch-me',
      { 'a.txt': 'two\n', 'gone.txt': null },
      'Change a, drop gone',
    );
    assert.notEqual(second, first);
    const requestsBefore = server.requestCount;
    const result = await git.fetch({ fs, http, dir, ref: 'main', singleBranch: true, onAuth });

    assert.ok(server.requestCount > requestsBefore);
    assert.equal(result.fetchHead, second);
    const { blob } = await git.readBlob({ fs, dir, oid: second, filepath: 'a.txt' });
    assert.equal(Buffer.from(blob).toString('utf8'), 'two\n');
    await assert.rejects(git.readBlob({ fs, dir, oid: second, filepath: 'gone.txt' }), Errors.NotFoundError);
    const [commit] = await git.log({ fs, dir, ref: second, depth: 1 });
    assert.equal(commit?.commit.parent[0], first);
    assert.equal(commit?.commit.message.trim(), 'Change a, drop gone');
  });

  test('an isomorphic-git push lands in the bare repository', async () => {
    const base = await server.createRepo('push-me', { 'README.md': 'hello\n' });
    const dir = await cloneWithIsomorphicGit('push-me');
    await writeFile(join(dir, 'pushed.txt'), 'from isomorphic-git\n');
    await git.add({ fs, dir, filepath: 'pushed.txt' });
    const sha = await git.commit({
      fs,
      dir,
      message: 'Promote staging\n\nPinned by the control plane.',
      author: { name: 'Gitfleet Bot', email: 'bot@gitfleet.invalid' },
    });

    const result = await git.push({ fs, http, dir, remote: 'origin', ref: 'main', onAuth });

    assert.equal(result.ok, true);
    assert.equal(await server.readFile('push-me', 'pushed.txt'), 'from isomorphic-git\n');
    assert.equal(await server.readFile('push-me', 'README.md'), 'hello\n');
    const log = await server.log('push-me');
    assert.deepEqual(
      log.map((c) => c.sha),
      [sha, base],
    );
    assert.deepEqual(log[0], {
      sha,
      author: 'Gitfleet Bot',
      email: 'bot@gitfleet.invalid',
      subject: 'Promote staging',
      body: 'Pinned by the control plane.',
    });
  });

  test('a wrong password is refused with 401', async () => {
    await server.createRepo('private', { 'secret.txt': 'x\n' });
    const wrong = () => ({ username: server.username, password: `${server.password}-wrong` });

    await assert.rejects(
      git.clone({ fs, http, dir: join(clones, 'refused-1'), url: server.repoUrl('private'), onAuth: wrong }),
      (err: unknown) => {
        assert.ok(err instanceof Errors.HttpError, `expected HttpError, got ${String(err)}`);
        assert.equal(err.data.statusCode, 401);
        return true;
      },
    );

    const failures: string[] = [];
    await assert.rejects(
      git.clone({
        fs,
        http,
        dir: join(clones, 'refused-2'),
        url: server.repoUrl('private'),
        onAuth: wrong,
        onAuthFailure: (url) => {
          failures.push(url);
          return { cancel: true };
        },
      }),
      Errors.UserCanceledError,
    );
    assert.equal(failures.length, 1);

    // Without any credentials the server asks for them, as a forge would.
    const response = await fetch(`${server.repoUrl('private')}/info/refs?service=git-upload-pack`);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Basic realm="gitfleet-test"');
    await response.body?.cancel();
  });

  test('failWith() answers every request with an error until it is cleared', async () => {
    await server.createRepo('flaky', { 'a.txt': 'a\n' });
    server.failWith(500);
    try {
      await assert.rejects(
        git.clone({ fs, http, dir: join(clones, 'flaky-1'), url: server.repoUrl('flaky'), onAuth }),
        (err: unknown) => err instanceof Errors.HttpError && err.data.statusCode === 500,
      );
    } finally {
      server.failWith(null);
    }
    await cloneWithIsomorphicGit('flaky');
  });

  test('log() lists commits newest first and filters by path', async () => {
    const author = { name: 'Ada', email: 'ada@example.com' };
    const init = await server.createRepo(
      'history',
      { 'a.txt': '1\n', 'b.txt': '1\n' },
      { message: 'Init', author },
    );
    const touchA = await server.commit('history', { 'a.txt': '2\n' }, 'Touch a\n\nBecause a changed.');
    const touchB = await server.commit('history', { 'b.txt': '2\n' }, 'Touch b', { author });

    const all = await server.log('history');
    assert.deepEqual(
      all.map((c) => [c.sha, c.subject]),
      [
        [touchB, 'Touch b'],
        [touchA, 'Touch a'],
        [init, 'Init'],
      ],
    );
    assert.equal(all[1]?.body, 'Because a changed.');
    assert.equal(all[2]?.author, 'Ada');
    assert.equal(all[2]?.email, 'ada@example.com');

    const onlyA = await server.log('history', { path: 'a.txt' });
    assert.deepEqual(
      onlyA.map((c) => c.sha),
      [touchA, init],
    );
    const onlyB = await server.log('history', { path: 'b.txt' });
    assert.deepEqual(
      onlyB.map((c) => c.sha),
      [touchB, init],
    );
  });

  test('commit() to another branch leaves main alone', async () => {
    const main = await server.createRepo('branches', { 'fleet.yaml': 'v1\n' });
    const feature = await server.commit('branches', { 'fleet.yaml': 'v2\n' }, 'Try v2', {
      branch: 'feature',
    });

    assert.equal(await server.readFile('branches', 'fleet.yaml'), 'v1\n');
    assert.equal(await server.readFile('branches', 'fleet.yaml', 'feature'), 'v2\n');
    assert.deepEqual(
      (await server.log('branches', { ref: 'feature' })).map((c) => c.sha),
      [feature, main],
    );
    // The git CLI also authenticates against this server: a second push onto the new branch.
    const next = await server.commit('branches', { 'fleet.yaml': 'v3\n' }, 'Try v3', { branch: 'feature' });
    assert.equal((await server.log('branches', { ref: 'feature' }))[0]?.sha, next);
  });
});

describe('GitServer.stop()', () => {
  test('closes the port and removes the repositories', async () => {
    const server = await startGitServer({ username: 'alice', password: 'p@ss:word/with spaces' });
    try {
      assert.equal(server.username, 'alice');
      await server.createRepo('tmp', { 'a.txt': 'a\n' });
      // A password with URL-special characters must still work for the CLI push path.
      await server.commit('tmp', { 'a.txt': 'b\n' }, 'Second');
      assert.equal(await server.readFile('tmp', 'a.txt'), 'b\n');
    } finally {
      await server.stop();
    }
    await assert.rejects(fetch(`${server.url}/tmp.git/info/refs`));
    await assert.rejects(fs.promises.stat(server.root), { code: 'ENOENT' });
    await server.stop();
  });
});
