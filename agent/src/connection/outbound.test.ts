import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FleetStatus, Phase } from '@gitfleet/proto';
import { StatusOutbox } from './outbound.ts';

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

test('keeps reports while the control plane is unreachable, latest per fleet, and sends them when it returns', async () => {
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
  await sleep(60);
  assert.equal(delivered.length, 0);
  assert.equal(outbox.size, 2, 'one pending report per fleet');
  reachable = true;
  outbox.flush();
  for (let i = 0; i < 50 && outbox.size > 0; i++) await sleep(10);
  assert.deepEqual(
    delivered.map(([, fleet, phase]) => [fleet, phase]),
    [
      ['shop', Phase.PHASE_READY],
      ['blog', Phase.PHASE_READY],
    ],
  );
  assert.ok(delivered[0]![0] < delivered[1]![0], 'sequence numbers increase');
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
