import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject, ObjectRef } from '../objects.ts';
import { compare } from './preview.ts';

const ref = (kind: string, name: string): ObjectRef => ({
  group: '',
  version: 'v1',
  kind,
  namespace: 'shop',
  name,
});
const server = {
  resourceVersion: '42',
  uid: 'u',
  creationTimestamp: '2026-01-01T00:00:00Z',
  managedFields: [{}],
};

describe('compare (a preview of one object)', () => {
  it('diffs the fields apply would change, leaving out what the server maintains', () => {
    const live: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web', namespace: 'shop', ...server },
      data: { color: 'blue', size: 'small' },
    };
    const desired: KubeObject = {
      ...live,
      metadata: { ...live.metadata, resourceVersion: '43' },
      data: { color: 'green', size: 'small' },
    };
    const p = compare(ref('ConfigMap', 'web'), live, desired);
    assert.equal(p.action, 'changed');
    assert.match(p.diff, /^-\s+color: blue$/m);
    assert.match(p.diff, /^\+\s+color: green$/m);
    assert.doesNotMatch(p.diff, /resourceVersion|managedFields|uid/);
    assert.equal(
      compare(ref('ConfigMap', 'web'), live, {
        ...live,
        metadata: { ...live.metadata, resourceVersion: '44' },
      }).action,
      'unchanged',
    );
  });

  it('shows a new object whole, and an annotation-only change of kubectl as nothing', () => {
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'n', namespace: 'shop' },
      data: { a: '1' },
    };
    const created = compare(ref('ConfigMap', 'n'), undefined, obj);
    assert.equal(created.action, 'created');
    assert.match(created.diff, /^\+\s+a: "1"$/m);
    const withLastApplied: KubeObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"a":"0"}}' },
      },
    };
    assert.equal(compare(ref('ConfigMap', 'n'), withLastApplied, obj).action, 'unchanged');
  });

  it("never puts a Secret's values in the diff: changed keys are named, values are markers", () => {
    const secret = (data: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'shop' },
      data,
    });
    const p = compare(
      ref('Secret', 's'),
      secret({ password: 'b2xk', user: 'YXBw', gone: 'eA==' }),
      secret({ password: 'bmV3', user: 'YXBw', token: 'dA==' }),
    );
    assert.equal(p.action, 'changed');
    assert.deepEqual(p.changedKeys, ['gone', 'password', 'token']);
    for (const value of ['b2xk', 'bmV3', 'YXBw', 'eA==', 'dA==']) assert.ok(!p.diff.includes(value), value);
    assert.match(p.diff, /^-\s+password: "\(hidden: live value\)"$/m);
    assert.match(p.diff, /^\+\s+password: "\(hidden: new value\)"$/m);
    assert.match(p.diff, /^ \s+user: \(hidden\)$/m);
    const created = compare(ref('Secret', 's'), undefined, secret({ password: 'bmV3' }));
    assert.ok(!created.diff.includes('bmV3'));
    assert.deepEqual(created.changedKeys, ['password']);
  });
});
