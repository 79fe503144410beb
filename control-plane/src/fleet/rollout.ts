// Progressive rollout of one stage to a new revision: a small state machine advanced by the
// planner on every pass (a commit, a status report, a timer). Its state is plain data kept by
// the caller between passes, so any replica can take the next step.
//
// Rules (design: "Status, rollouts and promotions"):
// - Clusters are taken in name order, in waves of at most maxUnavailable (a count, or a
//   percentage of the stage's clusters rounded down but at least 1). No `rollout` in the
//   policy means one wave with every cluster.
// - A wave is launched by moving its clusters to the new revision; the next wave is launched
//   only when every cluster of the current one reports phase Ready at exactly that revision.
// - A moved cluster that reports Failed at the new revision, or one of the current wave that is
//   not Ready within progressDeadline of being moved, halts the rollout. A halted rollout moves
//   nobody (moved clusters stay, the others keep what they had) until a newer revision
//   supersedes it. To retry the same revision, drop the stored state.
// - A newer revision supersedes a running or halted rollout and starts over from the first
//   wave; a cluster already running the new revision counts as moved (it is not moved back).
// - Clusters that join the stage are appended in name order to the waves not yet launched;
//   once a rollout is complete, joining clusters get its revision at once.

import type { Phase } from '@gitfleet/proto/core';
import type { RolloutPolicy } from './policy.ts';
import { sameRevision, shortRevision } from './revision.ts';

/** What a cluster last reported for this fleet. */
export type ClusterStatus = {
  revision: string;
  digest: string;
  phase: Phase;
  /** Milliseconds since the epoch. */
  updatedAt: number;
};

export type RolloutState = {
  /** The revision being rolled out. */
  revision: string;
  /** The revision the stage ran before (null for a stage's first rollout). */
  previousRevision: string | null;
  state: 'progressing' | 'complete' | 'halted';
  /** Cluster names per wave, in order. */
  waves: string[][];
  /** Index in `waves` of the wave launched last. */
  currentWave: number;
  /** When each cluster was moved to `revision` (ms since the epoch). */
  movedAt: Record<string, number>;
  /** Why the rollout halted: the cluster, its phase and revision. */
  reason?: string;
  /**
   * Clusters that, until moved, keep a revision other than previousRevision: set when a newer
   * revision superseded an unfinished rollout (moved clusters were already on its revision).
   */
  previousRevisions?: Record<string, string | null>;
};

export type RolloutInput = {
  stage: string;
  /** The stage's `rollout` policy; undefined = all clusters at once, no deadline. */
  policy: RolloutPolicy | undefined;
  /** The revision the stage should run: pinned or branch head. */
  target: string;
  /** The stage's clusters. */
  clusters: string[];
  statuses: Record<string, ClusterStatus | undefined>;
  previous: RolloutState | undefined;
  /** Milliseconds since the epoch. */
  now: number;
};

export type RolloutResult = {
  rollout: RolloutState;
  /** Per cluster: the revision it should run now (null: nothing yet) and whether it was moved to the target. */
  desired: Record<string, { revision: string | null; moved: boolean }>;
};

/** Clusters per wave: maxUnavailable as a count, or a percentage of `clusterCount` rounded down, at least 1. */
export function waveSize(policy: RolloutPolicy | undefined, clusterCount: number): number {
  if (!policy) return Math.max(1, clusterCount);
  const max = policy.maxUnavailable;
  if (typeof max === 'number') return Math.max(1, Math.floor(max));
  const pct = Number.parseInt(max, 10);
  return Math.max(1, Math.floor((clusterCount * (Number.isFinite(pct) ? pct : 100)) / 100));
}

function chunk(names: string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < names.length; i += size) out.push(names.slice(i, i + size));
  return out;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function readyAt(status: ClusterStatus | undefined, revision: string): boolean {
  return status?.phase === 'Ready' && sameRevision(status.revision, revision);
}

function describe(status: ClusterStatus | undefined): string {
  return status
    ? `phase ${status.phase} at revision ${shortRevision(status.revision)}`
    : 'no status reported';
}

function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s % 60 || (!h && !m) ? `${s % 60}s` : ''}`;
}

/** Takes one step of a stage's rollout. Pure: `previous` is not modified. */
export function advanceRollout(input: RolloutInput): RolloutResult {
  const { target, statuses, now } = input;
  const members = [...new Set(input.clusters)].sort(byName);
  const memberSet = new Set(members);
  const size = waveSize(input.policy, members.length);
  const deadlineMs = input.policy ? input.policy.progressDeadlineSeconds * 1000 : null;
  const prev = input.previous;

  let r: RolloutState;
  if (!prev || !sameRevision(prev.revision, target)) {
    r = start(prev, target, members, size);
  } else {
    r = carryOver(prev, target, members, memberSet, size, now);
  }

  if (r.state === 'progressing') step(r, input.stage, statuses, members, deadlineMs, now);

  const desired: RolloutResult['desired'] = {};
  for (const c of members) {
    const moved = r.state === 'complete' || Object.hasOwn(r.movedAt, c);
    desired[c] = moved
      ? { revision: target, moved: true }
      : { revision: r.previousRevisions?.[c] ?? r.previousRevision, moved: false };
  }
  return { rollout: r, desired };
}

/** A new rollout to `target`, superseding `prev` if any. */
function start(
  prev: RolloutState | undefined,
  target: string,
  members: string[],
  size: number,
): RolloutState {
  const previousRevision = prev ? prev.revision : null;
  const previousRevisions: Record<string, string | null> = {};
  if (prev && prev.state !== 'complete') {
    for (const c of members) {
      const had = Object.hasOwn(prev.movedAt, c)
        ? prev.revision
        : (prev.previousRevisions?.[c] ?? prev.previousRevision);
      if (had !== previousRevision) previousRevisions[c] = had;
    }
  }
  return {
    revision: target,
    previousRevision,
    state: 'progressing',
    waves: chunk(members, size),
    currentWave: 0,
    movedAt: {},
    ...(Object.keys(previousRevisions).length > 0 ? { previousRevisions } : {}),
  };
}

/** The same rollout, adjusted to clusters that joined or left the stage since the last pass. */
function carryOver(
  prev: RolloutState,
  target: string,
  members: string[],
  memberSet: Set<string>,
  size: number,
  now: number,
): RolloutState {
  const launched = prev.waves.slice(0, prev.currentWave + 1).map((w) => w.filter((c) => memberSet.has(c)));
  const inLaunched = new Set(launched.flat());
  const movedAt = Object.fromEntries(Object.entries(prev.movedAt).filter(([c]) => memberSet.has(c)));
  const rest = members.filter((c) => !inLaunched.has(c));
  const r: RolloutState = {
    ...prev,
    revision: target,
    waves: [...launched, ...chunk(rest, size)],
    movedAt,
  };
  if (prev.previousRevisions) {
    const kept = Object.entries(prev.previousRevisions).filter(([c]) => memberSet.has(c));
    if (kept.length > 0) r.previousRevisions = Object.fromEntries(kept);
    else delete r.previousRevisions;
  }
  if (prev.state === 'complete') {
    // A finished rollout is the stage's steady state: newcomers simply get its revision.
    for (const c of rest) movedAt[c] = now;
    r.currentWave = Math.max(0, r.waves.length - 1);
  }
  return r;
}

/** Advances a progressing rollout as far as the statuses allow; mutates `r`. */
function step(
  r: RolloutState,
  stage: string,
  statuses: Record<string, ClusterStatus | undefined>,
  members: string[],
  deadlineMs: number | null,
  now: number,
): void {
  const halt = (reason: string) => {
    r.state = 'halted';
    r.reason = `rollout of stage '${stage}' to ${shortRevision(r.revision)} halted: ${reason}`;
  };
  // Clusters already running the new revision are not moved back while they wait their turn.
  for (const c of members) {
    if (!Object.hasOwn(r.movedAt, c) && sameRevision(statuses[c]?.revision, r.revision)) r.movedAt[c] = now;
  }
  for (;;) {
    const failed = members.filter(
      (c) =>
        Object.hasOwn(r.movedAt, c) &&
        statuses[c]?.phase === 'Failed' &&
        sameRevision(statuses[c]?.revision, r.revision),
    );
    if (failed.length > 0) {
      halt(
        failed
          .map((c) => `cluster '${c}' is Failed at revision ${shortRevision(statuses[c]?.revision)}`)
          .join('; '),
      );
      return;
    }
    const wave = r.waves[r.currentWave];
    if (!wave) {
      r.state = 'complete';
      r.currentWave = Math.max(0, r.waves.length - 1);
      return;
    }
    for (const c of wave) if (!Object.hasOwn(r.movedAt, c)) r.movedAt[c] = now;
    const waiting = wave.filter((c) => !readyAt(statuses[c], r.revision));
    if (deadlineMs !== null) {
      const late = waiting.filter((c) => now - r.movedAt[c]! > deadlineMs);
      if (late.length > 0) {
        halt(
          late
            .map(
              (c) =>
                `cluster '${c}' is not Ready ${formatMs(deadlineMs)} after being moved (${describe(statuses[c])})`,
            )
            .join('; '),
        );
        return;
      }
    }
    if (waiting.length > 0) return;
    if (r.currentWave >= r.waves.length - 1) {
      r.state = 'complete';
      return;
    }
    r.currentWave++;
  }
}
