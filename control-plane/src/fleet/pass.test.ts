import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Phase } from '@gitfleet/proto/core';
import { type Problem, problem } from './errors.ts';
import {
  type Condition,
  type ConditionType,
  concludePass,
  conditions,
  EMPTY_STATE,
  type FleetState,
  type PassEvent,
  type PassOutcome,
  type RenderOutcome,
} from './pass.ts';
import { type ClusterInfo, type Plan, plan } from './planner.ts';
import { type FleetPolicy, parsePolicy } from './policy.ts';
import type { ClusterStatus } from './rollout.ts';

const OLD = 'aaaaaaa000000000000000000000000000000000';
const NEW = 'bbbbbbb000000000000000000000000000000000';
const BAD = 'ccccccc000000000000000000000000000000000';
const PIN = 'ddddddd000000000000000000000000000000000';
const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();

function policyOf(text: string): FleetPolicy {
  const r = parsePolicy(text);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.policy;
}

/** One stage, prod, rolling out one cluster at a time; drift is not corrected. */
const POLICY = policyOf(`stages:
  - name: prod
    selector: { matchLabels: { env: prod } }
    rollout: { maxUnavailable: 1 }
apply:
  correctDrift: false
`);

const CLUSTERS: ClusterInfo[] = [
  { name: 'lab', labels: { env: 'lab' } },
  { name: 'prod-a', labels: { env: 'prod' } },
  { name: 'prod-b', labels: { env: 'prod' } },
  { name: 'prod-c', labels: { env: 'prod' } },
];
const PROD = ['prod-a', 'prod-b', 'prod-c'];

const status = (revision: string, phase: Phase = 'Ready'): ClusterStatus => ({
  revision,
  digest: `sha256:${revision.slice(0, 7)}`,
  phase,
  updatedAt: 0,
});
const allAt = (revision: string, phase: Phase = 'Ready'): Record<string, ClusterStatus> =>
  Object.fromEntries(PROD.map((c) => [c, status(revision, phase)]));

const bad = (message: string): Problem => problem('UnknownKey', 'fleet.yaml', 3, message);

/** What the reconciler renders for a plan: unmatched clusters are removed, conflicts and never-planned clusters skipped. */
function rendersOf(p: Plan): RenderOutcome[] {
  return p.clusters.flatMap((c): RenderOutcome[] => {
    if (c.reason === 'unmatched') return [{ cluster: c.cluster, unmatched: true }];
    if (c.reason === 'conflict' || !c.revision || !c.stage) return [];
    return [
      {
        cluster: c.cluster,
        stage: c.stage,
        revision: c.revision,
        digest: `sha256:${c.revision.slice(0, 7)}-${c.cluster}`,
      },
    ];
  });
}

type PassOptions = {
  head: string;
  /** The head's policy; ignored when `errors` is non-empty. */
  policy?: FleetPolicy;
  errors?: Problem[];
  clusters?: ClusterInfo[];
  statuses?: Record<string, ClusterStatus | undefined>;
  renders?: (p: Plan) => RenderOutcome[];
  chartVersions?: Record<string, string>;
  now: number;
};

/** One pass as the reconciler runs it: validate the head, plan with the policy in force, render, conclude. */
function pass(previous: FleetState, o: PassOptions): PassOutcome & { planned?: Plan } {
  const errors = o.errors ?? [];
  const headPolicy = errors.length === 0 ? (o.policy ?? POLICY) : null;
  const head = { commit: o.head, errors, policy: headPolicy };
  const inForce = headPolicy ?? (previous.lastGoodRevision ? previous.policy : null);
  const lastGood = headPolicy ? o.head : previous.lastGoodRevision;
  const fetched = { ok: true as const, head: o.head };
  if (!inForce || !lastGood) return concludePass({ fleet: 'shop', previous, fetched, head, now: o.now });
  const planned = plan({
    fleet: 'shop',
    policy: inForce,
    head: lastGood,
    clusters: o.clusters ?? CLUSTERS,
    statuses: o.statuses ?? {},
    rollouts: previous.rollouts,
    now: o.now,
  });
  const outcome = concludePass({
    fleet: 'shop',
    previous,
    fetched,
    head,
    planned,
    renders: (o.renders ?? rendersOf)(planned),
    apply: inForce.apply,
    ...(o.chartVersions ? { chartVersions: o.chartVersions } : {}),
    pinnedRevisions: inForce.stages.flatMap((s) => (s.revision ? [s.revision] : [])),
    now: o.now,
  });
  return { ...outcome, planned };
}

const cond = (state: FleetState | Condition[], type: ConditionType): Condition => {
  const list = Array.isArray(state) ? state : state.conditions;
  const c = list.find((x) => x.type === type);
  assert.ok(c, `no ${type} condition`);
  return c;
};
const verdict = (state: FleetState, type: ConditionType) => {
  const c = cond(state, type);
  return [c.status, c.reason];
};
const types = (events: PassEvent[]) => events.map((e) => e.type);
const ofType = (events: PassEvent[], type: PassEvent['type']) => events.filter((e) => e.type === type);

/** The fleet after its first commit (OLD) went out to every prod cluster. */
function settledAtOld(): FleetState {
  const first = pass(EMPTY_STATE, { head: OLD, statuses: allAt(OLD), now: T0 });
  assert.equal(first.state.rollouts.prod?.state, 'complete');
  return first.state;
}

describe('concludePass: a failed fetch', () => {
  test('keeps the state, tells the reason once, delivers nothing; a later fetch clears it', () => {
    const previous = settledAtOld();
    const { state, deliveries, events } = concludePass({
      fleet: 'shop',
      previous,
      fetched: { ok: false, error: 'git fetch: connection refused' },
      now: T0 + MIN,
    });
    assert.equal(state.head, OLD);
    assert.equal(state.lastGoodRevision, OLD);
    assert.equal(state.policy, previous.policy);
    assert.deepEqual(state.rollouts, previous.rollouts);
    assert.deepEqual(state.errors, []);
    assert.equal(state.fetchError, 'git fetch: connection refused');
    assert.equal(state.lastSyncAt, iso(T0 + MIN));
    assert.deepEqual(deliveries, []);
    assert.deepEqual(events, [
      { type: 'FleetError', fleet: 'shop', reason: 'git fetch: connection refused' },
    ]);

    assert.deepEqual(verdict(state, 'Fetched'), ['False', 'FetchFailed']);
    assert.equal(cond(state, 'Fetched').message, 'git fetch: connection refused');
    assert.equal(cond(state, 'Fetched').lastTransitionTime, iso(T0 + MIN));
    assert.deepEqual(verdict(state, 'Ready'), ['False', 'FetchFailed']);
    assert.equal(cond(state, 'Ready').lastTransitionTime, iso(T0 + MIN));
    // What was rendered is still in force: Rendered does not move.
    assert.deepEqual(verdict(state, 'Rendered'), ['True', 'Rendered']);
    assert.equal(cond(state, 'Rendered').lastTransitionTime, iso(T0));
    assert.deepEqual(verdict(state, 'Stalled'), ['False', 'CanProgress']);

    const later = pass(state, { head: OLD, statuses: allAt(OLD), now: T0 + 2 * MIN });
    assert.equal(later.state.fetchError, null);
    assert.deepEqual(verdict(later.state, 'Fetched'), ['True', 'Fetched']);
    assert.equal(cond(later.state, 'Fetched').message, 'branch head is aaaaaaa');
    assert.equal(cond(later.state, 'Fetched').lastTransitionTime, iso(T0 + 2 * MIN));
    assert.deepEqual(verdict(later.state, 'Ready'), ['True', 'RolloutComplete']);
    assert.deepEqual(later.events, [], 'the same head after a fetch failure is no news');
  });

  test('on a fleet never fetched: Fetched False/FetchFailed, nothing else known', () => {
    const { state, events } = concludePass({
      fleet: 'shop',
      previous: EMPTY_STATE,
      fetched: { ok: false, error: 'authentication failed' },
      now: T0,
    });
    assert.equal(state.head, null);
    assert.deepEqual(types(events), ['FleetError']);
    assert.deepEqual(verdict(state, 'Fetched'), ['False', 'FetchFailed']);
    assert.deepEqual(verdict(state, 'Ready'), ['False', 'FetchFailed']);
    assert.deepEqual(verdict(state, 'Rendered'), ['Unknown', 'NotRendered']);
  });

  // "a failure keeps everything else as it was": that includes the render problems of the last
  // pass, or Rendered flips to True during a network blip (and back on the next good fetch).
  test('keeps the render problems of the last pass, and so the Rendered condition', () => {
    const failing = pass(settledAtOld(), {
      head: NEW,
      statuses: allAt(OLD),
      renders: (p) =>
        rendersOf(p).map((r) =>
          r.cluster === 'prod-a' ? { cluster: 'prod-a', problems: [bad('prod-a: chart not found')] } : r,
        ),
      now: T0 + MIN,
    }).state;
    assert.deepEqual(verdict(failing, 'Rendered'), ['False', 'RenderFailed']);

    const { state } = concludePass({
      fleet: 'shop',
      previous: failing,
      fetched: { ok: false, error: 'git fetch: timeout' },
      now: T0 + 2 * MIN,
    });
    assert.deepEqual(state.planErrors, failing.planErrors);
    assert.deepEqual(verdict(state, 'Rendered'), ['False', 'RenderFailed']);
    assert.equal(cond(state, 'Rendered').lastTransitionTime, iso(T0 + MIN));
  });
});

describe('concludePass: a bad head commit', () => {
  const errors = [bad("unknown key 'stagse'")];

  test('with a good revision before: that one stays in force, the error is told once', () => {
    const previous = settledAtOld();
    const first = pass(previous, { head: BAD, errors, statuses: allAt(OLD), now: T0 + MIN });
    assert.equal(first.state.head, BAD);
    assert.equal(first.state.lastGoodRevision, OLD);
    assert.equal(first.state.policy, previous.policy);
    assert.deepEqual(first.state.errors, errors);
    assert.deepEqual(first.events, [
      { type: 'FleetError', fleet: 'shop', revision: BAD, reason: "fleet.yaml:3: unknown key 'stagse'" },
    ]);
    // The clusters keep OLD.
    assert.deepEqual(
      first.deliveries.map((d) => [d.cluster, d.entry?.revision ?? null]),
      [
        ['lab', null],
        ['prod-a', OLD],
        ['prod-b', OLD],
        ['prod-c', OLD],
      ],
    );

    const rendered = cond(first.state, 'Rendered');
    assert.deepEqual([rendered.status, rendered.reason], ['False', 'InvalidRevision']);
    assert.match(rendered.message, /^ccccccc is not a good revision: fleet\.yaml:3: /);
    assert.match(rendered.message, /aaaaaaa stays in force$/);
    assert.deepEqual(verdict(first.state, 'Stalled'), ['False', 'CanProgress']);
    assert.deepEqual(verdict(first.state, 'Ready'), ['False', 'InvalidRevision']);
    assert.deepEqual(verdict(first.state, 'Fetched'), ['True', 'Fetched']);

    const second = pass(first.state, { head: BAD, errors, statuses: allAt(OLD), now: T0 + 2 * MIN });
    assert.deepEqual(second.events, [], 'the same head with the same errors is told once');
    assert.equal(second.state.lastGoodRevision, OLD);
    assert.equal(cond(second.state, 'Rendered').lastTransitionTime, iso(T0 + MIN));
  });

  test('with no good revision yet: nothing is planned, Stalled True/NoGoodRevision', () => {
    const first = pass(EMPTY_STATE, { head: BAD, errors, now: T0 });
    assert.equal(first.planned, undefined);
    assert.equal(first.state.head, BAD);
    assert.equal(first.state.lastGoodRevision, null);
    assert.equal(first.state.policy, null);
    assert.deepEqual(first.deliveries, []);
    assert.deepEqual(types(first.events), ['FleetError']);
    assert.deepEqual(verdict(first.state, 'Rendered'), ['False', 'InvalidRevision']);
    assert.match(cond(first.state, 'Rendered').message, /no revision of this fleet is good yet$/);
    const stalled = cond(first.state, 'Stalled');
    assert.deepEqual([stalled.status, stalled.reason], ['True', 'NoGoodRevision']);
    assert.match(stalled.message, /unknown key 'stagse'; commit a fix$/);
    assert.deepEqual(verdict(first.state, 'Ready'), ['False', 'InvalidRevision']);

    const second = pass(first.state, { head: BAD, errors, now: T0 + MIN });
    assert.deepEqual(second.events, []);
  });

  test('a head with more errors than before is told again; a fix is synced', () => {
    const previous = settledAtOld();
    const first = pass(previous, { head: BAD, errors, statuses: allAt(OLD), now: T0 + MIN });
    const more = [...errors, bad("stage name 'prod' is used twice")];
    const worse = pass(first.state, { head: BAD, errors: more, statuses: allAt(OLD), now: T0 + 2 * MIN });
    assert.deepEqual(types(worse.events), ['FleetError']);
    assert.equal(worse.events[0]!.reason, more.map((e) => e.message).join('; '));

    const fixed = pass(worse.state, { head: NEW, statuses: allAt(OLD), now: T0 + 3 * MIN });
    assert.deepEqual(fixed.state.errors, []);
    assert.equal(fixed.state.lastGoodRevision, NEW);
    assert.deepEqual(ofType(fixed.events, 'FleetSynced'), [
      { type: 'FleetSynced', fleet: 'shop', revision: NEW },
    ]);
    assert.deepEqual(verdict(fixed.state, 'Rendered'), ['True', 'Rendered']);
  });
});

describe('concludePass: a good new head', () => {
  test('moves the revision in force, is synced once, delivers per planned cluster', () => {
    const previous = settledAtOld();
    const { state, deliveries, events } = pass(previous, { head: NEW, statuses: allAt(OLD), now: T0 + MIN });
    assert.equal(state.head, NEW);
    assert.equal(state.lastGoodRevision, NEW);
    assert.equal(state.policy, POLICY);
    assert.deepEqual(state.errors, []);
    assert.deepEqual(state.planErrors, []);
    assert.deepEqual(ofType(events, 'FleetSynced'), [{ type: 'FleetSynced', fleet: 'shop', revision: NEW }]);

    const apply = { force: true, prune: true, allowEmpty: false, correctDrift: false };
    assert.deepEqual(deliveries, [
      { cluster: 'lab', entry: null },
      {
        cluster: 'prod-a',
        entry: { fleet: 'shop', stage: 'prod', revision: NEW, digest: 'sha256:bbbbbbb-prod-a', apply },
      },
      {
        cluster: 'prod-b',
        entry: { fleet: 'shop', stage: 'prod', revision: OLD, digest: 'sha256:aaaaaaa-prod-b', apply },
      },
      {
        cluster: 'prod-c',
        entry: { fleet: 'shop', stage: 'prod', revision: OLD, digest: 'sha256:aaaaaaa-prod-c', apply },
      },
    ]);

    const again = pass(state, { head: NEW, statuses: allAt(OLD), now: T0 + 2 * MIN });
    assert.deepEqual(again.events, [], 'a re-plan of the same head is not synced again');
    assert.deepEqual(again.deliveries, deliveries);
  });

  test('the first commit of a fleet: clusters not yet in a wave get nothing', () => {
    const { state, deliveries, events } = pass(EMPTY_STATE, { head: OLD, now: T0 });
    assert.deepEqual(types(events), ['RolloutProgressed', 'FleetSynced']);
    assert.deepEqual(
      deliveries.map((d) => [d.cluster, d.entry?.revision ?? null]),
      [
        ['lab', null],
        ['prod-a', OLD],
      ],
    );
    assert.deepEqual(verdict(state, 'Ready'), ['False', 'Progressing']);
    assert.equal(cond(state, 'Ready').message, 'stage prod: wave 1 of 3');
    assert.deepEqual(verdict(state, 'Fetched'), ['True', 'Fetched']);
    assert.deepEqual(verdict(state, 'Rendered'), ['True', 'Rendered']);
    assert.equal(cond(state, 'Rendered').message, 'aaaaaaa rendered for every cluster');
  });

  test('without an explicit apply, deliveries take the apply settings of the policy in force', () => {
    const planned = plan({
      fleet: 'shop',
      policy: POLICY,
      head: NEW,
      clusters: CLUSTERS,
      statuses: {},
      rollouts: {},
      now: T0,
    });
    const { deliveries } = concludePass({
      fleet: 'shop',
      previous: EMPTY_STATE,
      fetched: { ok: true, head: NEW },
      head: { commit: NEW, errors: [], policy: POLICY },
      planned,
      renders: rendersOf(planned),
      now: T0,
    });
    const entry = deliveries.find((d) => d.cluster === 'prod-a')?.entry;
    assert.deepEqual(entry?.apply, POLICY.apply);
    assert.equal(entry?.apply.correctDrift, false);
  });

  test('render problems, pin problems and plan errors go to planErrors: Rendered False/RenderFailed', () => {
    const policy = policyOf(`stages:
  - name: prod
    selector: { matchLabels: { env: prod } }
  - name: eu
    selector: { matchLabels: { region: eu } }
`);
    const clusters: ClusterInfo[] = [
      ...CLUSTERS,
      { name: 'both', labels: { env: 'prod', region: 'eu' } },
      { name: 'eu-1', labels: { region: 'eu' } },
    ];
    const renderProblem = bad('cluster prod-b, revision bbbbbbb: manifests/app.yaml: not YAML');
    const pinProblem = bad("stage eu: revision 'deadbee' names no commit");
    const planned = plan({
      fleet: 'shop',
      policy,
      head: NEW,
      clusters,
      statuses: {},
      rollouts: {},
      now: T0,
    });
    assert.equal(planned.errors.length, 1, 'the cluster both is in two stages');
    const renders = rendersOf(planned).map(
      (r): RenderOutcome => (r.cluster === 'prod-b' ? { cluster: 'prod-b', problems: [renderProblem] } : r),
    );
    const { state, deliveries, events } = concludePass({
      fleet: 'shop',
      previous: EMPTY_STATE,
      fetched: { ok: true, head: NEW },
      head: { commit: NEW, errors: [], policy },
      pinProblems: [pinProblem],
      planned,
      renders,
      apply: policy.apply,
      now: T0,
    });
    assert.deepEqual(state.planErrors, [pinProblem, planned.errors[0], renderProblem]);
    assert.deepEqual(state.errors, []);
    assert.equal(state.lastGoodRevision, NEW, 'the head itself is good');
    assert.deepEqual(
      deliveries.map((d) => d.cluster),
      ['eu-1', 'lab', 'prod-a', 'prod-c'],
      'no delivery for the cluster that did not render, nor for the conflicting one',
    );
    assert.equal(ofType(events, 'FleetSynced').length, 1);
    const rendered = cond(state, 'Rendered');
    assert.deepEqual([rendered.status, rendered.reason], ['False', 'RenderFailed']);
    assert.equal(
      rendered.message,
      [pinProblem, planned.errors[0]!, renderProblem].map((p) => p.message).join('; '),
    );
    assert.deepEqual(verdict(state, 'Ready'), ['False', 'RenderFailed']);
    assert.deepEqual(verdict(state, 'Stalled'), ['False', 'CanProgress']);

    // The labels are fixed and everything renders: the problems of the last pass are gone.
    const replanned = plan({
      fleet: 'shop',
      policy,
      head: NEW,
      clusters: clusters.filter((c) => c.name !== 'both'),
      statuses: {},
      rollouts: state.rollouts,
      now: T0 + MIN,
    });
    const next = concludePass({
      fleet: 'shop',
      previous: state,
      fetched: { ok: true, head: NEW },
      head: { commit: NEW, errors: [], policy },
      planned: replanned,
      renders: rendersOf(replanned),
      apply: policy.apply,
      now: T0 + MIN,
    });
    assert.deepEqual(next.state.planErrors, []);
    assert.deepEqual(verdict(next.state, 'Rendered'), ['True', 'Rendered']);
    assert.equal(cond(next.state, 'Rendered').lastTransitionTime, iso(T0 + MIN));
  });
});

describe('concludePass: rollouts', () => {
  test('maxUnavailable 1 over 3 clusters: one RolloutProgressed per wave, one RolloutComplete', () => {
    let state = settledAtOld();
    const statuses = allAt(OLD);
    const all: PassEvent[] = [];
    let now = T0;
    /** A pass, then the same pass again, which must be no news. */
    const step = () => {
      now += MIN;
      const outcome = pass(state, { head: NEW, statuses, now });
      all.push(...outcome.events);
      const again = pass(outcome.state, { head: NEW, statuses, now });
      assert.deepEqual(again.events, [], 'unchanged inputs, no event');
      assert.deepEqual(again.deliveries, outcome.deliveries);
      assert.deepEqual(again.state, outcome.state);
      state = outcome.state;
      return outcome;
    };
    const onNew = (o: PassOutcome) =>
      o.deliveries.filter((d) => d.entry?.revision === NEW).map((d) => d.cluster);

    let o = step();
    assert.deepEqual(o.events, [
      { type: 'RolloutProgressed', fleet: 'shop', stage: 'prod', revision: NEW, reason: 'wave 1 of 3' },
      { type: 'FleetSynced', fleet: 'shop', revision: NEW },
    ]);
    assert.deepEqual(onNew(o), ['prod-a']);
    assert.deepEqual(verdict(state, 'Ready'), ['False', 'Progressing']);
    const progressingSince = cond(state, 'Ready').lastTransitionTime;

    // Progressing at the new revision is not Ready: the wave waits.
    statuses['prod-a'] = status(NEW, 'Progressing');
    o = step();
    assert.deepEqual(o.events, []);
    assert.deepEqual(onNew(o), ['prod-a']);

    statuses['prod-a'] = status(NEW);
    o = step();
    assert.deepEqual(o.events, [
      { type: 'RolloutProgressed', fleet: 'shop', stage: 'prod', revision: NEW, reason: 'wave 2 of 3' },
    ]);
    assert.deepEqual(onNew(o), ['prod-a', 'prod-b']);
    assert.equal(cond(state, 'Ready').message, 'stage prod: wave 2 of 3');
    assert.equal(cond(state, 'Ready').lastTransitionTime, progressingSince, 'still False: the time stays');

    statuses['prod-b'] = status(NEW);
    o = step();
    assert.deepEqual(types(o.events), ['RolloutProgressed']);
    assert.equal(o.events[0]!.reason, 'wave 3 of 3');
    assert.deepEqual(onNew(o), PROD);

    statuses['prod-c'] = status(NEW);
    o = step();
    assert.deepEqual(o.events, [
      { type: 'RolloutComplete', fleet: 'shop', stage: 'prod', revision: NEW, reason: 'wave 3 of 3' },
    ]);
    assert.equal(state.rollouts.prod?.state, 'complete');

    const ready = cond(state, 'Ready');
    assert.deepEqual([ready.status, ready.reason], ['True', 'RolloutComplete']);
    assert.equal(ready.message, 'every stage runs its revision (bbbbbbb at the head)');
    assert.equal(ready.lastTransitionTime, iso(now), 'Ready turned True now');
    assert.equal(cond(state, 'Fetched').lastTransitionTime, iso(T0), 'Fetched was True throughout');
    assert.deepEqual(verdict(state, 'Stalled'), ['False', 'CanProgress']);

    // Over the whole rollout: one event per wave, one completion, one sync.
    assert.deepEqual(types(all), [
      'RolloutProgressed',
      'FleetSynced',
      'RolloutProgressed',
      'RolloutProgressed',
      'RolloutComplete',
    ]);

    // Complete and unchanged: later passes publish nothing and keep the transition times.
    o = step();
    assert.deepEqual(o.events, []);
    assert.equal(cond(state, 'Ready').lastTransitionTime, ready.lastTransitionTime);
  });

  test('a Failed report halts: RolloutHalted once, Stalled True/RolloutHalted, Ready False', () => {
    let state = settledAtOld();
    const statuses = allAt(OLD);
    state = pass(state, { head: NEW, statuses, now: T0 + MIN }).state;

    statuses['prod-a'] = status(NEW, 'Failed');
    const halted = pass(state, { head: NEW, statuses, now: T0 + 2 * MIN });
    assert.equal(halted.events.length, 1);
    const event = halted.events[0]!;
    assert.equal(event.type, 'RolloutHalted');
    assert.equal(event.stage, 'prod');
    assert.equal(event.revision, NEW);
    assert.match(event.reason!, /cluster 'prod-a' is Failed at revision bbbbbbb/);
    // Nobody else moves.
    assert.deepEqual(
      halted.deliveries.map((d) => [d.cluster, d.entry?.revision ?? null]),
      [
        ['lab', null],
        ['prod-a', NEW],
        ['prod-b', OLD],
        ['prod-c', OLD],
      ],
    );

    const stalled = cond(halted.state, 'Stalled');
    assert.deepEqual([stalled.status, stalled.reason], ['True', 'RolloutHalted']);
    assert.match(stalled.message, /^stage prod: rollout of stage 'prod' to bbbbbbb halted: /);
    assert.match(stalled.message, /commit a fix or revert/);
    assert.equal(stalled.lastTransitionTime, iso(T0 + 2 * MIN));
    const ready = cond(halted.state, 'Ready');
    assert.deepEqual([ready.status, ready.reason], ['False', 'RolloutHalted']);
    assert.equal(ready.message, stalled.message);
    assert.deepEqual(verdict(halted.state, 'Rendered'), ['True', 'Rendered']);

    const again = pass(halted.state, { head: NEW, statuses, now: T0 + 3 * MIN });
    assert.deepEqual(again.events, [], 'a halted rollout is told once');
    assert.equal(cond(again.state, 'Stalled').lastTransitionTime, iso(T0 + 2 * MIN));

    // A newer revision supersedes the halted rollout.
    const fixed = pass(again.state, { head: PIN, statuses, now: T0 + 4 * MIN });
    assert.deepEqual(types(fixed.events), ['RolloutProgressed', 'FleetSynced']);
    assert.deepEqual(verdict(fixed.state, 'Stalled'), ['False', 'CanProgress']);
    assert.equal(cond(fixed.state, 'Stalled').lastTransitionTime, iso(T0 + 4 * MIN));
  });

  test('rollouts of stages that left the policy are dropped', () => {
    const previous = settledAtOld();
    const renamed = policyOf(`stages:
  - name: production
    selector: { matchLabels: { env: prod } }
`);
    const { state, events } = pass(previous, {
      head: NEW,
      policy: renamed,
      statuses: allAt(OLD),
      now: T0 + MIN,
    });
    assert.deepEqual(Object.keys(state.rollouts), ['production']);
    assert.deepEqual(
      events.map((e) => [e.type, e.stage]),
      [
        ['RolloutProgressed', 'production'],
        ['FleetSynced', undefined],
      ],
    );
  });
});

describe('conditions', () => {
  test('of an empty state: nothing known yet, in the order Ready, Fetched, Rendered, Stalled', () => {
    const list = conditions(EMPTY_STATE, [], T0);
    assert.deepEqual(list, [
      {
        type: 'Ready',
        status: 'False',
        reason: 'NotFetched',
        message: 'the branch was not fetched yet',
        lastTransitionTime: iso(T0),
      },
      {
        type: 'Fetched',
        status: 'Unknown',
        reason: 'NotFetched',
        message: 'the branch was not fetched yet',
        lastTransitionTime: iso(T0),
      },
      {
        type: 'Rendered',
        status: 'Unknown',
        reason: 'NotRendered',
        message: 'nothing was rendered yet',
        lastTransitionTime: iso(T0),
      },
      {
        type: 'Stalled',
        status: 'False',
        reason: 'CanProgress',
        message: 'nothing waits for a person',
        lastTransitionTime: iso(T0),
      },
    ]);
  });

  test('a transition time is kept while the status stays, even when reason and message change', () => {
    const settled = settledAtOld();
    const before = settled.conditions;
    const bad1 = { ...settled, errors: [bad('x')], head: BAD };
    const list = conditions(bad1, before, T0 + MIN);
    assert.equal(cond(list, 'Rendered').lastTransitionTime, iso(T0 + MIN), 'True → False');
    assert.equal(cond(list, 'Ready').lastTransitionTime, iso(T0 + MIN), 'True → False');
    assert.equal(cond(list, 'Fetched').lastTransitionTime, iso(T0), 'True → True');
    assert.equal(cond(list, 'Stalled').lastTransitionTime, iso(T0), 'False → False');

    const fetchFailed = conditions({ ...bad1, fetchError: 'down' }, list, T0 + 2 * MIN);
    assert.deepEqual(verdict({ ...bad1, conditions: fetchFailed }, 'Ready'), ['False', 'FetchFailed']);
    assert.equal(cond(fetchFailed, 'Ready').lastTransitionTime, iso(T0 + MIN), 'False → False');
    assert.equal(cond(fetchFailed, 'Fetched').lastTransitionTime, iso(T0 + 2 * MIN));
  });

  test('long problem lists are cut after three', () => {
    const errors = ['a', 'b', 'c', 'd', 'e'].map((m) => bad(m));
    const list = conditions({ ...EMPTY_STATE, head: BAD, errors }, [], T0);
    assert.equal(
      cond(list, 'Rendered').message,
      'ccccccc is not a good revision: fleet.yaml:3: a; fleet.yaml:3: b; fleet.yaml:3: c; and 2 more; no revision of this fleet is good yet',
    );
  });
});

describe('concludePass: chart versions', () => {
  const commit = (i: number) => `${i.toString(16).padStart(7, '0')}${'e'.repeat(33)}`;
  /** Versions recorded for `n` commits, oldest first, as the reconciler appends them. */
  const recorded = (n: number): Record<string, string> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [commit(i), `1.0.${i}`]));

  test('are kept as they were when the pass brings none', () => {
    const previous = { ...settledAtOld(), chartVersions: { [OLD]: '1.2.3' } };
    const { state } = pass(previous, { head: OLD, statuses: allAt(OLD), now: T0 + MIN });
    assert.deepEqual(state.chartVersions, { [OLD]: '1.2.3' });
  });

  test('versions of commits in use are kept, however old; the rest up to a bound', () => {
    const pinned = policyOf(`stages:
  - name: dev
    selector: { matchLabels: { env: lab } }
  - name: prod
    selector: { matchLabels: { env: prod } }
    revision: ${PIN}
`);
    const previous = settledAtOld();
    const versions = { [PIN]: '0.9.0', [OLD]: '0.9.1', ...recorded(150), [NEW]: '2.0.0' };
    const { state } = pass(previous, {
      head: NEW,
      policy: pinned,
      statuses: allAt(OLD),
      chartVersions: versions,
      now: T0 + MIN,
    });
    assert.equal(state.chartVersions[NEW], '2.0.0', 'the head');
    assert.equal(state.chartVersions[PIN], '0.9.0', 'a pinned revision');
    assert.equal(state.chartVersions[OLD], '0.9.1', "the revision prod's rollout leaves");
    assert.equal(Object.keys(state.chartVersions).length, 100);
    assert.equal(state.chartVersions[commit(149)], '1.0.149', 'the most recently recorded');
    assert.equal(state.chartVersions[commit(0)], undefined, 'the oldest are dropped');
  });

  // keepRecent puts the commits in use first and the rest newest first; the next pass reads
  // that order as "recorded" order again and reverses it, so it keeps the oldest entries.
  test('across passes, the most recently recorded versions are the ones kept', () => {
    const previous = settledAtOld();
    const first = pass(previous, {
      head: commit(119),
      statuses: allAt(OLD),
      chartVersions: recorded(120),
      now: T0 + MIN,
    });
    const kept1 = Object.keys(first.state.chartVersions);
    assert.equal(kept1.length, 100);
    assert.ok(first.state.chartVersions[commit(118)]);
    assert.equal(first.state.chartVersions[commit(19)], undefined);

    // The next commit is rendered and recorded after what the last pass kept.
    const second = pass(first.state, {
      head: commit(120),
      statuses: allAt(OLD),
      chartVersions: { ...first.state.chartVersions, [commit(120)]: '1.0.120' },
      now: T0 + 2 * MIN,
    });
    const kept = second.state.chartVersions;
    assert.equal(Object.keys(kept).length, 100);
    assert.equal(kept[commit(120)], '1.0.120', 'the head');
    assert.equal(kept[commit(119)], '1.0.119', "the revision prod's rollout leaves");
    assert.equal(kept[commit(118)], '1.0.118', 'the most recently recorded commit not in use is kept');
    assert.equal(kept[commit(20)], undefined, 'the oldest recorded commit is dropped');
  });
});
