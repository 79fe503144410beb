import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyLabelChanges, parseLabelChanges, parseLabels } from './labels.ts';

describe('parseLabels (cluster register -l)', () => {
  it('reads key=value, values may hold = and be empty', () => {
    assert.deepEqual(parseLabels(['env=prod', 'note=a=b', 'empty=']), {
      env: 'prod',
      note: 'a=b',
      empty: '',
    });
    assert.deepEqual(parseLabels([]), {});
  });

  it('refuses what is not key=value, and one key with two values', () => {
    assert.throws(() => parseLabels(['env']), { name: 'UsageError', message: /"env": use key=value/ });
    assert.throws(() => parseLabels(['env-']), { name: 'UsageError' });
    assert.throws(() => parseLabels(['=prod']), { message: /has no key/ });
    assert.throws(() => parseLabels(['env=prod', 'env=dev']), {
      message: /env is given twice \(prod and dev\)/,
    });
    assert.deepEqual(parseLabels(['env=prod', 'env=prod']), { env: 'prod' });
  });
});

describe('parseLabelChanges (cluster label)', () => {
  it('sets key=value and removes key-', () => {
    assert.deepEqual(parseLabelChanges(['env=prod', 'tier-', 'gitfleet.io/zone=a']), {
      set: { env: 'prod', 'gitfleet.io/zone': 'a' },
      remove: ['tier'],
    });
  });

  it('treats key=value- as a value ending in -', () => {
    assert.deepEqual(parseLabelChanges(['note=a-']), { set: { note: 'a-' }, remove: [] });
  });

  it('explains mistakes', () => {
    assert.throws(() => parseLabelChanges([]), { name: 'UsageError', message: /at least one label change/ });
    assert.throws(() => parseLabelChanges(['env']), {
      message: /key=value to set a label or key- to remove one/,
    });
    assert.throws(() => parseLabelChanges(['-']), { name: 'UsageError' });
    assert.throws(() => parseLabelChanges(['env=prod', 'env-']), { message: /env is both set and removed/ });
    assert.throws(() => parseLabelChanges(['env-', 'env=prod']), { message: /env is both set and removed/ });
  });

  it('names the command whose help to read', () => {
    assert.throws(
      () => parseLabelChanges(['x']),
      (err: { command?: string }) => err.command === 'cluster label',
    );
  });
});

describe('applyLabelChanges', () => {
  it('merges into the current labels and reports what changed', () => {
    const diff = applyLabelChanges(
      { env: 'prod', region: 'eu', tier: 'gold' },
      { set: { env: 'staging', region: 'eu', team: 'shop' }, remove: ['tier', 'missing'] },
    );
    assert.deepEqual(diff.labels, { env: 'staging', region: 'eu', team: 'shop' });
    assert.deepEqual(diff.added, ['team']);
    assert.deepEqual(diff.changed, ['env']);
    assert.deepEqual(diff.removed, ['tier']);
    assert.deepEqual(diff.missing, ['missing']);
  });

  it('does not modify the labels it was given', () => {
    const current = { env: 'prod' };
    applyLabelChanges(current, { set: { env: 'dev' }, remove: [] });
    assert.deepEqual(current, { env: 'prod' });
  });
});
