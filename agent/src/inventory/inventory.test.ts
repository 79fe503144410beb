import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectRef } from '../objects.ts';
import { decodeInventory, encodeInventory, INVENTORY_NAME_PREFIX, inventoryName } from './inventory.ts';

const web: ObjectRef = { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
const ns: ObjectRef = { group: '', version: 'v1', kind: 'Namespace', namespace: '', name: 'shop' };

describe('inventory encoding', () => {
  it('round-trips refs with their versions', () => {
    assert.deepEqual(decodeInventory(encodeInventory([web, ns])), [ns, web]);
  });

  it('writes the same text for the same set, whatever the order or duplicates', () => {
    assert.equal(encodeInventory([web, ns]), encodeInventory([ns, web, web]));
    assert.equal(
      encodeInventory([web, ns]),
      '{"version":1,"entries":[["/Namespace//shop","v1"],["apps/Deployment/shop/web","v1"]]}',
    );
  });

  it('encodes nothing as an empty list', () => {
    assert.deepEqual(decodeInventory(encodeInventory([])), []);
  });

  it('refuses what it cannot read in full', () => {
    assert.throws(() => decodeInventory('not json'), /not JSON/);
    assert.throws(() => decodeInventory('{"version":2,"entries":[]}'), /unknown format/);
    assert.throws(() => decodeInventory('{"version":1}'), /no entries/);
    assert.throws(
      () => decodeInventory('{"version":1,"entries":[["/ConfigMap/a/b"]]}'),
      /not \[key, version\]/,
    );
    assert.throws(() => decodeInventory('{"version":1,"entries":[["bad","v1"]]}'), /invalid object key/);
  });

  it('names the inventory after the fleet', () => {
    assert.equal(inventoryName('shop'), `${INVENTORY_NAME_PREFIX}shop`);
  });
});
