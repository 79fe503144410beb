import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../objects.ts';
import { hookGroups, splitHooks } from './hooks.ts';

const obj = (kind: string, name: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: kind === 'Job' ? 'batch/v1' : 'v1',
  kind,
  metadata: { name, namespace: 'app', ...(annotations ? { annotations } : {}) },
});

describe('Helm hooks in a bundle', () => {
  test('hook objects leave the release; hooks of phases a fleet never runs are dropped', () => {
    const { release, hooks } = splitHooks([
      obj('ConfigMap', 'app'),
      obj('Job', 'migrate', { 'helm.sh/hook': 'pre-install, pre-upgrade' }),
      obj('Pod', 'cleanup', { 'helm.sh/hook': 'pre-delete' }),
      obj('ConfigMap', 'notify', { 'helm.sh/hook': 'post-upgrade,post-rollback' }),
    ]);
    assert.deepEqual(
      release.map((o) => o.metadata.name),
      ['app'],
    );
    assert.deepEqual(
      hooks.map((h) => [h.ref.name, [...h.phases]]),
      [
        ['migrate', ['pre-install', 'pre-upgrade']],
        ['notify', ['post-upgrade']],
      ],
    );
  });

  test('the delete policy defaults to before-hook-creation; unknown policies are ignored', () => {
    const { hooks } = splitHooks([
      obj('Job', 'a', { 'helm.sh/hook': 'pre-install' }),
      obj('Job', 'b', {
        'helm.sh/hook': 'pre-install',
        'helm.sh/hook-delete-policy': 'hook-succeeded,hook-failed',
      }),
      obj('Job', 'c', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-delete-policy': 'sometimes' }),
    ]);
    assert.deepEqual(
      hooks.map((h) => [...h.deletePolicies]),
      [['before-hook-creation'], ['hook-succeeded', 'hook-failed'], ['before-hook-creation']],
    );
  });

  test('a phase runs in ascending weight, equal weights together, then by kind and name', () => {
    const { hooks } = splitHooks([
      obj('Job', 'late', { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '5' }),
      obj('Job', 'b', { 'helm.sh/hook': 'pre-upgrade' }),
      obj('ConfigMap', 'z', { 'helm.sh/hook': 'pre-upgrade' }),
      obj('Job', 'first', { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '-10' }),
      obj('Job', 'install-only', { 'helm.sh/hook': 'pre-install' }),
      obj('Job', 'odd', { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': 'x' }),
    ]);
    assert.deepEqual(
      hookGroups(hooks, 'pre-upgrade').map((g) => g.map((h) => `${h.ref.kind}/${h.ref.name}`)),
      [['Job/first'], ['ConfigMap/z', 'Job/b', 'Job/odd'], ['Job/late']],
    );
    assert.deepEqual(hookGroups(hooks, 'post-upgrade'), []);
  });
});
