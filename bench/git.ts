// Scenario 5: Git. A repository with N manifest files and M commits (default 2,000 and
// 5,000) on the real Git server (git http-backend over HTTP). gitfleet's path — the
// control plane's isomorphic-git mirror: fetch, read fleet.yaml and the manifests at the head
// from the object store, render the content-addressed bundle — against the git CLI doing the
// same work as the reference, in the same run: `git clone --bare` / `git fetch` + `git archive`
// of the fleet directory. First the initial sync, then a one-file commit.
//
//   node bench/git.ts [--files 2000] [--commits 5000] [--quick]
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parsePolicy, renderBundle } from '../control-plane/src/fleet/index.ts';
import { GitMirror } from '../control-plane/src/git/mirror.ts';
import { startGitServer } from '../test/src/git-server.ts';
import { tempDir } from '../test/src/process.ts';
import { benchArgs, positive } from './lib/args.ts';
import { ms, now, Report } from './lib/report.ts';

const run = promisify(execFile);
const args = benchArgs({
  files: { type: 'string', default: '2000' },
  commits: { type: 'string', default: '5000' },
});
const files = args.quick ? 200 : positive(args.files, '--files');
const commits = args.quick ? 500 : positive(args.commits, '--commits');
const report = new Report('git', { files, commits });

const manifest = (i: number, rev: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  namespace: bench\ndata:\n  rev: "${rev}"\n`;
const FLEET_YAML = 'stages:\n  - name: all\n    selector: {}\n';

/** Writes the history with `git fast-import`: one commit with every file, then one file per commit. */
async function generate(bareDir: string): Promise<void> {
  const child = spawn('git', ['fast-import', '--quiet'], {
    cwd: bareDir,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const done = new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import exit ${code}`)))),
  );
  const write = (s: string) =>
    new Promise<void>((resolve) => (child.stdin.write(s) ? resolve() : child.stdin.once('drain', resolve)));
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  let t = 1_700_000_000;
  for (let c = 0; c < commits; c++) {
    let body = `commit refs/heads/main\ncommitter Bench <bench@example.com> ${t++} +0000\n${data(`commit ${c}`)}`;
    if (c === 0) {
      body += `M 100644 inline fleet.yaml\n${data(FLEET_YAML)}`;
      for (let i = 0; i < files; i++)
        body += `M 100644 inline manifests/cm-${i}.yaml\n${data(manifest(i, 0))}`;
    } else {
      const i = c % files;
      body += `M 100644 inline manifests/cm-${i}.yaml\n${data(manifest(i, c))}`;
    }
    await write(`${body}\n`);
  }
  child.stdin.end();
  await done;
}

const git = await startGitServer();
const work = tempDir('bench-git');
try {
  const name = 'big';
  await run('git', ['init', '--bare', '-q', '-b', 'main', join(git.root, `${name}.git`)]);
  const t0 = now();
  await generate(join(git.root, `${name}.git`));
  report.log(`generated ${files} files and ${commits} commits in ${ms(t0).toFixed(0)} ms`);
  const url = git.repoUrl(name);
  const auth = `Authorization: Basic ${Buffer.from(`${git.username}:${git.password}`).toString('base64')}`;
  const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };

  // gitfleet: fetch into the mirror, read the fleet directory at the head, render the bundle.
  const mirror = new GitMirror(join(work, 'cp'), url, { username: git.username, password: git.password });
  const bundleAt = async () => {
    const head = await mirror.fetch('main');
    const policy = parsePolicy((await mirror.readFile(head, 'fleet.yaml')) ?? '');
    if (!policy.ok) throw new Error('fleet.yaml');
    const manifests = await mirror.readDir(head, 'manifests');
    if (manifests.problems.length > 0) throw new Error(manifests.problems[0]?.message);
    const r = renderBundle({
      files: manifests.files,
      policy: policy.policy,
      stage: 'all',
      cluster: { name: 'c', labels: {} },
      revision: head,
    });
    if (!r.ok) throw new Error(r.errors[0]?.message);
    return { head, objects: r.bundle.objects.length, digest: r.bundle.digest };
  };
  // Reference: the git CLI fetches the same and extracts the same directory.
  const refDir = join(work, 'ref.git');
  const archive = async (head: string) => {
    const { stdout } = await run(
      'git',
      ['--git-dir', refDir, 'archive', '--format=tar', head, 'fleet.yaml', 'manifests'],
      {
        env: gitEnv,
        maxBuffer: 1 << 30,
        encoding: 'buffer',
      },
    );
    return stdout.length;
  };

  const rows: (string | number)[][] = [];
  let start = now();
  const first = await bundleAt();
  const gfFirst = ms(start);
  start = now();
  await run('git', ['-c', `http.extraHeader=${auth}`, 'clone', '--bare', '-q', url, refDir], { env: gitEnv });
  const refHead = (
    await run('git', ['--git-dir', refDir, 'rev-parse', 'main'], { env: gitEnv })
  ).stdout.trim();
  await archive(refHead);
  const refFirst = ms(start);
  rows.push([
    'first sync',
    Math.round(gfFirst),
    Math.round(refFirst),
    (refFirst / gfFirst).toFixed(2),
    first.objects,
  ]);

  // One file changed in a new commit.
  await git.commit(name, { 'manifests/cm-7.yaml': manifest(7, 999_999) }, 'one file');
  start = now();
  const second = await bundleAt();
  const gfNext = ms(start);
  start = now();
  await run(
    'git',
    ['-c', `http.extraHeader=${auth}`, '--git-dir', refDir, 'fetch', '-q', 'origin', 'main:main'],
    { env: gitEnv },
  );
  await archive('main');
  const refNext = ms(start);
  if (second.digest === first.digest) throw new Error('the new commit did not change the bundle');
  rows.push([
    'one-file commit',
    Math.round(gfNext),
    Math.round(refNext),
    (refNext / gfNext).toFixed(2),
    second.objects,
  ]);

  report.table(
    `Git: ${files} manifests, ${commits} commits (ms; gitfleet = isomorphic-git fetch + read at the head + render; reference = git clone/fetch + git archive)`,
    ['case', 'gitfleet ms', 'git CLI ms', 'git / gitfleet', 'objects'],
    rows,
  );
  report.data.results = rows.map(([c, g, r, ratio, objects]) => ({
    case: c,
    gitfleetMs: g,
    gitMs: r,
    ratio: Number(ratio),
    objects,
  }));
  report.write();
} finally {
  await git.stop();
  rmSync(work, { recursive: true, force: true });
}
