import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthCheckDue } from './reconcile.ts';

test('health is polled every interval while a fleet has been Progressing briefly', () => {
  assert.equal(healthCheckDue('Progressing', 10_000, 2_000, 2_000), true);
  assert.equal(healthCheckDue('Progressing', 10_000, 1_000, 2_000), false);
  assert.equal(healthCheckDue('Drifted', 10_000, 2_000, 2_000), true);
});

test('after two minutes without settling, at most every 30 s', () => {
  assert.equal(healthCheckDue('Progressing', 180_000, 2_000, 2_000), false);
  assert.equal(healthCheckDue('Progressing', 180_000, 30_000, 2_000), true);
});

test('Ready, Failed, Applying and Pending fleets are not polled', () => {
  for (const phase of ['Ready', 'Failed', 'Applying', 'Pending'] as const) {
    assert.equal(healthCheckDue(phase, 0, 1e9, 2_000), false);
  }
});
