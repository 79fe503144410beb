import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRefKey } from '../objects.ts';
import type { ChangeSet } from './changeset.ts';
import {
  changeEntry,
  emptyChangeSet,
  entriesWith,
  failedEntry,
  formatChangeSet,
  formatEntry,
  formatSummary,
  hasChanges,
  hasFailures,
  mergeChangeSets,
  summarize,
} from './changeset.ts';
import { fromApiStatus } from './errors.ts';

const web = parseRefKey('apps/Deployment/shop/web');
const ns = parseRefKey('/Namespace//shop');
const cfg = parseRefKey('/ConfigMap/shop/settings');
const old = parseRefKey('/Service/shop/legacy');

describe('ChangeSet', () => {
  const stage1: ChangeSet = { entries: [changeEntry(ns, 'created')] };
  const stage2: ChangeSet = {
    entries: [changeEntry(cfg, 'unchanged'), changeEntry(web, 'configured')],
  };
  const prune: ChangeSet = {
    entries: [
      changeEntry(old, 'deleted'),
      changeEntry(parseRefKey('/Secret/shop/keep'), 'skipped', {
        reason: 'OptOutAnnotation',
        message: 'has gitfleet.dev/prune: disabled',
      }),
    ],
  };

  it('merges stages in order', () => {
    const cs = mergeChangeSets(stage1, stage2, prune);
    assert.deepEqual(
      cs.entries.map((e) => e.action),
      ['created', 'unchanged', 'configured', 'deleted', 'skipped'],
    );
  });

  it('counts every action, zeros included', () => {
    assert.deepEqual(summarize(mergeChangeSets(stage1, stage2, prune)), {
      created: 1,
      configured: 1,
      unchanged: 1,
      deleted: 1,
      failed: 0,
      skipped: 1,
    });
    assert.deepEqual(Object.values(summarize(emptyChangeSet())), [0, 0, 0, 0, 0, 0]);
  });

  it('formats one line per object, like Flux, with the reason for failures and skips', () => {
    assert.equal(
      formatChangeSet(mergeChangeSets(stage1, stage2, prune)),
      [
        'Namespace/shop created',
        'ConfigMap/shop/settings unchanged',
        'Deployment/shop/web configured',
        'Service/shop/legacy deleted',
        'Secret/shop/keep skipped (OptOutAnnotation): has gitfleet.dev/prune: disabled',
      ].join('\n'),
    );
    assert.equal(formatChangeSet(emptyChangeSet()), '');
  });

  it('records an ApplyError with its code as the reason', () => {
    const err = fromApiStatus(web, 422, {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message:
        'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      reason: 'Invalid',
      details: {
        name: 'web',
        group: 'apps',
        kind: 'Deployment',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: -1: must be greater than or equal to 0',
            field: 'spec.replicas',
          },
        ],
      },
      code: 422,
    });
    const entry = failedEntry(err);
    assert.equal(entry.action, 'failed');
    assert.equal(entry.reason, 'Invalid');
    assert.match(
      formatEntry(entry),
      /^Deployment\/shop\/web failed \(Invalid\): Deployment\/shop\/web is invalid: spec\.replicas/,
    );
    assert.equal(hasFailures({ entries: [entry] }), true);
    assert.equal(JSON.parse(JSON.stringify(entry)).reason, 'Invalid');
  });

  it('tells whether the cluster was touched', () => {
    assert.equal(hasChanges(stage2), true);
    assert.equal(
      hasChanges({ entries: [changeEntry(cfg, 'unchanged'), changeEntry(old, 'skipped')] }),
      false,
    );
    assert.equal(hasChanges(prune), true);
    assert.equal(hasFailures(stage2), false);
  });

  it('filters by action', () => {
    assert.deepEqual(
      entriesWith(mergeChangeSets(stage1, stage2), 'configured').map((e) => e.ref.name),
      ['web'],
    );
  });

  it('leaves out reason and message when not given, so entries serialize small', () => {
    assert.deepEqual(Object.keys(changeEntry(web, 'created')), ['ref', 'action']);
  });

  it('summarizes for a status line', () => {
    assert.equal(
      formatSummary(summarize(mergeChangeSets(stage1, stage2))),
      '1 created, 1 configured, 1 unchanged',
    );
    assert.equal(formatSummary(summarize(emptyChangeSet())), 'no objects');
  });
});
