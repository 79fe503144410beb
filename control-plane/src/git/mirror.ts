// A local bare mirror of one Git repository, kept with isomorphic-git over smart HTTP.
// Files are read at a commit straight from the object store (no checkout), and a fleet's
// directory is identified by its tree id so an unchanged directory is not read again.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import git, { type HttpClient } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { type Problem, problem } from '../fleet/errors.ts';

export interface RepoCredentials {
  username?: string | undefined;
  password?: string | undefined;
  /** A personal access token; sent as HTTP basic auth the way GitHub and Gitea accept it. */
  token?: string | undefined;
}

export interface TreeFile {
  /** Path relative to the repository root. */
  path: string;
  content: string;
}

/** Bounds on what one fleet may hold in Git: a bad commit must not exhaust the control plane. */
export interface ReadLimits {
  /** Largest file read (fleet.yaml or a manifest), in bytes. */
  maxFileBytes: number;
  /** Largest total of the manifest files of one fleet at one commit, in bytes. */
  maxTotalBytes: number;
}

/**
 * 8 MiB holds the largest single-file installs in common use (CRD bundles run to a few MiB);
 * 64 MiB of manifests is far beyond any fleet we know of. Both are configurable
 * (GITFLEET_GIT_MAX_FILE_BYTES, GITFLEET_GIT_MAX_FLEET_BYTES).
 */
export const DEFAULT_READ_LIMITS: Readonly<ReadLimits> = {
  maxFileBytes: 8 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
};

/** What a directory holds: the files read, and why others could not be. */
export interface DirContents {
  files: TreeFile[];
  problems: Problem[];
}

/** A file's text, or why it cannot be used (symlink, too large, binary, not UTF-8), or null when absent. */
export type TextResult = { ok: true; text: string } | { ok: false; problem: Problem } | null;

const SYMLINK_MODE = '120000';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a blob, or the problem that keeps it from being used. Pure. */
export function blobText(
  path: string,
  bytes: Uint8Array,
  maxBytes: number,
): { ok: true; text: string } | { ok: false; problem: Problem } {
  if (bytes.length > maxBytes) {
    return {
      ok: false,
      problem: problem(
        'FileTooLarge',
        path,
        undefined,
        `is ${bytes.length} bytes, over the limit of ${maxBytes} per file (GITFLEET_GIT_MAX_FILE_BYTES); split it into several files`,
      ),
    };
  }
  if (bytes.includes(0)) {
    return {
      ok: false,
      problem: problem(
        'BinaryFile',
        path,
        undefined,
        'is a binary file (it contains NUL bytes), not YAML; remove it or rename it so it does not end in .yaml/.yml',
      ),
    };
  }
  try {
    // A byte-order mark is allowed (editors on Windows write one); YAML ignores it.
    return { ok: true, text: utf8.decode(bytes) };
  } catch {
    const at = firstInvalidUtf8(bytes);
    const line = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
    return {
      ok: false,
      problem: problem(
        'NotUtf8',
        path,
        line,
        `is not UTF-8 text (invalid byte 0x${bytes[at]?.toString(16).padStart(2, '0')} at offset ${at}); save it as UTF-8`,
      ),
    };
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (for messages). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    const trailing =
      c < 0x80
        ? 0
        : c >= 0xc2 && c <= 0xdf
          ? 1
          : c >= 0xe0 && c <= 0xef
            ? 2
            : c >= 0xf0 && c <= 0xf4
              ? 3
              : -1;
    if (trailing < 0) return i;
    for (let k = 1; k <= trailing; k++) {
      if (i + k >= bytes.length || (bytes[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += trailing + 1;
  }
  // Only overlong forms and surrogates get here; the decoder refused them somewhere.
  return 0;
}

/** See GITFLEET_GIT_TIMEOUT_SECONDS. */
export const DEFAULT_GIT_TIMEOUT_MS = 60_000;

/**
 * isomorphic-git's Node client with an idle timeout on the socket: without one, a server that
 * stops answering (a silent network cut, a hung proxy) holds the fetch, and with it every later
 * pass of the fleet, forever. Idle rather than total, so a large clone that keeps receiving
 * bytes is not cut off.
 */
function httpWithTimeout(timeoutMs: number): HttpClient {
  return {
    request: (request) =>
      http.request({ ...request, fetchOptions: { ...request.fetchOptions, timeout: timeoutMs } }),
  };
}

/**
 * One mirror per repository and credentials: fleets on the same repository with different
 * credentials must neither fail with each other's (a wrong password first would stick) nor read
 * through each other's (a fleet without access would see what another fleet fetched).
 */
export function mirrorId(url: string, credentials: RepoCredentials): string {
  const { username = '', password = '', token = '' } = credentials;
  return createHash('sha256')
    .update(JSON.stringify([url, username, password, token]))
    .digest('hex')
    .slice(0, 24);
}

class StopWalk extends Error {}

export class GitError extends Error {
  readonly code = 'GitError';
  /**
   * The Git server answered and refused, or has no such branch or file: the fleet's settings
   * (credentials, URL, branch) or the repository need a change, not the server.
   */
  readonly refused: boolean;

  constructor(message: string, options: { refused?: boolean } = {}) {
    super(message);
    this.refused = options.refused ?? false;
  }
}

/** Hides credentials that a library may echo back in an error message. */
export function redact(message: string, credentials: RepoCredentials): string {
  let out = message.replace(/\/\/[^/@\s]+@/g, '//***@');
  for (const secret of [credentials.password, credentials.token]) {
    if (secret) out = out.split(secret).join('***');
  }
  return out;
}

export class GitMirror {
  readonly url: string;
  readonly dir: string;
  readonly #credentials: RepoCredentials;
  #queue: Promise<unknown> = Promise.resolve();
  // isomorphic-git re-reads and re-parses packfile indexes on every call unless given a cache
  // to keep them in: reading 2,000 files at a commit went from ~30 s to well under a second.
  readonly #cache = {};

  // Fetches and pushes give up on a server that sends nothing for this long.
  readonly #http: HttpClient;
  readonly #timeoutMs: number;

  constructor(
    dataDir: string,
    url: string,
    credentials: RepoCredentials,
    options: { timeoutMs?: number } = {},
  ) {
    this.url = url;
    this.#credentials = credentials;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
    this.#http = httpWithTimeout(this.#timeoutMs);
    this.dir = join(dataDir, 'repos', mirrorId(url, credentials));
  }

  #onAuth = () => {
    const c = this.#credentials;
    if (c.token) return { username: c.username || 'x-access-token', password: c.token };
    if (c.username || c.password) return { username: c.username ?? '', password: c.password ?? '' };
    return { cancel: true };
  };

  // Fetches and pushes on one mirror run one at a time (several fleets may share a repo).
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #wrap<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      const e = err as { code?: string; message?: string; data?: { statusCode?: number } };
      let hint = '';
      if (e.code === 'HttpError' && e.data?.statusCode === 401)
        hint = ': authentication failed, check the fleet credentials';
      if (e.code === 'HttpError' && e.data?.statusCode === 403)
        hint = ': access denied, check that the fleet credentials may read (and, to promote, push)';
      if (e.code === 'HttpError' && e.data?.statusCode === 404)
        hint = ': repository not found, check the URL';
      if (e.code === 'HttpError' && (e.data?.statusCode ?? 0) >= 500)
        hint = ': the Git server failed; the next poll tries again';
      if (e.code === 'NotFoundError')
        hint = ": the branch is not in the repository, push it or change the fleet's branch";
      if (e.code === 'UserCanceledError')
        hint = ': the repository asks for credentials, give the fleet `credentials`';
      if (e.message === 'Request timed out')
        hint = `: no answer for ${this.#timeoutMs / 1000} s (GITFLEET_GIT_TIMEOUT_SECONDS); the next poll tries again`;
      throw new GitError(
        redact(`${what} ${this.url} failed${hint}: ${e.message ?? String(err)}`, this.#credentials),
        {
          refused:
            e.code === 'NotFoundError' ||
            e.code === 'UserCanceledError' ||
            (e.code === 'HttpError' && [401, 403, 404].includes(e.data?.statusCode ?? 0)),
        },
      );
    }
  }

  /** Fetches `branch` (cloning the mirror the first time) and returns its head commit. */
  fetch(branch: string): Promise<string> {
    return this.#exclusive(() =>
      this.#wrap('fetching', async () => {
        if (!fs.existsSync(join(this.dir, 'HEAD'))) {
          await fs.promises.mkdir(this.dir, { recursive: true });
          await git.init({ fs, dir: this.dir, gitdir: this.dir, bare: true, defaultBranch: branch });
          await git.addRemote({ fs, gitdir: this.dir, remote: 'origin', url: this.url, force: true });
        }
        const result = await git.fetch({
          cache: this.#cache,
          fs,
          http: this.#http,
          gitdir: this.dir,
          url: this.url,
          ref: branch,
          remoteRef: branch,
          singleBranch: true,
          tags: false,
          onAuth: this.#onAuth,
        });
        if (!result.fetchHead) throw new Error(`branch ${branch} not found`);
        await git.writeRef({
          fs,
          gitdir: this.dir,
          ref: `refs/heads/${branch}`,
          value: result.fetchHead,
          force: true,
        });
        return result.fetchHead;
      }),
    );
  }

  /**
   * Pushes `commit` to `branch`, never forcing: the remote accepts it only while the branch is
   * at an ancestor of it (isomorphic-git refuses a non-fast-forward itself, and the server's
   * compare-and-swap on the old id catches a push that lands in between). On success the
   * local branch moves to `commit`, as if fetched.
   */
  push(commit: string, branch: string): Promise<void> {
    return this.#exclusive(() =>
      this.#wrap('pushing to', async () => {
        await git.push({
          fs,
          http: this.#http,
          gitdir: this.dir,
          url: this.url,
          ref: commit,
          remoteRef: `refs/heads/${branch}`,
          force: false,
          onAuth: this.#onAuth,
        });
        await git.writeRef({ fs, gitdir: this.dir, ref: `refs/heads/${branch}`, value: commit, force: true });
      }),
    );
  }

  /** The local head of `branch` (as of the last fetch or push), or null before the first fetch. */
  async head(branch: string): Promise<string | null> {
    try {
      return await git.resolveRef({ fs, gitdir: this.dir, ref: `refs/heads/${branch}` });
    } catch {
      return null;
    }
  }

  /** The tree id of `path` at `commit`, or null when the path does not exist there. */
  async treeId(commit: string, path: string): Promise<string | null> {
    try {
      const { oid } = await git.readTree({
        cache: this.#cache,
        fs,
        gitdir: this.dir,
        oid: commit,
        filepath: normalize(path) || undefined,
      });
      return oid;
    } catch {
      return null;
    }
  }

  /** Reads one file at a commit, or null when it does not exist. */
  async readFile(commit: string, path: string): Promise<string | null> {
    try {
      const { blob } = await git.readBlob({
        cache: this.#cache,
        fs,
        gitdir: this.dir,
        oid: commit,
        filepath: normalize(path),
      });
      return Buffer.from(blob).toString('utf8');
    } catch {
      return null;
    }
  }

  /**
   * The first symbolic link or submodule on `path` at `commit` (the path itself or a directory
   * above it), or null. Gitfleet never follows links: one could point anywhere, including
   * outside the repository.
   */
  async linkOnPath(
    commit: string,
    path: string,
  ): Promise<{ path: string; kind: 'symlink' | 'submodule' } | null> {
    const parts = normalize(path).split('/').filter(Boolean);
    let dir = '';
    for (const name of parts) {
      let tree: { path: string; mode: string; type: string }[];
      try {
        ({ tree } = await git.readTree({
          cache: this.#cache,
          fs,
          gitdir: this.dir,
          oid: commit,
          filepath: dir || undefined,
        }));
      } catch {
        return null;
      }
      const entry = tree.find((e) => e.path === name);
      const full = dir ? `${dir}/${name}` : name;
      if (!entry) return null;
      if (entry.mode === SYMLINK_MODE) return { path: full, kind: 'symlink' };
      if (entry.type === 'commit') return { path: full, kind: 'submodule' };
      dir = full;
    }
    return null;
  }

  /** Reads one file as UTF-8 text within `maxBytes`, refusing links, binaries and other encodings. */
  async readText(commit: string, path: string, maxBytes: number): Promise<TextResult> {
    const link = await this.linkOnPath(commit, path);
    if (link) return { ok: false, problem: linkProblem(link.path, link.kind) };
    let blob: Uint8Array;
    try {
      ({ blob } = await git.readBlob({
        cache: this.#cache,
        fs,
        gitdir: this.dir,
        oid: commit,
        filepath: normalize(path),
      }));
    } catch {
      return null;
    }
    return blobText(normalize(path), blob, maxBytes);
  }

  /**
   * Every file under `path` at `commit` (recursively) that `include` accepts, paths relative
   * to the repo root, within `limits`. Symbolic links and submodules anywhere under it are
   * problems, not skipped: what they stand for would be missing from the fleet, and a missing
   * object is pruned.
   */
  async readDir(
    commit: string,
    path: string,
    options: { include?: (path: string) => boolean; limits?: ReadLimits } = {},
  ): Promise<DirContents> {
    const { include = () => true, limits = DEFAULT_READ_LIMITS } = options;
    const root = normalize(path);
    const files: TreeFile[] = [];
    const problems: Problem[] = [];
    const link = await this.linkOnPath(commit, root);
    if (link) return { files, problems: [linkProblem(link.path, link.kind)] };
    let total = 0;
    const walk = async (dirPath: string): Promise<void> => {
      const { tree } = await git.readTree({
        cache: this.#cache,
        fs,
        gitdir: this.dir,
        oid: commit,
        filepath: dirPath || undefined,
      });
      for (const entry of tree) {
        const full = dirPath ? `${dirPath}/${entry.path}` : entry.path;
        if (entry.mode === SYMLINK_MODE) problems.push(linkProblem(full, 'symlink'));
        else if (entry.type === 'commit') problems.push(linkProblem(full, 'submodule'));
        else if (entry.type === 'tree') await walk(full);
        else if (entry.type === 'blob' && include(full)) {
          const read = await this.#blobText(full, entry.oid, limits.maxFileBytes);
          if (!read.ok) {
            problems.push(read.problem);
            continue;
          }
          total += Buffer.byteLength(read.text);
          files.push({ path: full, content: read.text });
        }
      }
    };
    try {
      await walk(root);
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return { files: [], problems };
      throw err;
    }
    if (total > limits.maxTotalBytes) {
      problems.push(
        problem(
          'FleetTooLarge',
          root || '.',
          undefined,
          `the manifests add up to ${total} bytes, over the limit of ${limits.maxTotalBytes} per fleet (GITFLEET_GIT_MAX_FLEET_BYTES); split the fleet`,
        ),
      );
    }
    return { files: files.sort((a, b) => a.path.localeCompare(b.path)), problems };
  }

  /**
   * Writes every file under `path` at `commit` below `dest` (keeping their paths relative to
   * the repository root), bytes as they are: a chart may vendor its dependencies as archives.
   * Links and submodules are problems, as in readDir, and so is a tree over the limits.
   */
  async exportTree(
    commit: string,
    path: string,
    dest: string,
    limits: ReadLimits = DEFAULT_READ_LIMITS,
  ): Promise<Problem[]> {
    const root = normalize(path);
    const problems: Problem[] = [];
    const link = await this.linkOnPath(commit, root);
    if (link) return [linkProblem(link.path, link.kind)];
    let total = 0;
    const walk = async (dirPath: string): Promise<void> => {
      const { tree } = await git.readTree({
        cache: this.#cache,
        fs,
        gitdir: this.dir,
        oid: commit,
        filepath: dirPath || undefined,
      });
      await fs.promises.mkdir(join(dest, dirPath), { recursive: true });
      for (const entry of tree) {
        const full = dirPath ? `${dirPath}/${entry.path}` : entry.path;
        if (entry.mode === SYMLINK_MODE) problems.push(linkProblem(full, 'symlink'));
        else if (entry.type === 'commit') problems.push(linkProblem(full, 'submodule'));
        else if (entry.type === 'tree') await walk(full);
        else if (entry.type === 'blob') {
          const { blob } = await git.readBlob({ cache: this.#cache, fs, gitdir: this.dir, oid: entry.oid });
          if (blob.length > limits.maxFileBytes) {
            problems.push(
              problem(
                'FileTooLarge',
                full,
                undefined,
                `${blob.length} bytes, over the limit of ${limits.maxFileBytes} per file (GITFLEET_GIT_MAX_FILE_BYTES)`,
              ),
            );
            continue;
          }
          total += blob.length;
          if (total > limits.maxTotalBytes) {
            problems.push(
              problem(
                'FleetTooLarge',
                root || '.',
                undefined,
                `the fleet's files add up to more than ${limits.maxTotalBytes} bytes (GITFLEET_GIT_MAX_FLEET_BYTES); split the fleet`,
              ),
            );
            throw new StopWalk();
          }
          await fs.promises.writeFile(join(dest, full), blob);
        }
      }
    };
    try {
      await walk(root);
    } catch (err) {
      if (err instanceof StopWalk) return problems;
      if ((err as { code?: string }).code === 'NotFoundError') {
        return [problem('PathNotFound', root || '.', undefined, `does not exist at ${commit.slice(0, 7)}`)];
      }
      throw err;
    }
    return problems;
  }

  // Blobs are immutable: a commit that changes one file of two thousand reads one blob. Large
  // ones are not kept: the cache is bounded by count, and must stay bounded in bytes too.
  readonly #blobs = new Map<string, string>();

  async #blobText(
    path: string,
    oid: string,
    maxBytes: number,
  ): Promise<{ ok: true; text: string } | { ok: false; problem: Problem }> {
    const cached = this.#blobs.get(oid);
    if (cached !== undefined && Buffer.byteLength(cached) <= maxBytes) return { ok: true, text: cached };
    const { blob } = await git.readBlob({ cache: this.#cache, fs, gitdir: this.dir, oid });
    const read = blobText(path, blob, maxBytes);
    if (!read.ok) return read;
    if (this.#blobs.size >= 20_000) this.#blobs.clear();
    if (blob.length <= 256 * 1024) this.#blobs.set(oid, read.text);
    return read;
  }

  /** Commits on `ref` that touched `path`, newest first. */
  async log(
    ref: string,
    path: string,
    depth = 200,
  ): Promise<{ sha: string; author: string; email: string; time: number; message: string }[]> {
    const commits = await git.log({
      cache: this.#cache,
      fs,
      gitdir: this.dir,
      ref,
      filepath: normalize(path),
      depth,
      force: true,
    });
    return commits.map((c) => ({
      sha: c.oid,
      author: c.commit.author.name,
      email: c.commit.author.email,
      time: c.commit.author.timestamp,
      message: c.commit.message,
    }));
  }
}

function linkProblem(path: string, kind: 'symlink' | 'submodule'): Problem {
  return kind === 'symlink'
    ? problem(
        'SymlinkNotAllowed',
        path,
        undefined,
        'is a symbolic link; gitfleet does not follow links (they may point outside the fleet or the repository): commit the file or directory itself',
      )
    : problem(
        'SubmoduleNotAllowed',
        path,
        undefined,
        'is a Git submodule; gitfleet does not read submodules: commit the manifests into this repository',
      );
}

function normalize(path: string): string {
  return path
    .split('/')
    .filter((p) => p && p !== '.')
    .join('/');
}
