import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it('reads Go-style durations', () => {
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration(' 5s '), 5000);
  });

  it('refuses numbers without units, unknown units, garbage and zero', () => {
    for (const bad of ['10', '', 'm', '10x', '10m junk', '-5s', '1h 30m', 'ten minutes']) {
      assert.throws(() => parseDuration(bad, '--timeout'), { name: 'UsageError', message: /--timeout/ }, bad);
    }
    assert.throws(() => parseDuration('0s'), { message: /longer than zero/ });
  });
});

describe('formatDuration', () => {
  it('writes the shortest exact form', () => {
    assert.equal(formatDuration(600_000), '10m');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(3_600_000), '1h');
  });

  it('round-trips', () => {
    for (const d of ['10m', '1h30m', '45s', '2h5m7s']) assert.equal(formatDuration(parseDuration(d)), d);
  });
});
