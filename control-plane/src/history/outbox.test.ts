import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeEvent } from '../events.ts';
import { keys } from '../store/keys.ts';
import { entriesOf, outboxField, toRecord, writtenAt } from './outbox.ts';

// Redis Cluster's rule: the slot of a key is that of its hash tag (between the first '{' and the
// next '}', when not empty), else of the whole key. Two keys share a slot when these agree.
function slotString(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close);
}

describe('outbox entries', () => {
  test("an event's field is its id, wherever the id is in the JSON", () => {
    const json = encodeEvent({
      type: 'DesiredStateChanged',
      cluster: 'c',
      fleet: 'f',
      reason: 'said "id":"x"',
    });
    const id = (JSON.parse(json) as { id: string }).id;
    assert.equal(outboxField(json), id);
    // The ingest script re-encodes StatusChanged with cjson, in its own key order.
    const reordered = JSON.stringify({ type: 'StatusChanged', reason: 'a → b', id, time: 'now' });
    assert.equal(outboxField(reordered), id);
    assert.equal(outboxField('{"type":"FleetSynced"}'), '{"type":"FleetSynced"}');
  });

  test('an entry is as old as the time in its id, else its time, else as old as can be', () => {
    const at = new Date('2025-01-02T03:04:05.006Z');
    const json = encodeEvent({ type: 'FleetSynced', fleet: 'f' }, at);
    assert.equal(writtenAt({ field: outboxField(json), json }), at.getTime());
    assert.equal(writtenAt({ field: 'custom', json }), at.getTime());
    assert.equal(writtenAt({ field: 'custom', json: 'not json' }), 0);
  });

  test('a writer records its own events and, of the others found, those older than the grace', () => {
    const now = Date.parse('2025-01-02T03:04:05.000Z');
    const own = encodeEvent({ type: 'StatusChanged', cluster: 'c' }, new Date(now));
    const old = encodeEvent({ type: 'StatusChanged', cluster: 'c' }, new Date(now - 6000));
    const young = encodeEvent({ type: 'StatusChanged', cluster: 'c' }, new Date(now - 1000));
    const found = [outboxField(old), old, outboxField(young), young];
    assert.deepEqual(entriesOf(found), [
      { field: outboxField(old), json: old },
      { field: outboxField(young), json: young },
    ]);
    assert.deepEqual(
      toRecord({ key: 'k', events: [own], found }, now, 5000).map((e) => e.json),
      [old, own],
    );
    assert.deepEqual(toRecord({ key: 'k', events: [], found: [] }, now, 5000), []);
  });

  test("outboxes share the slot of what their scripts write; the index and the history's ids are apart", () => {
    for (const k of [keys(), keys('t-1a2b3c'), keys('{shared}')]) {
      assert.equal(slotString(k.outbox('edge-1')), slotString(k.desired('edge-1')));
      assert.equal(slotString(k.outbox('edge-1')), slotString(k.status('edge-1')));
      assert.equal(slotString(k.fleetOutbox('web')), slotString(k.fleet('web')));
      assert.equal(slotString(k.recorded()), slotString(k.events()));
    }
    const k = keys();
    assert.notEqual(slotString(k.fleetOutbox('web')), slotString(k.fleetOutbox('api')));
    assert.notEqual(slotString(k.outboxes()), slotString(k.outbox('edge-1')));
  });
});
