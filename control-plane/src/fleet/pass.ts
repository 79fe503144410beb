// The decision of one reconcile pass, without IO: from what the pass found (the fetch, the
// head's validation, the plan, the renders) and the fleet's previous state, the new state,
// the desired state to deliver and the events to publish. The reconciler reads, renders and
// writes around it; everything it decides is here, where a unit test can see it.
//
// The outcome is told as conditions (after Kubernetes' metav1.Condition and kstatus):
//   Fetched   the branch head could be fetched
//   Rendered  the head is a good revision and every cluster's bundle rendered
//   Stalled   nothing moves until someone acts (a halted rollout, no good revision at all)
//   Ready     all of the above went well and every stage's rollout is complete
import type { ApplySettings } from '@gitfleet/proto/core';
import type { Problem } from './errors.ts';
import type { Plan } from './planner.ts';
import type { FleetPolicy } from './policy.ts';
import { shortRevision } from './revision.ts';
import type { RolloutState } from './rollout.ts';

export type ConditionType = 'Ready' | 'Fetched' | 'Rendered' | 'Stalled';

export type Condition = {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase, for machines: FetchFailed, InvalidRevision, RenderFailed, RolloutHalted, … */
  reason: string;
  /** For people: what happened and what to do. */
  message: string;
  /** When status last changed (ISO time). */
  lastTransitionTime: string;
};

export interface FleetState {
  /** Branch head at the last fetch. */
  head: string | null;
  /** The newest commit that parsed and rendered cleanly; stages following the head run it. */
  lastGoodRevision: string | null;
  /** The policy at lastGoodRevision. */
  policy: FleetPolicy | null;
  /** Problems of the head commit (empty when the head is good). */
  errors: Problem[];
  /** Problems found while planning (e.g. a cluster matched by two stages). */
  planErrors: Problem[];
  rollouts: Record<string, RolloutState | undefined>;
  lastSyncAt: string | null;
  /** Why the last fetch failed (network, auth), if it did. */
  fetchError: string | null;
  /** Helm fleets: the exact chart version each commit in use resolved to (a range resolves once per commit). */
  chartVersions: Record<string, string>;
  conditions: Condition[];
}

export const EMPTY_STATE: FleetState = {
  head: null,
  lastGoodRevision: null,
  policy: null,
  errors: [],
  planErrors: [],
  rollouts: {},
  lastSyncAt: null,
  fetchError: null,
  chartVersions: {},
  conditions: [],
};

/** One fleet's desired state on one cluster; null removes it (the cluster left the fleet). */
export type Delivery = {
  cluster: string;
  entry: { fleet: string; stage: string; revision: string; digest: string; apply: ApplySettings } | null;
};

/** What rendering one planned cluster gave. */
export type RenderOutcome =
  | { cluster: string; unmatched: true }
  | { cluster: string; problems: Problem[] }
  | { cluster: string; stage: string; revision: string; digest: string };

/** An event of the pass, before the publisher stamps its time. */
export type PassEvent = {
  type: 'FleetError' | 'FleetSynced' | 'RolloutProgressed' | 'RolloutHalted' | 'RolloutComplete';
  fleet: string;
  stage?: string;
  revision?: string;
  reason?: string;
};

export type PassInput = {
  fleet: string;
  previous: FleetState;
  /** The fetch: the head it found, or why it failed. */
  fetched: { ok: true; head: string | null } | { ok: false; error: string };
  /** The head commit and what is wrong with it (nothing when it is good); absent when not read. */
  head?: { commit: string; errors: Problem[]; policy: FleetPolicy | null };
  /** Problems found before planning (stage pins that name no commit). */
  pinProblems?: Problem[];
  /** The plan and each planned cluster's render; absent when there was nothing to plan. */
  planned?: Plan;
  renders?: RenderOutcome[];
  /** How the policy in force applies (goes with every delivery). */
  apply?: ApplySettings;
  /** Chart versions known after this pass's renders, and the commits whose versions matter. */
  chartVersions?: Record<string, string>;
  pinnedRevisions?: string[];
  now: number;
};

export type PassOutcome = {
  state: FleetState;
  deliveries: Delivery[];
  events: PassEvent[];
};

export function concludePass(input: PassInput): PassOutcome {
  const { fleet, previous, fetched, now } = input;
  const events: PassEvent[] = [];
  const state: FleetState = { ...previous, lastSyncAt: new Date(now).toISOString() };

  // 1. the fetch: a failure keeps everything else as it was, and is told when it is new
  if (!fetched.ok) {
    state.fetchError = fetched.error;
    if (fetched.error !== previous.fetchError)
      events.push({ type: 'FleetError', fleet, reason: fetched.error });
    state.conditions = conditions(state, previous.conditions, now);
    return { state, deliveries: [], events };
  }
  state.fetchError = null;
  state.planErrors = [];
  state.head = fetched.head;

  // 2. the head: a good one becomes the revision in force, a bad one is told once
  const head = input.head;
  let headChanged = false;
  if (head) {
    headChanged = head.commit !== previous.head || head.errors.length !== previous.errors.length;
    state.errors = head.errors;
    if (head.errors.length === 0 && head.policy) {
      state.lastGoodRevision = head.commit;
      state.policy = head.policy;
    }
    if (head.errors.length > 0 && headChanged) {
      events.push({
        type: 'FleetError',
        fleet,
        revision: head.commit,
        reason: head.errors.map((e) => e.message).join('; '),
      });
    }
  }

  // 3. the plan and its renders become deliveries
  const deliveries: Delivery[] = [];
  const planned = input.planned;
  if (planned) {
    state.planErrors = [...(input.pinProblems ?? []), ...planned.errors];
    for (const r of input.renders ?? []) {
      if ('unmatched' in r) deliveries.push({ cluster: r.cluster, entry: null });
      else if ('problems' in r) state.planErrors.push(...r.problems);
      else {
        deliveries.push({
          cluster: r.cluster,
          entry: {
            fleet,
            stage: r.stage,
            revision: r.revision,
            digest: r.digest,
            apply: input.apply ?? (state.policy as FleetPolicy).apply,
          },
        });
      }
    }

    // 4. rollouts: one event per step a stage took
    const rollouts: Record<string, RolloutState | undefined> = {};
    for (const stage of planned.stages) {
      rollouts[stage.name] = stage.rollout;
      const step = rolloutEvent(fleet, stage.name, previous.rollouts[stage.name], stage.rollout);
      if (step) events.push(step);
    }
    state.rollouts = rollouts;
    state.chartVersions = keepRecent(input.chartVersions ?? state.chartVersions, [
      state.head,
      state.lastGoodRevision,
      ...(input.pinnedRevisions ?? []),
      ...Object.values(rollouts).flatMap((r) => [r?.revision, r?.previousRevision]),
    ]);
    if (headChanged && head && head.errors.length === 0) {
      events.push({ type: 'FleetSynced', fleet, revision: head.commit });
    }
  }
  state.conditions = conditions(state, previous.conditions, now);
  return { state, deliveries, events };
}

function rolloutEvent(
  fleet: string,
  stage: string,
  before: RolloutState | undefined,
  after: RolloutState,
): PassEvent | null {
  if (
    before &&
    before.revision === after.revision &&
    before.state === after.state &&
    before.currentWave === after.currentWave
  ) {
    return null;
  }
  const type =
    after.state === 'halted'
      ? 'RolloutHalted'
      : after.state === 'complete'
        ? 'RolloutComplete'
        : 'RolloutProgressed';
  return {
    type,
    fleet,
    stage,
    revision: after.revision,
    reason: after.reason ?? `wave ${after.currentWave + 1} of ${after.waves.length}`,
  };
}

type Verdict = Pick<Condition, 'status' | 'reason' | 'message'>;

/** The four conditions of a state; a condition's transition time moves only when its status does. */
export function conditions(state: FleetState, previous: Condition[], now: number): Condition[] {
  const fetched: Verdict = state.fetchError
    ? { status: 'False', reason: 'FetchFailed', message: state.fetchError }
    : state.head
      ? { status: 'True', reason: 'Fetched', message: `branch head is ${shortRevision(state.head)}` }
      : { status: 'Unknown', reason: 'NotFetched', message: 'the branch was not fetched yet' };

  const inForce = state.lastGoodRevision
    ? `; ${shortRevision(state.lastGoodRevision)} stays in force`
    : '; no revision of this fleet is good yet';
  const rendered: Verdict =
    state.errors.length > 0
      ? {
          status: 'False',
          reason: 'InvalidRevision',
          message: `${state.head ? shortRevision(state.head) : 'the head'} is not a good revision: ${messages(state.errors)}${inForce}`,
        }
      : state.planErrors.length > 0
        ? { status: 'False', reason: 'RenderFailed', message: messages(state.planErrors) }
        : state.lastGoodRevision
          ? {
              status: 'True',
              reason: 'Rendered',
              message: `${shortRevision(state.lastGoodRevision)} rendered for every cluster`,
            }
          : { status: 'Unknown', reason: 'NotRendered', message: 'nothing was rendered yet' };

  const halted = Object.entries(state.rollouts).filter(([, r]) => r?.state === 'halted');
  const stalled: Verdict =
    halted.length > 0
      ? {
          status: 'True',
          reason: 'RolloutHalted',
          message: halted
            .map(([stage, r]) => `stage ${stage}: ${r?.reason ?? 'halted'}`)
            .concat('commit a fix or revert (a newer revision supersedes a halted rollout)')
            .join('; '),
        }
      : state.errors.length > 0 && !state.lastGoodRevision
        ? { status: 'True', reason: 'NoGoodRevision', message: `${messages(state.errors)}; commit a fix` }
        : { status: 'False', reason: 'CanProgress', message: 'nothing waits for a person' };

  const progressing = Object.entries(state.rollouts).filter(([, r]) => r?.state === 'progressing');
  const ready: Verdict =
    fetched.status !== 'True'
      ? { status: 'False', reason: fetched.reason, message: fetched.message }
      : rendered.status !== 'True'
        ? { status: 'False', reason: rendered.reason, message: rendered.message }
        : stalled.status === 'True'
          ? { status: 'False', reason: stalled.reason, message: stalled.message }
          : progressing.length > 0
            ? {
                status: 'False',
                reason: 'Progressing',
                message: progressing
                  .map(
                    ([stage, r]) => `stage ${stage}: wave ${(r?.currentWave ?? 0) + 1} of ${r?.waves.length}`,
                  )
                  .join('; '),
              }
            : {
                status: 'True',
                reason: 'RolloutComplete',
                message: `every stage runs its revision (${shortRevision(state.lastGoodRevision ?? '')} at the head)`,
              };

  const time = new Date(now).toISOString();
  const stamp = (type: ConditionType, v: Verdict): Condition => {
    const before = previous.find((c) => c.type === type);
    return {
      type,
      ...v,
      lastTransitionTime: before && before.status === v.status ? before.lastTransitionTime : time,
    };
  };
  return [
    stamp('Ready', ready),
    stamp('Fetched', fetched),
    stamp('Rendered', rendered),
    stamp('Stalled', stalled),
  ];
}

function messages(problems: Problem[]): string {
  const shown = problems.slice(0, 3).map((p) => p.message);
  if (problems.length > 3) shown.push(`and ${problems.length - 3} more`);
  return shown.join('; ');
}

/**
 * The chart versions to keep: those of the commits in use (head, pins, rollouts), then the most
 * recently recorded up to a bound, so a rollback to an older commit renders the chart it ran.
 */
function keepRecent(
  versions: Record<string, string>,
  inUse: (string | undefined | null)[],
): Record<string, string> {
  // Object keys keep their insertion order (commit ids are not integer-like): oldest first.
  const recorded = Object.entries(versions);
  const keep = new Set(inUse.filter((c): c is string => !!c && c in versions));
  for (let i = recorded.length - 1; i >= 0 && keep.size < 100; i--)
    keep.add((recorded[i] as [string, string])[0]);
  return Object.fromEntries(recorded.filter(([c]) => keep.has(c)));
}
