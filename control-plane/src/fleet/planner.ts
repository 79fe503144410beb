// The planner: policy + clusters + statuses + rollout states ⇒ which stage and revision every
// cluster should run now, and the next rollout states. Pure and deterministic (clusters in name
// order, stages in policy order), so it can run on any replica, after any event, as often as
// needed; the caller stores the rollout states and turns revisions into bundles (render.ts).

import type { Phase } from '@gitfleet/proto/core';
import { FleetError, type Problem, problem } from './errors.ts';
import { matchesSelector } from './labels.ts';
import type { FleetPolicy } from './policy.ts';
import { isRevision, sameRevision, shortRevision } from './revision.ts';
import { advanceRollout, type ClusterStatus, type RolloutState } from './rollout.ts';

export type ClusterInfo = { name: string; labels: Record<string, string> };

export type PlanInput = {
  fleet: string;
  policy: FleetPolicy;
  /** The branch head: the revision of stages without a pinned revision (the last good one). */
  head: string;
  clusters: ClusterInfo[];
  /** Latest status per cluster, for this fleet. */
  statuses: Record<string, ClusterStatus | undefined>;
  /** Rollout state per stage from the previous pass (undefined for a stage's first pass). */
  rollouts: Record<string, RolloutState | undefined>;
  /** Milliseconds since the epoch. */
  now: number;
};

/**
 * Why a cluster gets what it gets, i.e. what the caller should do with its desired state:
 * - 'current':   at the stage's revision — set desired to (stage, revision).
 * - 'waiting':   its rollout wave has not come — set desired to (stage, revision), the revision it
 *                had; when revision is null nothing was ever planned: change nothing.
 * - 'unmatched': no stage selects it (revision null) — the fleet no longer targets it: remove.
 * - 'conflict':  several stages select it (see errors; revision null) — keep its current desired
 *                state untouched until the labels or selectors are fixed.
 */
export type ClusterPlanReason = 'current' | 'waiting' | 'unmatched' | 'conflict';

export type ClusterPlan = {
  cluster: string;
  stage: string | null;
  revision: string | null;
  reason: ClusterPlanReason;
};

export type StagePlan = {
  name: string;
  /** The target revision: the pinned one, or the head. */
  revision: string;
  /** The stage's clusters, by name. */
  clusters: string[];
  /** The new rollout state: store it and pass it back as `rollouts[name]` next time. */
  rollout: RolloutState;
};

export type Plan = {
  fleet: string;
  /** By cluster name. */
  clusters: ClusterPlan[];
  /** In policy order. */
  stages: StagePlan[];
  errors: Problem[];
};

export type StageAssignment = {
  /** Stage per cluster; null when no stage or several stages select it. */
  stageOf: Record<string, string | null>;
  /** Clusters selected by more than one stage, with those stages. */
  conflicts: Record<string, string[]>;
  errors: Problem[];
};

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Which stage selects each cluster. A cluster selected by two stages is in none (and an error). */
export function assignStages(policy: FleetPolicy, clusters: ClusterInfo[]): StageAssignment {
  const stageOf: Record<string, string | null> = {};
  const conflicts: Record<string, string[]> = {};
  const errors: Problem[] = [];
  const sorted = [...clusters].sort((a, b) => byName(a.name, b.name));
  for (const cluster of sorted) {
    if (Object.hasOwn(stageOf, cluster.name)) continue;
    const matched = policy.stages
      .filter((s) => matchesSelector(cluster.labels, s.selector))
      .map((s) => s.name);
    if (matched.length > 1) {
      stageOf[cluster.name] = null;
      conflicts[cluster.name] = matched;
      errors.push(
        problem(
          'StageConflict',
          'fleet.yaml',
          undefined,
          `cluster '${cluster.name}' is selected by stages ${matched.map((s) => `'${s}'`).join(' and ')}; a cluster can be in one stage only — change its labels or the stage selectors. Until then it keeps what it runs.`,
        ),
      );
    } else stageOf[cluster.name] = matched[0] ?? null;
  }
  return { stageOf, conflicts, errors };
}

/** The revision a stage should run: its pinned revision, or the branch head. */
export function stageTarget(policy: FleetPolicy, stage: string, head: string): string {
  const s = policy.stages.find((x) => x.name === stage);
  if (!s) throw new FleetError('StageNotFound', `there is no stage '${stage}' in fleet.yaml`);
  return s.revision ?? head;
}

/** Plans every cluster of a fleet. */
export function plan(input: PlanInput): Plan {
  const { policy, statuses, now } = input;
  const { stageOf, conflicts, errors } = assignStages(policy, input.clusters);
  const byCluster = new Map<string, ClusterPlan>();
  const stages: StagePlan[] = [];

  for (const stage of policy.stages) {
    const members = Object.keys(stageOf)
      .filter((c) => stageOf[c] === stage.name)
      .sort(byName);
    const target = stage.revision ?? input.head;
    const { rollout, desired } = advanceRollout({
      stage: stage.name,
      policy: stage.rollout,
      target,
      clusters: members,
      statuses,
      previous: input.rollouts[stage.name],
      now,
    });
    for (const c of members) {
      const d = desired[c]!;
      byCluster.set(c, {
        cluster: c,
        stage: stage.name,
        revision: d.revision,
        reason: d.moved ? 'current' : 'waiting',
      });
    }
    stages.push({ name: stage.name, revision: target, clusters: members, rollout });
  }

  const clusters = Object.keys(stageOf)
    .sort(byName)
    .map(
      (c): ClusterPlan =>
        byCluster.get(c) ?? {
          cluster: c,
          stage: null,
          revision: null,
          reason: Object.hasOwn(conflicts, c) ? 'conflict' : 'unmatched',
        },
    );
  return { fleet: input.fleet, clusters, stages, errors };
}

// ---------------------------------------------------------------------------------------------
// Promotions

export type PromotionInput = {
  policy: FleetPolicy;
  /** The stage being promoted into. */
  stage: string;
  /** The revision to promote. */
  revision: string;
  clusters: ClusterInfo[];
  statuses: Record<string, ClusterStatus | undefined>;
};

export type NotReadyCluster = {
  cluster: string;
  /** null when the cluster never reported for this fleet. */
  phase: Phase | null;
  revision: string | null;
};

export type PromotionCheck =
  | { ok: true; requires: string | null }
  | { ok: false; code: 'PromotionRefused'; requires: string; message: string; notReady: NotReadyCluster[] };

/**
 * Whether `revision` may be promoted into `stage`: always when the stage has no `requires`;
 * otherwise only when every cluster of the required stage reports Ready at exactly that
 * revision. An empty required stage refuses too: nothing has verified the revision.
 * Throws FleetError 'StageNotFound' or 'InvalidRevision'.
 */
export function checkPromotion(input: PromotionInput): PromotionCheck {
  const { policy, stage, revision, statuses } = input;
  const target = policy.stages.find((s) => s.name === stage);
  if (!target) {
    throw new FleetError(
      'StageNotFound',
      `there is no stage '${stage}' in fleet.yaml; stages: ${policy.stages.map((s) => s.name).join(', ')}`,
    );
  }
  if (!isRevision(revision)) {
    throw new FleetError('InvalidRevision', `'${revision}' is not a commit id; give the full hex commit id`);
  }
  const requires = target.requires;
  if (!requires) return { ok: true, requires: null };

  const { stageOf } = assignStages(policy, input.clusters);
  const members = Object.keys(stageOf)
    .filter((c) => stageOf[c] === requires)
    .sort(byName);
  if (members.length === 0) {
    return {
      ok: false,
      code: 'PromotionRefused',
      requires,
      notReady: [],
      message: `cannot promote ${shortRevision(revision)} to '${stage}': it requires stage '${requires}', which has no clusters, so nothing has verified this revision. Register a cluster for '${requires}' first`,
    };
  }
  const notReady: NotReadyCluster[] = members
    .filter((c) => !(statuses[c]?.phase === 'Ready' && sameRevision(statuses[c]?.revision, revision)))
    .map((c) => ({ cluster: c, phase: statuses[c]?.phase ?? null, revision: statuses[c]?.revision ?? null }));
  if (notReady.length === 0) return { ok: true, requires };
  const listed = notReady
    .slice(0, 5)
    .map((n) => `${n.cluster} (${n.phase ? `${n.phase} at ${shortRevision(n.revision)}` : 'no status'})`)
    .join(', ');
  return {
    ok: false,
    code: 'PromotionRefused',
    requires,
    notReady,
    message: `cannot promote ${shortRevision(revision)} to '${stage}': it requires every cluster of '${requires}' to be Ready at that revision, and ${notReady.length} of ${members.length} are not: ${listed}${notReady.length > 5 ? ', …' : ''}. Promote it to '${requires}' first, or wait until it is Ready there`,
  };
}

/**
 * The revision a promotion into `stage` takes when none is given: the target revision of the
 * stage it requires, or else of the stage before it in fleet.yaml. Throws FleetError
 * 'StageNotFound', or 'NoSourceStage' for the first stage without `requires`.
 */
export function defaultPromotionRevision(
  policy: FleetPolicy,
  stage: string,
  plan: Pick<Plan, 'stages'>,
): { from: string; revision: string } {
  const index = policy.stages.findIndex((s) => s.name === stage);
  if (index === -1) throw new FleetError('StageNotFound', `there is no stage '${stage}' in fleet.yaml`);
  const from = policy.stages[index]!.requires ?? policy.stages[index - 1]?.name;
  if (!from) {
    throw new FleetError(
      'NoSourceStage',
      `stage '${stage}' is the first stage and requires none, so there is no stage to promote from; give the revision explicitly`,
    );
  }
  const source = plan.stages.find((s) => s.name === from);
  if (!source) throw new FleetError('StageNotFound', `the plan has no stage '${from}'`);
  return { from, revision: source.revision };
}

/**
 * A policy whose stages select none of the clusters that `previous` (the policy in force)
 * selects would remove the fleet from all of them and prune everything it deployed: most
 * likely a typo in a selector. Like an empty render, that takes `apply.allowEmpty: true`.
 * Returns the problem, or null when the policy may take effect.
 */
export function dropsEveryCluster(
  policy: FleetPolicy,
  previous: FleetPolicy | null,
  clusters: ClusterInfo[],
  file = 'fleet.yaml',
): Problem | null {
  if (!previous || policy.apply.allowEmpty) return null;
  const selectedBy = (p: FleetPolicy) =>
    clusters
      .filter((c) => p.stages.some((s) => matchesSelector(c.labels, s.selector)))
      .map((c) => c.name)
      .sort(byName);
  const running = selectedBy(previous);
  if (running.length === 0 || selectedBy(policy).length > 0) return null;
  const listed =
    running.slice(0, 5).join(', ') + (running.length > 5 ? `, and ${running.length - 5} more` : '');
  return problem(
    'NoClusterSelected',
    file,
    undefined,
    `no stage selects any registered cluster (stages ${policy.stages.map((s) => `'${s.name}'`).join(', ')}); this commit would remove the fleet from the ${running.length} cluster(s) that run it (${listed}) and prune what it deployed there. Fix the selectors, or set \`apply: { allowEmpty: true }\` if that is intended`,
  );
}
