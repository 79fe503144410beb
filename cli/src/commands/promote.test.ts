import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterStatus, StageView } from '../api.ts';
import { rolloutProgress } from './promote.ts';

const REV = 'abc1234def5678';
const OLD = '9999999aaaaaaa';

function stage(rollout: StageView['rollout'], phases: Record<string, number> = {}): { stages: StageView[] } {
  return {
    stages: [
      { name: 'prod', follows: 'pinned', revision: REV, requires: 'staging', clusters: 2, phases, rollout },
    ],
  };
}

const cluster = (name: string, phase: ClusterStatus['phase'], appliedRevision: string): ClusterStatus => ({
  cluster: name,
  stage: 'prod',
  connected: true,
  desiredRevision: REV,
  desiredDigest: null,
  appliedRevision,
  attemptedRevision: appliedRevision,
  phase,
  message: '',
  observedAt: null,
  driftCorrections: 0,
  objects: [],
});

describe('rolloutProgress', () => {
  it('waits until the rollout of the promoted revision has started', () => {
    assert.deepEqual(rolloutProgress(stage(null), undefined, 'prod', REV), {
      state: 'waiting',
      line: 'prod: waiting for the rollout of abc1234 to start',
    });
    const previous = stage({
      state: 'complete',
      revision: OLD,
      wave: 1,
      waves: 1,
      waveClusters: [],
      reason: null,
    });
    assert.equal(rolloutProgress(previous, undefined, 'prod', REV).state, 'waiting');
    assert.equal(
      rolloutProgress(stage(null), undefined, 'qa', REV).line,
      'qa: waiting for the stage to appear in the fleet',
    );
  });

  it('counts clusters Ready at exactly that revision', () => {
    const progressing = stage(
      { state: 'progressing', revision: REV, wave: 1, waves: 2, waveClusters: [], reason: null },
      { Ready: 2 },
    );
    const status = {
      items: [
        cluster('prod-1', 'Ready', REV),
        cluster('prod-2', 'Ready', OLD),
        { ...cluster('staging-1', 'Ready', REV), stage: 'staging' },
      ],
    };
    assert.deepEqual(rolloutProgress(progressing, status, 'prod', REV.slice(0, 7)), {
      state: 'progressing',
      line: 'prod: wave 1/2, 1/2 clusters Ready at abc1234',
    });
    // Without per-cluster status, the stage's Ready count stands in.
    assert.equal(
      rolloutProgress(progressing, undefined, 'prod', REV).line,
      'prod: wave 1/2, 2/2 clusters Ready at abc1234',
    );
  });

  it('ends complete or halted with the reason', () => {
    const unexplained = stage({
      state: 'halted',
      revision: REV,
      wave: 2,
      waves: 2,
      waveClusters: [],
      reason: null,
    });
    assert.equal(
      rolloutProgress(unexplained, undefined, 'prod', REV).line,
      'prod: wave 2/2: rollout of abc1234 halted (no reason given)',
    );
    const done = stage({
      state: 'complete',
      revision: REV,
      wave: 2,
      waves: 2,
      waveClusters: [],
      reason: null,
    });
    const status = { items: [cluster('prod-1', 'Ready', REV), cluster('prod-2', 'Ready', REV)] };
    assert.deepEqual(rolloutProgress(done, status, 'prod', REV), {
      state: 'complete',
      line: 'prod: rollout complete, 2/2 clusters Ready at abc1234',
    });
    const halted = stage({
      state: 'halted',
      revision: REV,
      wave: 1,
      waves: 2,
      waveClusters: [],
      reason: "rollout of stage 'prod' to abc1234 halted: cluster 'prod-1' is Failed at revision abc1234",
    });
    assert.deepEqual(rolloutProgress(halted, undefined, 'prod', REV), {
      state: 'halted',
      line: "prod: wave 1/2: rollout of stage 'prod' to abc1234 halted: cluster 'prod-1' is Failed at revision abc1234",
    });
  });
});
