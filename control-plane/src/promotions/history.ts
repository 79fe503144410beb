// Promotions as Git keeps them: the commit message of a promotion (or rollback) with
// trailers a machine can read back, and the pure rules that turn the history of fleet.yaml
// into the promotion history and a rollback's target. No IO here.
import { isMap, isScalar, isSeq, parseDocument, type Scalar, type YAMLMap } from 'yaml';
import { isRevision, sameRevision, shortRevision } from '../fleet/index.ts';

export const TRAILERS = {
  id: 'Gitfleet-Promotion-Id',
  stage: 'Gitfleet-Stage',
  revision: 'Gitfleet-Revision',
  rollbackOf: 'Gitfleet-Rollback-Of',
} as const;

export type PromotionKind = 'promotion' | 'rollback';

export interface Signature {
  name: string;
  email: string;
}

export interface PromotionRecord {
  id: string;
  kind: PromotionKind;
  stage: string;
  /** The full commit id the stage was set to. */
  revision: string;
  /** The promotion commit. */
  commit: string;
  author: Signature;
  /** ISO time of the commit (author date). */
  time: string;
  /** The whole commit message. */
  message: string;
  /** For a rollback: the commit that had set the revision it undid. */
  rollbackOf: string | null;
}

export interface MessageInput {
  kind: PromotionKind;
  id: string;
  stage: string;
  revision: string;
  reason?: string | undefined;
  rollbackOf?: string | undefined;
}

/**
 * `promote prod to 1a2b3c4` (or `roll back prod to …`), the reason as the body, and the
 * trailers as the last paragraph, where `git interpret-trailers` and people expect them.
 */
export function promotionMessage(input: MessageInput): string {
  const verb = input.kind === 'rollback' ? 'roll back' : 'promote';
  const paragraphs = [`${verb} ${input.stage} to ${shortRevision(input.revision)}`];
  const reason = input.reason?.replace(/\r\n?/g, '\n').trim();
  if (reason) paragraphs.push(reason);
  const trailers = [
    `${TRAILERS.id}: ${input.id}`,
    `${TRAILERS.stage}: ${input.stage}`,
    `${TRAILERS.revision}: ${input.revision}`,
  ];
  if (input.rollbackOf) trailers.push(`${TRAILERS.rollbackOf}: ${input.rollbackOf}`);
  paragraphs.push(trailers.join('\n'));
  return `${paragraphs.join('\n\n')}\n`;
}

/**
 * The trailers of a commit message: `Key: value` lines of its last paragraph only, so that
 * a reason quoting a trailer cannot pose as one.
 */
export function parseTrailers(message: string): Record<string, string> {
  const paragraphs = message
    .replace(/\r\n?/g, '\n')
    .trim()
    .split(/\n[ \t]*\n/);
  if (paragraphs.length < 2) return {};
  const out: Record<string, string> = {};
  for (const line of paragraphs.at(-1)!.split('\n')) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*?)\s*$/.exec(line);
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

export interface LogEntry {
  sha: string;
  author: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
  message: string;
}

/** A commit made by a promotion or rollback, or null for any other commit. */
export function promotionOf(entry: LogEntry): PromotionRecord | null {
  const t = parseTrailers(entry.message);
  const id = t[TRAILERS.id];
  const stage = t[TRAILERS.stage];
  const revision = t[TRAILERS.revision];
  if (!id || !stage || !revision || !isRevision(revision)) return null;
  const rollbackOf = t[TRAILERS.rollbackOf];
  return {
    id,
    kind: rollbackOf ? 'rollback' : 'promotion',
    stage,
    revision,
    commit: entry.sha,
    author: { name: entry.author, email: entry.email },
    time: new Date(entry.time * 1000).toISOString(),
    message: entry.message,
    rollbackOf: rollbackOf ?? null,
  };
}

/**
 * The revision `stage` is pinned to in a fleet.yaml text: the text as written (a number-like
 * commit id stays as written), null when the stage follows the head or does not exist,
 * undefined when the file does not parse (the commit says nothing about the stage).
 */
export function stagePin(text: string, stage: string): string | null | undefined {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const stages = (doc.contents as YAMLMap).get('stages', true);
  if (!isSeq(stages)) return null;
  for (const item of stages.items) {
    if (!isMap(item)) continue;
    const name = item.get('name', true);
    if (!isScalar(name) || String((name as Scalar).value) !== stage) continue;
    const node = item.get('revision', true);
    if (!isScalar(node) || node.value === null || node.value === undefined) return null;
    return ((node as Scalar).source ?? String(node.value)).trim().toLowerCase();
  }
  return null;
}

/** One commit of fleet.yaml's history as seen by one stage. */
export interface PinChange {
  commit: string;
  /** The stage's pin after this commit (null: follows the head or absent). */
  pin: string | null;
  /** Whether this commit is a rollback of this stage. */
  rollback: boolean;
}

export interface RollbackPlan {
  /** The pin now (null: the stage follows the branch head). */
  current: string | null;
  /** The commit that set the current pin, when the history shows it. */
  currentCommit: string | null;
  /**
   * The pin to go back to: undefined when the history holds nothing earlier, null when the
   * stage followed the head before.
   */
  previous: string | null | undefined;
}

const samePin = (a: string | null, b: string | null) =>
  a === null || b === null ? a === b : sameRevision(a, b);

/**
 * Where a rollback of a stage goes, from its pins over fleet.yaml's history (oldest first).
 * The pins form a stack: a promotion (or a hand edit) pushes, a rollback pops. So a second
 * rollback goes one step further back instead of undoing the first one: when the revision
 * rolled back to is bad too, rolling back again must not bring back the one just left.
 */
export function rollbackPlan(changes: PinChange[]): RollbackPlan {
  const stack: { pin: string | null; commit: string }[] = [];
  for (const change of changes) {
    const top = stack.at(-1);
    if (top && samePin(top.pin, change.pin)) continue; // this commit left the stage alone
    if (change.rollback && stack.length > 1) {
      stack.pop();
      if (!samePin(stack.at(-1)!.pin, change.pin)) stack.push({ pin: change.pin, commit: change.commit });
    } else {
      stack.push({ pin: change.pin, commit: change.commit });
    }
  }
  const top = stack.at(-1);
  return {
    current: top?.pin ?? null,
    currentCommit: top?.commit ?? null,
    previous: stack.length > 1 ? stack.at(-2)!.pin : undefined,
  };
}
