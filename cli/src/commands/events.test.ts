import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatEvent, sinceOf } from './events.ts';

describe('events', () => {
  it('takes --since as a duration back from now, an ISO time or an event id', () => {
    const now = Date.parse('2026-12-04T12:00:00.000Z');
    assert.equal(sinceOf('1h', now), '2026-12-04T11:00:00.000Z');
    assert.equal(sinceOf('2026-12-04T10:00:00Z', now), '2026-12-04T10:00:00Z');
    assert.equal(sinceOf('1733300000000-3', now), '1733300000000-3');
    assert.throws(() => sinceOf('yesterday', now), /is not a duration/);
  });

  it('prints one line: time, type, then the fields that are set', () => {
    assert.equal(
      formatEvent({
        id: '1767323045678-0',
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
      formatEvent({
        id: '1767323045678-1',
        type: 'ClusterRegistered',
        time: '2026-01-02T03:04:05.678Z',
        cluster: 'a',
      }),
      '2026-01-02T03:04:05.678Z  ClusterRegistered    cluster=a',
    );
  });
});
