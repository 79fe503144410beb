import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from './backoff.ts';

test('delays grow exponentially up to the cap, uniformly jittered below the ceiling', () => {
  const ceilings: number[] = [];
  const top = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.999999 });
  for (let i = 0; i < 6; i++) ceilings.push(top.next());
  assert.deepEqual(ceilings, [99, 199, 399, 799, 999, 999]);
  const bottom = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0 });
  assert.equal(bottom.next(), 0, 'full jitter reaches zero');
});

test('reset starts over; spread of many agents covers the whole window', () => {
  const b = new Backoff({ baseMs: 100, capMs: 60_000 });
  for (let i = 0; i < 10; i++) b.next();
  b.reset();
  assert.equal(b.attempt, 0);
  // 10,000 agents at their 8th attempt: delays spread over [0, 12.8 s), not bunched.
  const delays = Array.from({ length: 10_000 }, () => {
    const a = new Backoff({ baseMs: 100, capMs: 60_000 });
    for (let i = 0; i < 7; i++) a.next();
    return a.next();
  });
  const buckets = new Array(10).fill(0);
  for (const d of delays) buckets[Math.min(9, Math.floor(d / 1280))]++;
  for (const n of buckets) assert.ok(n > 800 && n < 1200, `bucket of ${n} out of 10,000`);
});
