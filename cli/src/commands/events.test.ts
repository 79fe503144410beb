import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatEvent, matchesEvent } from './events.ts';

describe('events', () => {
  it('filters by fleet, cluster and type', () => {
    const e = { type: 'StatusChanged', fleet: 'shop', cluster: 'prod-1' };
    assert.ok(matchesEvent(e, {}));
    assert.ok(matchesEvent(e, { fleet: 'shop', cluster: 'prod-1', types: ['StatusChanged', 'Promoted'] }));
    assert.ok(!matchesEvent(e, { fleet: 'other' }));
    assert.ok(!matchesEvent(e, { cluster: 'prod-2' }));
    assert.ok(!matchesEvent(e, { types: ['Promoted'] }));
    assert.ok(!matchesEvent({ type: 'ClusterRegistered', cluster: 'x' }, { fleet: 'shop' }));
  });

  it('prints one line: time, type, then the fields that are set', () => {
    assert.equal(
      formatEvent({
        type: 'RolloutHalted',
        time: '2026-01-02T03:04:05.678Z',
        fleet: 'shop',
        stage: 'prod',
        revision: 'abc1234def',
        reason: 'prod-1 is Failed',
      }),
      '2026-01-02T03:04:05.678Z  RolloutHalted        fleet=shop stage=prod revision=abc1234 reason="prod-1 is Failed"',
    );
    assert.equal(
      formatEvent({ type: 'ClusterRegistered', time: '2026-01-02T03:04:05.678Z', cluster: 'a' }),
      '2026-01-02T03:04:05.678Z  ClusterRegistered    cluster=a',
    );
  });
});
