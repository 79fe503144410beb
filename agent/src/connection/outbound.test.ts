import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FleetStatus, Phase } from '@gitfleet/proto';
import { MAX_PER_FLEET, StatusOutbox } from './outbound.ts';

const status = (fleet: string, phase: Phase): FleetStatus => ({
  fleet,
  desiredRevision: 'r',
  desiredDigest: 'd',
  appliedRevision: 'r',
  attemptedRevision: 'r',
  phase,
  message: '',
  objects: [],
  observedAtUnixMs: 0,
  driftCorrections: 0,
});

test('keeps each change of state while the control plane is unreachable and sends them in order when it returns', async () => {
  let reachable = false;
  const delivered: [number, string, Phase][] = [];
  const outbox = new StatusOutbox(
    async (sequence, s) => {
      if (!reachable) throw new Error('UNAVAILABLE');
      delivered.push([sequence, s.fleet, s.phase]);
    },
    { retryMs: 20 },
  );
  outbox.put(status('shop', Phase.PHASE_APPLYING));
  outbox.put(status('shop', Phase.PHASE_PROGRESSING));
  outbox.put(status('blog', Phase.PHASE_READY));
  outbox.put(status('shop', Phase.PHASE_READY));
  // Same state again (a heartbeat, a newer health reading): it replaces the one before.
  outbox.put({ ...status('shop', Phase.PHASE_READY), observedAtUnixMs: 1 });
  await sleep(60);
  assert.equal(delivered.length, 0);
  assert.equal(outbox.size, 4, 'three changes of shop, one of blog');
  reachable = true;
  outbox.flush();
  for (let i = 0; i < 50 && outbox.size > 0; i++) await sleep(10);
  const shop = delivered.filter(([, fleet]) => fleet === 'shop').map(([, , phase]) => phase);
  assert.deepEqual(shop, [Phase.PHASE_APPLYING, Phase.PHASE_PROGRESSING, Phase.PHASE_READY]);
  assert.deepEqual(
    delivered.filter(([, fleet]) => fleet === 'blog').map(([, , phase]) => phase),
    [Phase.PHASE_READY],
  );
  const sequences = delivered.map(([sequence]) => sequence);
  assert.deepEqual(
    sequences,
    [...sequences].sort((a, b) => a - b),
    'sequence numbers increase',
  );
  outbox.stop();
});

test('a long outage keeps the newest changes, at most MAX_PER_FLEET per fleet', async () => {
  const outbox = new StatusOutbox(
    async () => {
      throw new Error('UNAVAILABLE');
    },
    { retryMs: 1000 },
  );
  for (let i = 0; i < MAX_PER_FLEET * 3; i++) {
    outbox.put(status('shop', i % 2 === 0 ? Phase.PHASE_DRIFTED : Phase.PHASE_READY));
  }
  assert.equal(outbox.size, MAX_PER_FLEET);
  outbox.stop();
});

test('sequence numbers keep increasing across restarts and within one millisecond', () => {
  const a = new StatusOutbox(async () => {});
  const first = a.nextSequence();
  const second = a.nextSequence();
  assert.ok(second > first);
  const restarted = new StatusOutbox(async () => {});
  assert.ok(restarted.nextSequence() >= first, 'a new process starts from the clock, not from 1');
});

test('a report is retried with its sequence number, so a lost ack cannot store it twice', async () => {
  const attempts: number[] = [];
  const outbox = new StatusOutbox(
    async (sequence) => {
      attempts.push(sequence);
      // The first attempt reached the control plane, but its answer was lost.
      if (attempts.length === 1) throw new Error('DEADLINE_EXCEEDED');
    },
    { retryMs: 10 },
  );
  outbox.put(status('shop', Phase.PHASE_READY));
  for (let i = 0; i < 50 && outbox.size > 0; i++) await sleep(10);
  assert.equal(outbox.size, 0);
  assert.equal(attempts.length, 2);
  assert.equal(attempts[1], attempts[0], 'the retry carries the same sequence');
  outbox.stop();
});
