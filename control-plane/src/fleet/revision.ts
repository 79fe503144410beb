// Git revisions as the fleet core sees them: commit ids written by people (pinned in
// fleet.yaml, possibly abbreviated) and by the Git tracker (full). The core cannot ask Git,
// so an abbreviated pin is compared by prefix; callers should still resolve pins to full
// ids before planning, so that statuses and rollouts record one spelling.

const REVISION = /^(?:[0-9a-f]{7,40}|[0-9a-f]{64})$/;

/** A commit id: 7–40 lowercase hex digits (abbreviated or full SHA-1) or 64 (SHA-256 repositories). */
export function isRevision(text: string): boolean {
  return REVISION.test(text);
}

/** True when both name the same commit: equal, or one abbreviates the other (≥ 7 digits). */
export function sameRevision(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  if (a === b) return true;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return short.length >= 7 && long.startsWith(short);
}

/** The 7-digit form used in messages. */
export function shortRevision(revision: string | null | undefined): string {
  return revision ? revision.slice(0, 7) : '(none)';
}
