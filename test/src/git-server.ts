// A real Git smart-HTTP server for tests: Node's http server in front of git's own
// `git http-backend` CGI, behind HTTP basic auth, so clients (the control plane's
// isomorphic-git, the git CLI) speak exactly the protocol they speak to a real forge.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { freePort, tempDir } from './process.ts';

export interface GitAuthor {
  name: string;
  email: string;
}

export interface GitLogEntry {
  sha: string;
  author: string;
  email: string;
  subject: string;
  body: string;
}

export interface GitServer {
  /** e.g. http://127.0.0.1:PORT (repositories at `${url}/${name}.git`) */
  url: string;
  username: string;
  password: string;
  /** Directory holding the bare repositories. */
  root: string;
  repoUrl(name: string): string;
  /** Creates a bare repo `${name}.git` with branch `main` and one commit holding `files` (path → content). Returns the commit sha. */
  createRepo(
    name: string,
    files: Record<string, string>,
    options?: { message?: string; author?: GitAuthor },
  ): Promise<string>;
  /** Clones, writes `files` (content null = delete the file), commits, pushes to `branch` (default main) through HTTP with the git CLI, returns the new commit sha. */
  commit(
    name: string,
    files: Record<string, string | null>,
    message: string,
    options?: { branch?: string; author?: GitAuthor },
  ): Promise<string>;
  /** Reads a file at a ref (default main) straight from the bare repo (git show). */
  readFile(name: string, path: string, ref?: string): Promise<string>;
  /** `git log --format=%H%x00%an%x00%ae%x00%s%x00%b%x1e [-- path]` parsed, newest first. */
  log(name: string, options?: { path?: string; ref?: string }): Promise<GitLogEntry[]>;
  /** Number of requests served, for tests that check fetches happened. */
  readonly requestCount: number;
  /** A broken forge: every request is answered with this HTTP status, until called with null. */
  failWith(status: number | null): void;
  stop(): Promise<void>;
}

const REALM = 'gitfleet-test';
const DEFAULT_AUTHOR: GitAuthor = { name: 'Gitfleet Test', email: 'test@gitfleet.invalid' };

function gitExecPath(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['--exec-path'], (err, stdout) => {
      if (err)
        reject(
          new Error(`git is not installed (run \`apt-get install git\` or \`make setup\`): ${err.message}`),
        );
      else resolve(stdout.trim());
    });
  });
}

/**
 * Environment for every git process we run: no system or user config (HOME is an empty
 * temp dir), never prompt for credentials, and fixed identities, so results don't depend
 * on the machine running the tests.
 */
function gitEnv(home: string, author: GitAuthor = DEFAULT_AUTHOR): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
    LANG: 'C',
    LC_ALL: 'C',
  };
}

function runGit(args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'init.defaultBranch=main', ...args],
      { cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

async function writeFiles(dir: string, files: Record<string, string | null>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const target = join(dir, path);
    if (content === null) {
      await rm(target, { force: true });
    } else {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The user name when the request carries the right basic-auth credentials, else undefined. */
function authenticate(req: IncomingMessage, username: string, password: string): string | undefined {
  const header = req.headers.authorization;
  const match = header?.match(/^Basic\s+(\S+)$/i);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  return sameSecret(user, username) && sameSecret(pass, password) ? user : undefined;
}

/** Splits CGI output into its header block and whatever body bytes came with it. */
function splitHeaders(buffer: Buffer): { head: string; rest: Buffer } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) {
    return { head: buffer.subarray(0, crlf).toString('latin1'), rest: buffer.subarray(crlf + 4) };
  }
  if (lf >= 0) return { head: buffer.subarray(0, lf).toString('latin1'), rest: buffer.subarray(lf + 2) };
  return undefined;
}

export async function startGitServer(
  options: { username?: string; password?: string } = {},
): Promise<GitServer> {
  const httpBackend = join(await gitExecPath(), 'git-http-backend');
  const username = options.username ?? `user-${randomBytes(4).toString('hex')}`;
  const password = options.password ?? randomBytes(16).toString('hex');
  const root = tempDir('git-root');
  const home = tempDir('git-home');
  const work = tempDir('git-work');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const children = new Set<ChildProcess>();
  let requestCount = 0;
  let failStatus: number | null = null;

  const serveCgi = (req: IncomingMessage, res: ServerResponse, user: string) => {
    const requestUrl = new URL(req.url ?? '/', url);
    const env: NodeJS.ProcessEnv = {
      ...gitEnv(home),
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      SERVER_SOFTWARE: 'gitfleet-test',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(requestUrl.pathname),
      QUERY_STRING: requestUrl.search.replace(/^\?/, ''),
      REMOTE_USER: user,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      AUTH_TYPE: 'Basic',
    };
    if (req.headers['content-type']) env.CONTENT_TYPE = req.headers['content-type'];
    // Chunked bodies have no length; http-backend then reads stdin to EOF.
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

    const child = spawn(httpBackend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    const stderr: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // The CGI may answer (e.g. 404) without reading the body; a broken pipe is then expected.
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);
    // A client that goes away mid-request must not leave a CGI behind.
    res.on('close', () => {
      if (child.exitCode === null && child.signalCode === null && !res.writableFinished)
        child.kill('SIGKILL');
    });

    let pending: Buffer = Buffer.alloc(0);
    let headersSent = false;
    const onData = (chunk: Buffer) => {
      if (headersSent) return;
      pending = Buffer.concat([pending, chunk]);
      const split = splitHeaders(pending);
      if (!split) return;
      headersSent = true;
      child.stdout.off('data', onData);
      let status = 200;
      let statusMessage: string | undefined;
      const headers: Record<string, string | string[]> = {};
      for (const line of split.head.split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === 'status') {
          const m = value.match(/^(\d{3})\s*(.*)$/);
          if (m) {
            status = Number(m[1]);
            statusMessage = m[2] || undefined;
          }
        } else {
          const existing = headers[key];
          headers[key] = existing === undefined ? value : [...[existing].flat(), value];
        }
      }
      if (statusMessage) res.writeHead(status, statusMessage, headers);
      else res.writeHead(status, headers);
      if (split.rest.length > 0) res.write(split.rest);
      child.stdout.pipe(res);
    };
    child.stdout.on('data', onData);
    child.on('error', (err) => {
      children.delete(child);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`git http-backend failed to start: ${err.message}\n`);
    });
    child.on('close', (code) => {
      children.delete(child);
      if (!headersSent) {
        // No complete header block: report what git said instead of hanging the client.
        const message = Buffer.concat(stderr).toString() || `git http-backend exited with ${code}`;
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(message);
      }
    });
  };

  const server = createServer((req, res) => {
    requestCount++;
    if (failStatus !== null) {
      req.resume();
      res.writeHead(failStatus, { 'Content-Type': 'text/plain' });
      res.end(`failure injected by the test (HTTP ${failStatus})\n`);
      return;
    }
    const user = authenticate(req, username, password);
    if (!user) {
      // Drain the body so the client sees the 401 rather than a reset connection.
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': `Basic realm="${REALM}"`, 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    serveCgi(req, res, user);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  const bare = (name: string) => join(root, `${name}.git`);
  const repoUrl = (name: string) => `${url}/${name}.git`;
  // The CLI authenticates with a header rather than credentials in the URL, so passwords
  // with any characters work and nothing is written to a clone's config.
  const authHeader = `Authorization: Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

  const createRepo: GitServer['createRepo'] = async (name, files, opts = {}) => {
    const env = gitEnv(home, opts.author);
    await mkdir(dirname(bare(name)), { recursive: true });
    await runGit(['init', '--bare', '--quiet', bare(name)], { env });
    const dir = await makeWorkDir();
    try {
      await runGit(['init', '--quiet', dir], { env });
      await writeFiles(dir, files);
      await runGit(['add', '-A'], { cwd: dir, env });
      await runGit(['commit', '--quiet', '--allow-empty', '-m', opts.message ?? 'Initial commit'], {
        cwd: dir,
        env,
      });
      await runGit(['push', '--quiet', bare(name), 'HEAD:refs/heads/main'], { cwd: dir, env });
      return (await runGit(['rev-parse', 'HEAD'], { cwd: dir, env })).trim();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  let workCounter = 0;
  const makeWorkDir = async () => {
    const dir = join(work, String(workCounter++));
    await mkdir(dir);
    return dir;
  };

  const commit: GitServer['commit'] = async (name, files, message, opts = {}) => {
    const branch = opts.branch ?? 'main';
    const env = gitEnv(home, opts.author);
    const http = ['-c', `http.extraHeader=${authHeader}`];
    const dir = await makeWorkDir();
    try {
      await runGit([...http, 'clone', '--quiet', '--no-checkout', repoUrl(name), dir], { env });
      const remoteBranch = `refs/remotes/origin/${branch}`;
      const exists = await runGit(['rev-parse', '--verify', '--quiet', remoteBranch], { cwd: dir, env }).then(
        () => true,
        () => false,
      );
      // A branch that doesn't exist yet starts from main, like a feature branch would.
      await runGit(
        ['checkout', '--quiet', '-B', branch, exists ? remoteBranch : 'refs/remotes/origin/main'],
        {
          cwd: dir,
          env,
        },
      );
      await writeFiles(dir, files);
      await runGit(['add', '-A'], { cwd: dir, env });
      // Empty commits are allowed so a test can move a branch head without changing files.
      await runGit(['commit', '--quiet', '--allow-empty', '-m', message], { cwd: dir, env });
      await runGit([...http, 'push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], { cwd: dir, env });
      return (await runGit(['rev-parse', 'HEAD'], { cwd: dir, env })).trim();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const readFile: GitServer['readFile'] = (name, path, ref = 'main') =>
    runGit(['--git-dir', bare(name), 'show', `${ref}:${path}`], { env: gitEnv(home) });

  const log: GitServer['log'] = async (name, opts = {}) => {
    const args = [
      '--git-dir',
      bare(name),
      'log',
      '--format=%H%x00%an%x00%ae%x00%s%x00%b%x1e',
      opts.ref ?? 'main',
    ];
    if (opts.path) args.push('--', opts.path);
    const out = await runGit(args, { env: gitEnv(home) });
    return out
      .split('\x1e')
      .map((record) => record.replace(/^\n/, ''))
      .filter((record) => record.length > 0)
      .map((record) => {
        const [sha = '', author = '', email = '', subject = '', body = ''] = record.split('\0');
        return { sha, author, email, subject, body: body.replace(/\n+$/, '') };
      });
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const child of children) child.kill('SIGKILL');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await Promise.all([root, home, work].map((dir) => rm(dir, { recursive: true, force: true })));
  };

  return {
    url,
    username,
    password,
    root,
    repoUrl,
    createRepo,
    commit,
    readFile,
    log,
    get requestCount() {
      return requestCount;
    },
    failWith(status) {
      failStatus = status;
    },
    stop,
  };
}
