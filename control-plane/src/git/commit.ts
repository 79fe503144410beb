// Writing to a fleet's repository: one file changed in one commit on top of the branch head,
// built in the bare mirror's object store (blob → trees up to the root → commit, no working
// tree) and pushed without force. When someone pushed in between, the change is made again
// on the new head and pushed again, a bounded number of times: their commit stays, ours goes
// on top, nothing is rewritten.
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import git from 'isomorphic-git';
import { GitError, type GitMirror } from './mirror.ts';

export interface Signature {
  name: string;
  email: string;
}

export interface FileChange {
  branch: string;
  /** The file's path in the repository (it must exist at the head). */
  path: string;
  /**
   * The new content of the file, from its content at `head`. Called again on every retry
   * with the new head's content, so what others changed meanwhile is kept; it may throw to
   * give up when the change no longer makes sense there. Null: nothing to change.
   */
  edit(current: string, head: string, attempt: number): string | null;
  message: string;
  author: Signature;
  committer: Signature;
  /** A head just fetched, to skip the first fetch. */
  base?: string;
  /** Pushes to try before giving up (default 5). */
  attempts?: number;
}

export interface CommitResult {
  commit: string;
  /** The head the commit was made on (not necessarily `base`: after a retry, a newer one). */
  parent: string;
  /** 1 when the first push went through. */
  attempts: number;
}

/** The branch kept moving under us: every attempt was overtaken by another push. */
export class PushConflictError extends Error {
  readonly code = 'PushConflict';
}

export async function commitFileChange(mirror: GitMirror, change: FileChange): Promise<CommitResult | null> {
  const attempts = change.attempts ?? 5;
  let head = change.base ?? (await mirror.fetch(change.branch));
  for (let attempt = 1; ; attempt++) {
    const current = await mirror.readFile(head, change.path);
    if (current === null) {
      throw new GitError(`${change.path} does not exist at ${head.slice(0, 7)} on ${change.branch}`, {
        refused: true,
      });
    }
    const next = change.edit(current, head, attempt);
    if (next === null || next === current) return null;
    const commit = await writeCommit(mirror.dir, head, change, next);
    try {
      await mirror.push(commit, change.branch);
      return { commit, parent: head, attempts: attempt };
    } catch (err) {
      // A rejected push is told apart from a broken one by looking: if the branch moved, it
      // was a race (non-fast-forward, or the server's old-id check); if not, it is real.
      const now = await mirror.fetch(change.branch);
      if (now === head) throw err;
      if (attempt >= attempts) {
        throw new PushConflictError(
          `${change.branch} moved ${attempts} times while pushing (last head ${now.slice(0, 7)}); try again`,
        );
      }
      head = now;
      // Several writers retrying in lockstep would collide again: back off a little, randomly.
      await sleep(Math.random() * 100 * attempt);
    }
  }
}

async function writeCommit(
  gitdir: string,
  parent: string,
  change: FileChange,
  content: string,
): Promise<string> {
  const blob = await git.writeBlob({ fs, gitdir, blob: Buffer.from(content, 'utf8') });
  const { oid: rootTree } = await git.readTree({ fs, gitdir, oid: parent });
  const segments = change.path.split('/').filter((p) => p && p !== '.');
  const tree = await replaceInTree(gitdir, rootTree, segments, blob, change.path);
  const when = { timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
  return git.writeCommit({
    fs,
    gitdir,
    commit: {
      message: change.message.endsWith('\n') ? change.message : `${change.message}\n`,
      tree,
      parent: [parent],
      author: { ...change.author, ...when },
      committer: { ...change.committer, ...when },
    },
  });
}

/** A copy of tree `treeOid` with the blob at `segments` replaced; returns the new tree's id. */
async function replaceInTree(
  gitdir: string,
  treeOid: string,
  segments: string[],
  blob: string,
  path: string,
): Promise<string> {
  const { tree } = await git.readTree({ fs, gitdir, oid: treeOid });
  const [name, ...rest] = segments;
  const index = tree.findIndex((e) => e.path === name);
  const entry = tree[index];
  if (!entry || (rest.length === 0 ? entry.type !== 'blob' : entry.type !== 'tree')) {
    throw new GitError(`${path} is not a file in the repository`, { refused: true });
  }
  const oid = rest.length === 0 ? blob : await replaceInTree(gitdir, entry.oid, rest, blob, path);
  // The mode stays as it was (an executable bit is not ours to drop).
  const entries = tree.map((e, i) => (i === index ? { ...e, oid } : e));
  return git.writeTree({ fs, gitdir, tree: entries });
}
