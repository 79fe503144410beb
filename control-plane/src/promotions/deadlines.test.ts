import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_APPLY } from '@gitfleet/proto/core';
import type { FleetPolicy, RolloutState } from '../fleet/index.ts';
import { overdueRollouts } from './deadlines.ts';

const policy: FleetPolicy = {
  source: 'manifests',
  manifests: './manifests',
  overrides: [],
  substitute: {},
  apply: { ...DEFAULT_APPLY },
  stages: [
    { name: 'dev', selector: {} },
    { name: 'prod', selector: {}, rollout: { maxUnavailable: 1, progressDeadlineSeconds: 60 } },
  ],
};

const rollout = (state: RolloutState['state'], movedAt: Record<string, number>): RolloutState => ({
  revision: 'a'.repeat(40),
  previousRevision: null,
  state,
  waves: [['p1'], ['p2']],
  currentWave: Object.keys(movedAt).length - 1,
  movedAt,
});

describe('overdueRollouts', () => {
  test('a progressing wave moved longer ago than the deadline is due', () => {
    assert.deepEqual(overdueRollouts(policy, { prod: rollout('progressing', { p1: 0 }) }, 61_000), ['prod']);
  });

  test('within the deadline, or only an earlier wave late: not due', () => {
    assert.deepEqual(overdueRollouts(policy, { prod: rollout('progressing', { p1: 0 }) }, 59_000), []);
    assert.deepEqual(
      overdueRollouts(policy, { prod: rollout('progressing', { p1: 0, p2: 30_000 }) }, 61_000),
      [],
    );
  });

  test('halted and complete rollouts, and stages without a rollout policy, are never due', () => {
    assert.deepEqual(overdueRollouts(policy, { prod: rollout('halted', { p1: 0 }) }, 1e9), []);
    assert.deepEqual(overdueRollouts(policy, { prod: rollout('complete', { p1: 0 }) }, 1e9), []);
    assert.deepEqual(overdueRollouts(policy, { dev: rollout('progressing', { p1: 0 }) }, 1e9), []);
    assert.deepEqual(overdueRollouts(null, {}, 1e9), []);
  });
});
