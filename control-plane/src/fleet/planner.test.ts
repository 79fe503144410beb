import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Phase } from '@gitfleet/proto/core';
import { FleetError } from './errors.ts';
import {
  assignStages,
  type ClusterInfo,
  checkPromotion,
  defaultPromotionRevision,
  dropsEveryCluster,
  type Plan,
  type PlanInput,
  plan,
} from './planner.ts';
import { type FleetPolicy, parsePolicy } from './policy.ts';
import { type ClusterStatus, type RolloutState, waveSize } from './rollout.ts';

const HEAD = 'aaaaaaa000000000000000000000000000000000';
const OLD = 'bbbbbbb000000000000000000000000000000000';
const NEW = 'ccccccc000000000000000000000000000000000';
const NEWER = 'ddddddd000000000000000000000000000000000';
const MIN = 60_000;

function policyOf(text: string): FleetPolicy {
  const r = parsePolicy(text);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.policy;
}

/** dev follows head; prod is pinned to `prodRevision`, with the given rollout. */
function fleet(
  prodRevision: string,
  rollout = 'rollout: { maxUnavailable: 1, progressDeadline: 10m }',
): FleetPolicy {
  return policyOf(`stages:
  - name: dev
    selector: { matchLabels: { env: dev } }
  - name: prod
    selector: { matchLabels: { env: prod } }
    revision: ${prodRevision}
    requires: dev
    ${rollout}
`);
}

const prod = (n: number): ClusterInfo[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `prod-${String.fromCharCode(97 + i)}`,
    labels: { env: 'prod' },
  }));

const status = (revision: string, phase: Phase = 'Ready', updatedAt = 0): ClusterStatus => ({
  revision,
  digest: 'sha256:x',
  phase,
  updatedAt,
});

function allAt(
  clusters: ClusterInfo[],
  revision: string,
  phase: Phase = 'Ready',
): Record<string, ClusterStatus> {
  return Object.fromEntries(clusters.map((c) => [c.name, status(revision, phase)]));
}

function input(over: Partial<PlanInput>): PlanInput {
  return {
    fleet: 'shop',
    policy: fleet(NEW),
    head: HEAD,
    clusters: [],
    statuses: {},
    rollouts: {},
    now: 0,
    ...over,
  };
}

const revisionOf = (p: Plan, cluster: string) => p.clusters.find((c) => c.cluster === cluster)?.revision;
const stageOf = (p: Plan, name: string) => p.stages.find((s) => s.name === name)!;
const at = (p: Plan, revision: string) =>
  p.clusters.filter((c) => c.revision === revision && c.reason === 'current').map((c) => c.cluster);

/** A prod stage that completed a rollout to OLD: the usual starting point. */
function completeAt(revision: string, clusters: ClusterInfo[]): RolloutState {
  return {
    revision,
    previousRevision: null,
    state: 'complete',
    waves: clusters.map((c) => [c.name]),
    currentWave: clusters.length - 1,
    movedAt: Object.fromEntries(clusters.map((c) => [c.name, 0])),
  };
}

describe('plan: stages', () => {
  test('assigns clusters to stages; head for unpinned stages, the pin for pinned ones', () => {
    const clusters = [
      { name: 'dev-1', labels: { env: 'dev' } },
      ...prod(2),
      { name: 'lab', labels: { env: 'lab' } },
    ];
    const p = plan(input({ clusters, policy: fleet(NEW, '') }));
    assert.deepEqual(p.errors, []);
    assert.deepEqual(p.clusters, [
      { cluster: 'dev-1', stage: 'dev', revision: HEAD, reason: 'current' },
      { cluster: 'lab', stage: null, revision: null, reason: 'unmatched' },
      { cluster: 'prod-a', stage: 'prod', revision: NEW, reason: 'current' },
      { cluster: 'prod-b', stage: 'prod', revision: NEW, reason: 'current' },
    ]);
    assert.deepEqual(
      p.stages.map((s) => [s.name, s.revision, s.clusters]),
      [
        ['dev', HEAD, ['dev-1']],
        ['prod', NEW, ['prod-a', 'prod-b']],
      ],
    );
  });

  test('a cluster matched by two stages is an error and gets nothing new', () => {
    const policy = policyOf(`stages:
  - { name: dev, selector: { matchLabels: { env: dev } } }
  - { name: eu, selector: { matchLabels: { region: eu } } }
`);
    const clusters: ClusterInfo[] = [
      { name: 'both', labels: { env: 'dev', region: 'eu' } },
      { name: 'dev-1', labels: { env: 'dev' } },
    ];
    const p = plan(input({ policy, clusters, statuses: { both: status(OLD) } }));
    assert.equal(p.errors.length, 1);
    assert.equal(p.errors[0]!.code, 'StageConflict');
    assert.match(p.errors[0]!.message, /cluster 'both' is selected by stages 'dev' and 'eu'/);
    assert.deepEqual(p.clusters[0], { cluster: 'both', stage: null, revision: null, reason: 'conflict' });
    assert.deepEqual(stageOf(p, 'dev').clusters, ['dev-1']);
    assert.deepEqual(stageOf(p, 'eu').clusters, []);
    assert.equal(stageOf(p, 'eu').rollout.state, 'complete');
    assert.deepEqual(assignStages(policy, clusters).conflicts, { both: ['dev', 'eu'] });
  });

  test('is deterministic whatever the input order', () => {
    const clusters = prod(5);
    const a = plan(input({ clusters, rollouts: { prod: completeAt(OLD, clusters) } }));
    const b = plan(
      input({ clusters: [...clusters].reverse(), rollouts: { prod: completeAt(OLD, clusters) } }),
    );
    assert.deepEqual(a, b);
  });
});

describe('plan: rollouts', () => {
  test('wave size: a count, or a percentage rounded down, at least 1; no rollout = everyone', () => {
    assert.equal(waveSize({ maxUnavailable: 1, progressDeadlineSeconds: 60 }, 10), 1);
    assert.equal(waveSize({ maxUnavailable: 3, progressDeadlineSeconds: 60 }, 2), 3);
    assert.equal(waveSize({ maxUnavailable: '25%', progressDeadlineSeconds: 60 }, 8), 2);
    assert.equal(waveSize({ maxUnavailable: '25%', progressDeadlineSeconds: 60 }, 10), 2);
    assert.equal(waveSize({ maxUnavailable: '25%', progressDeadlineSeconds: 60 }, 3), 1);
    assert.equal(waveSize({ maxUnavailable: '100%', progressDeadlineSeconds: 60 }, 7), 7);
    assert.equal(waveSize(undefined, 7), 7);
  });

  test('without rollout, every cluster moves at once', () => {
    const clusters = prod(4);
    const p = plan(
      input({
        clusters,
        policy: fleet(NEW, ''),
        statuses: allAt(clusters, OLD),
        rollouts: { prod: completeAt(OLD, clusters) },
      }),
    );
    assert.deepEqual(at(p, NEW), ['prod-a', 'prod-b', 'prod-c', 'prod-d']);
    assert.deepEqual(stageOf(p, 'prod').rollout.waves, [['prod-a', 'prod-b', 'prod-c', 'prod-d']]);
    assert.equal(stageOf(p, 'prod').rollout.state, 'progressing');
  });

  test('maxUnavailable 1: one cluster at a time, in name order, each Ready at the new revision', () => {
    const clusters = prod(3);
    const statuses = allAt(clusters, OLD);
    let rollout: RolloutState | undefined = completeAt(OLD, clusters);
    const step = (now: number) => {
      const p = plan(input({ clusters, statuses, rollouts: { prod: rollout }, now }));
      rollout = stageOf(p, 'prod').rollout;
      return p;
    };

    let p = step(0);
    assert.deepEqual(rollout.waves, [['prod-a'], ['prod-b'], ['prod-c']]);
    assert.equal(rollout.previousRevision, OLD);
    assert.deepEqual(at(p, NEW), ['prod-a']);
    assert.deepEqual(
      p.clusters.map((c) => [c.cluster, c.revision, c.reason]),
      [
        ['prod-a', NEW, 'current'],
        ['prod-b', OLD, 'waiting'],
        ['prod-c', OLD, 'waiting'],
      ],
    );

    // Progressing, or Ready at the old revision, is not enough.
    statuses['prod-a'] = status(NEW, 'Progressing');
    assert.deepEqual(at(step(MIN), NEW), ['prod-a']);
    statuses['prod-a'] = status(OLD, 'Ready');
    assert.deepEqual(at(step(2 * MIN), NEW), ['prod-a']);

    statuses['prod-a'] = status(NEW, 'Ready');
    p = step(3 * MIN);
    assert.deepEqual(at(p, NEW), ['prod-a', 'prod-b']);
    assert.equal(rollout.currentWave, 1);
    assert.equal(rollout.movedAt['prod-b'], 3 * MIN);

    statuses['prod-b'] = status(NEW, 'Ready');
    p = step(4 * MIN);
    assert.deepEqual(at(p, NEW), ['prod-a', 'prod-b', 'prod-c']);
    assert.equal(rollout.state, 'progressing');

    statuses['prod-c'] = status(NEW, 'Ready');
    p = step(5 * MIN);
    assert.equal(rollout.state, 'complete');
    assert.equal(rollout.currentWave, 2);
    assert.deepEqual(at(p, NEW), ['prod-a', 'prod-b', 'prod-c']);
  });

  test('maxUnavailable 25% of 8 clusters: waves of 2', () => {
    const clusters = prod(8);
    const statuses = allAt(clusters, OLD);
    const policy = fleet(NEW, 'rollout: { maxUnavailable: 25%, progressDeadline: 10m }');
    let rollout: RolloutState | undefined = completeAt(OLD, clusters);
    const step = () => {
      const p = plan(input({ policy, clusters, statuses, rollouts: { prod: rollout } }));
      rollout = stageOf(p, 'prod').rollout;
      return p;
    };
    let p = step();
    assert.deepEqual(rollout.waves, [
      ['prod-a', 'prod-b'],
      ['prod-c', 'prod-d'],
      ['prod-e', 'prod-f'],
      ['prod-g', 'prod-h'],
    ]);
    assert.deepEqual(at(p, NEW), ['prod-a', 'prod-b']);
    statuses['prod-a'] = status(NEW);
    assert.deepEqual(at(step(), NEW), ['prod-a', 'prod-b'], 'half a wave Ready does not advance');
    statuses['prod-b'] = status(NEW);
    p = step();
    assert.deepEqual(at(p, NEW), ['prod-a', 'prod-b', 'prod-c', 'prod-d']);
    assert.equal(p.clusters.filter((c) => c.reason === 'waiting').length, 4);
  });

  test('a Failed cluster at the new revision halts the rollout; nobody else moves', () => {
    const clusters = prod(3);
    const statuses = allAt(clusters, OLD);
    let p = plan(input({ clusters, statuses, rollouts: { prod: completeAt(OLD, clusters) } }));
    statuses['prod-a'] = status(NEW, 'Failed');
    p = plan(input({ clusters, statuses, rollouts: { prod: stageOf(p, 'prod').rollout }, now: MIN }));
    const r = stageOf(p, 'prod').rollout;
    assert.equal(r.state, 'halted');
    assert.match(r.reason!, /stage 'prod' to ccccccc halted: cluster 'prod-a' is Failed at revision ccccccc/);
    assert.deepEqual(at(p, NEW), ['prod-a'], 'the failed cluster stays on the new revision');
    assert.equal(revisionOf(p, 'prod-b'), OLD);

    // Halted is sticky: even if prod-a recovers, nothing moves until a newer revision.
    statuses['prod-a'] = status(NEW, 'Ready');
    p = plan(input({ clusters, statuses, rollouts: { prod: r }, now: 2 * MIN }));
    assert.equal(stageOf(p, 'prod').rollout.state, 'halted');
    assert.deepEqual(at(p, NEW), ['prod-a']);
  });

  test('Failed at an older revision does not halt; not Ready within the deadline does', () => {
    const clusters = prod(2);
    const statuses = allAt(clusters, OLD);
    let r = stageOf(
      plan(input({ clusters, statuses, rollouts: { prod: completeAt(OLD, clusters) } })),
      'prod',
    ).rollout;
    statuses['prod-a'] = status(OLD, 'Failed');
    r = stageOf(plan(input({ clusters, statuses, rollouts: { prod: r }, now: 5 * MIN })), 'prod').rollout;
    assert.equal(r.state, 'progressing');
    r = stageOf(plan(input({ clusters, statuses, rollouts: { prod: r }, now: 10 * MIN })), 'prod').rollout;
    assert.equal(r.state, 'progressing', 'exactly at the deadline is still in time');
    const p = plan(input({ clusters, statuses, rollouts: { prod: r }, now: 10 * MIN + 1 }));
    r = stageOf(p, 'prod').rollout;
    assert.equal(r.state, 'halted');
    assert.match(
      r.reason!,
      /cluster 'prod-a' is not Ready 10m after being moved \(phase Failed at revision bbbbbbb\)/,
    );
    assert.equal(revisionOf(p, 'prod-b'), OLD);
  });

  test('the deadline counts from when each wave was moved, and names clusters with no status', () => {
    const clusters = prod(2);
    const statuses: Record<string, ClusterStatus> = { 'prod-a': status(OLD) };
    let r = stageOf(
      plan(input({ clusters, statuses, rollouts: { prod: completeAt(OLD, clusters) } })),
      'prod',
    ).rollout;
    statuses['prod-a'] = status(NEW);
    r = stageOf(plan(input({ clusters, statuses, rollouts: { prod: r }, now: 9 * MIN })), 'prod').rollout;
    assert.equal(r.movedAt['prod-b'], 9 * MIN);
    r = stageOf(plan(input({ clusters, statuses, rollouts: { prod: r }, now: 18 * MIN })), 'prod').rollout;
    assert.equal(r.state, 'progressing');
    r = stageOf(plan(input({ clusters, statuses, rollouts: { prod: r }, now: 20 * MIN })), 'prod').rollout;
    assert.equal(r.state, 'halted');
    assert.match(r.reason!, /cluster 'prod-b' is not Ready 10m after being moved \(no status reported\)/);
  });

  test('a newer revision supersedes a halted rollout: first wave again, clusters keep what they ran', () => {
    const clusters = prod(3);
    const statuses = allAt(clusters, OLD);
    let r = stageOf(
      plan(input({ clusters, statuses, rollouts: { prod: completeAt(OLD, clusters) } })),
      'prod',
    ).rollout;
    statuses['prod-a'] = status(NEW, 'Failed');
    r = stageOf(plan(input({ clusters, statuses, rollouts: { prod: r } })), 'prod').rollout;
    assert.equal(r.state, 'halted');

    let p = plan(input({ policy: fleet(NEWER), clusters, statuses, rollouts: { prod: r }, now: MIN }));
    r = stageOf(p, 'prod').rollout;
    assert.equal(r.state, 'progressing');
    assert.equal(r.revision, NEWER);
    assert.equal(r.previousRevision, NEW);
    assert.equal(r.reason, undefined);
    assert.deepEqual(r.previousRevisions, { 'prod-b': OLD, 'prod-c': OLD });
    assert.equal(r.currentWave, 0);
    assert.deepEqual(
      p.clusters.map((c) => [c.cluster, c.revision]),
      [
        ['prod-a', NEWER],
        ['prod-b', OLD],
        ['prod-c', OLD],
      ],
    );

    statuses['prod-a'] = status(NEWER);
    p = plan(input({ policy: fleet(NEWER), clusters, statuses, rollouts: { prod: r }, now: 2 * MIN }));
    assert.deepEqual(at(p, NEWER), ['prod-a', 'prod-b']);
    assert.equal(revisionOf(p, 'prod-c'), OLD);
  });

  test('a newer revision supersedes a running rollout; clusters already on it count as done', () => {
    const clusters = prod(3);
    const statuses = allAt(clusters, OLD);
    // prod-c already runs NEWER (say, by an earlier rollout that was reverted): it is not moved back.
    statuses['prod-c'] = status(NEWER);
    let r = stageOf(
      plan(input({ clusters, statuses, rollouts: { prod: completeAt(OLD, clusters) } })),
      'prod',
    ).rollout;
    assert.deepEqual(Object.keys(r.movedAt), ['prod-a']);

    const p = plan(input({ policy: fleet(NEWER), clusters, statuses, rollouts: { prod: r } }));
    r = stageOf(p, 'prod').rollout;
    assert.deepEqual(
      p.clusters.map((c) => [c.cluster, c.revision, c.reason]),
      [
        ['prod-a', NEWER, 'current'],
        ['prod-b', OLD, 'waiting'],
        ['prod-c', NEWER, 'current'],
      ],
    );
    // prod-a waits in wave 0; prod-c, already Ready at NEWER, will pass its wave at once.
    statuses['prod-a'] = status(NEWER);
    const q = plan(input({ policy: fleet(NEWER), clusters, statuses, rollouts: { prod: r } }));
    assert.deepEqual(at(q, NEWER), ['prod-a', 'prod-b', 'prod-c']);
    assert.equal(stageOf(q, 'prod').rollout.currentWave, 1);
  });

  test('a stage first planned moves its first wave; later waves get nothing yet', () => {
    const clusters = prod(3);
    const p = plan(input({ clusters }));
    assert.deepEqual(
      p.clusters.map((c) => [c.cluster, c.revision, c.reason]),
      [
        ['prod-a', NEW, 'current'],
        ['prod-b', null, 'waiting'],
        ['prod-c', null, 'waiting'],
      ],
    );
    // After a restart that lost the rollout state, clusters already Ready there are not disturbed.
    const again = plan(input({ clusters, statuses: allAt(clusters, NEW) }));
    assert.equal(stageOf(again, 'prod').rollout.state, 'complete');
    assert.deepEqual(at(again, NEW), ['prod-a', 'prod-b', 'prod-c']);
  });

  test('clusters joining mid-rollout wait their turn; after completion they get the revision at once', () => {
    const clusters = prod(2);
    const statuses = allAt(clusters, OLD);
    let r = stageOf(
      plan(input({ clusters, statuses, rollouts: { prod: completeAt(OLD, clusters) } })),
      'prod',
    ).rollout;
    const more = [...clusters, { name: 'prod-0', labels: { env: 'prod' } }];
    let p = plan(input({ clusters: more, statuses, rollouts: { prod: r } }));
    r = stageOf(p, 'prod').rollout;
    assert.deepEqual(r.waves, [['prod-a'], ['prod-0'], ['prod-b']]);
    assert.deepEqual(
      p.clusters.map((c) => [c.cluster, c.revision]),
      [
        ['prod-0', OLD],
        ['prod-a', NEW],
        ['prod-b', OLD],
      ],
    );
    for (const c of more) statuses[c.name] = status(NEW);
    p = plan(input({ clusters: more, statuses, rollouts: { prod: r } }));
    r = stageOf(p, 'prod').rollout;
    assert.equal(r.state, 'complete');
    p = plan(
      input({
        clusters: [...more, { name: 'prod-z', labels: { env: 'prod' } }],
        statuses,
        rollouts: { prod: r },
      }),
    );
    assert.equal(revisionOf(p, 'prod-z'), NEW);
    assert.equal(stageOf(p, 'prod').rollout.state, 'complete');
  });

  test('clusters leaving a stage drop out of its rollout', () => {
    const clusters = prod(3);
    const r = stageOf(
      plan(input({ clusters, rollouts: { prod: completeAt(OLD, clusters) } })),
      'prod',
    ).rollout;
    const p = plan(input({ clusters: clusters.slice(1), rollouts: { prod: r } }));
    const next = stageOf(p, 'prod').rollout;
    assert.deepEqual(next.waves, [[], ['prod-b'], ['prod-c']]);
    assert.deepEqual(at(p, NEW), ['prod-b'], 'the empty launched wave passes at once');
  });

  test('does not modify its input', () => {
    const clusters = prod(3);
    const rollout = completeAt(OLD, clusters);
    const statuses = allAt(clusters, OLD);
    const frozen = structuredClone({ rollout, statuses });
    plan(input({ clusters, statuses, rollouts: { prod: rollout }, now: 123 }));
    assert.deepEqual({ rollout, statuses }, frozen);
  });

  test('an abbreviated pin matches statuses that report the full commit', () => {
    const clusters = prod(2);
    const statuses = allAt(clusters, NEW);
    const p = plan(
      input({
        clusters,
        policy: fleet(NEW.slice(0, 7)),
        statuses,
        rollouts: { prod: completeAt(OLD, clusters) },
      }),
    );
    assert.equal(stageOf(p, 'prod').rollout.state, 'complete');
  });
});

describe('promotions', () => {
  const policy = fleet(OLD);
  const devs = [
    { name: 'dev-1', labels: { env: 'dev' } },
    { name: 'dev-2', labels: { env: 'dev' } },
  ];
  const clusters = [...devs, ...prod(2)];

  test('a stage without requires accepts any revision', () => {
    assert.deepEqual(checkPromotion({ policy, stage: 'dev', revision: NEW, clusters, statuses: {} }), {
      ok: true,
      requires: null,
    });
  });

  test('refused unless every cluster of the required stage is Ready at exactly that revision', () => {
    const statuses = { 'dev-1': status(NEW), 'dev-2': status(NEW, 'Progressing') };
    const r = checkPromotion({ policy, stage: 'prod', revision: NEW, clusters, statuses });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.code, 'PromotionRefused');
    assert.equal(r.requires, 'dev');
    assert.deepEqual(r.notReady, [{ cluster: 'dev-2', phase: 'Progressing', revision: NEW }]);
    assert.match(
      r.message,
      /cannot promote ccccccc to 'prod': .* 1 of 2 are not: dev-2 \(Progressing at ccccccc\)/,
    );

    const wrongRevision = checkPromotion({
      policy,
      stage: 'prod',
      revision: NEW,
      clusters,
      statuses: { 'dev-1': status(NEW), 'dev-2': status(OLD) },
    });
    assert.deepEqual(!wrongRevision.ok && wrongRevision.notReady, [
      { cluster: 'dev-2', phase: 'Ready', revision: OLD },
    ]);
    const silent = checkPromotion({
      policy,
      stage: 'prod',
      revision: NEW,
      clusters,
      statuses: { 'dev-1': status(NEW) },
    });
    assert.deepEqual(!silent.ok && silent.notReady, [{ cluster: 'dev-2', phase: null, revision: null }]);
  });

  test('accepted when all are Ready at it (an abbreviated revision matches)', () => {
    const statuses = { 'dev-1': status(NEW), 'dev-2': status(NEW) };
    assert.deepEqual(checkPromotion({ policy, stage: 'prod', revision: NEW, clusters, statuses }), {
      ok: true,
      requires: 'dev',
    });
    assert.equal(
      checkPromotion({ policy, stage: 'prod', revision: NEW.slice(0, 7), clusters, statuses }).ok,
      true,
    );
  });

  test('refused when the required stage has no clusters', () => {
    const r = checkPromotion({ policy, stage: 'prod', revision: NEW, clusters: prod(2), statuses: {} });
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.message : '', /requires stage 'dev', which has no clusters/);
  });

  test('unknown stage and malformed revision are errors', () => {
    assert.throws(
      () => checkPromotion({ policy, stage: 'qa', revision: NEW, clusters, statuses: {} }),
      (e: unknown) =>
        e instanceof FleetError && e.code === 'StageNotFound' && /stages: dev, prod/.test(e.message),
    );
    assert.throws(
      () => checkPromotion({ policy, stage: 'prod', revision: 'main', clusters, statuses: {} }),
      (e: unknown) => e instanceof FleetError && e.code === 'InvalidRevision',
    );
  });

  test('the default revision is the one the stage before runs', () => {
    const p = plan(input({ policy, clusters }));
    assert.deepEqual(defaultPromotionRevision(policy, 'prod', p), { from: 'dev', revision: HEAD });
    const three = policyOf(`stages:
  - { name: dev, selector: {} }
  - { name: staging, selector: {}, revision: ${NEW} }
  - { name: prod, selector: {} }
`);
    const q = plan(input({ policy: three }));
    assert.deepEqual(defaultPromotionRevision(three, 'prod', q), { from: 'staging', revision: NEW });
    assert.throws(
      () => defaultPromotionRevision(three, 'dev', q),
      (e: unknown) => e instanceof FleetError && e.code === 'NoSourceStage',
    );
    assert.throws(
      () => defaultPromotionRevision(three, 'qa', q),
      (e: unknown) => e instanceof FleetError && e.code === 'StageNotFound',
    );
  });
});

describe('dropsEveryCluster: a commit that would un-target every cluster', () => {
  const clusters: ClusterInfo[] = [
    { name: 'dev-1', labels: { env: 'dev' } },
    { name: 'prod-1', labels: { env: 'prod' } },
  ];
  const before = policyOf('stages:\n  - name: dev\n    selector: { matchLabels: { env: dev } }\n');
  const typo = policyOf('stages:\n  - name: dev\n    selector: { matchLabels: { env: dve } }\n');

  test('is refused, naming the file, the stages and the clusters it would leave', () => {
    const p = dropsEveryCluster(typo, before, clusters, 'shop/fleet.yaml');
    assert.equal(p?.code, 'NoClusterSelected');
    assert.equal(p?.file, 'shop/fleet.yaml');
    assert.match(
      p?.message ?? '',
      /^shop\/fleet\.yaml: no stage selects any registered cluster \(stages 'dev'\)/,
    );
    assert.match(p?.message ?? '', /the 1 cluster\(s\) that run it \(dev-1\).*allowEmpty: true/);
  });

  test('passes with allowEmpty, for a new fleet, when some cluster stays, or when none ran it', () => {
    const optedIn = policyOf(
      'stages:\n  - name: dev\n    selector: { matchLabels: { env: dve } }\napply: { allowEmpty: true }\n',
    );
    assert.equal(dropsEveryCluster(optedIn, before, clusters), null);
    assert.equal(dropsEveryCluster(typo, null, clusters), null);
    const moved = policyOf('stages:\n  - name: dev\n    selector: { matchLabels: { env: prod } }\n');
    assert.equal(dropsEveryCluster(moved, before, clusters), null);
    assert.equal(dropsEveryCluster(typo, typo, clusters), null);
  });
});
