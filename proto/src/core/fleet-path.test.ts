import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseFleetPath } from './fleet-path.ts';

test('a fleet path is named as Git names the directory', () => {
  for (const [path, dir] of [
    ['', ''],
    ['.', ''],
    ['./', ''],
    ['/', ''],
    ['deploy', 'deploy'],
    ['./deploy/shop/', 'deploy/shop'],
    ['/deploy//shop', 'deploy/shop'],
    ['//deploy', 'deploy'],
    ['.hidden/shop', '.hidden/shop'],
    ['deploy/./shop', 'deploy/shop'],
  ]) {
    assert.equal(normaliseFleetPath(path as string), dir, path);
  }
});

test('a fleet path with a .. segment is refused, resolved or not', () => {
  for (const path of ['..', '../other', './../x', 'deploy/../other', 'deploy/..', '/..']) {
    assert.equal(normaliseFleetPath(path), null, path);
  }
  assert.equal(normaliseFleetPath('a..b/..c'), 'a..b/..c');
});
