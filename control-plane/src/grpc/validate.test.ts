import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Action,
  API_VERSIONS_LIMITS,
  type FleetStatus,
  Health,
  Phase,
  ReportStatusRequest,
} from '@gitfleet/proto';
import { decodeProblem, helloProblem, lenientDecoder, REPORT_LIMITS, reportProblem } from './validate.ts';

const now = Date.parse('2026-01-01T00:00:00Z');

function status(over: Partial<FleetStatus> = {}): FleetStatus {
  return {
    fleet: 'shop',
    desiredRevision: 'a'.repeat(40),
    desiredDigest: `sha256:${'b'.repeat(64)}`,
    appliedRevision: 'a'.repeat(40),
    attemptedRevision: 'a'.repeat(40),
    phase: Phase.PHASE_READY,
    message: '',
    objects: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'shop',
        name: 'settings',
        action: Action.ACTION_CREATED,
        health: Health.HEALTH_CURRENT,
        reason: '',
        message: '',
        drifted: false,
        driftChanges: [],
        driftManagers: [],
        driftCorrectedAtUnixMs: 0,
      },
    ],
    observedAtUnixMs: now,
    driftCorrections: 0,
    ...over,
  };
}

test('a well-formed report passes', () => {
  assert.equal(reportProblem(now, status(), now), null);
  assert.equal(reportProblem(1, status({ observedAtUnixMs: 0 }), now), null);
});

test('sequence must be positive and not far ahead of the clock', () => {
  assert.match(reportProblem(0, status(), now) ?? '', /sequence > 0/);
  assert.match(reportProblem(-5, status(), now) ?? '', /sequence > 0/);
  assert.equal(reportProblem(now + 3600_000, status(), now), null, 'an hour of clock skew is fine');
  assert.match(reportProblem(now + 2 * 86_400_000, status(), now) ?? '', /more than a day ahead.*clock/);
});

test('a fleet name that could collide with stored bookkeeping fields is refused', () => {
  for (const fleet of ['', 'shop#seq', 'Shop', 'a/b', 'x'.repeat(64), 'shop\n']) {
    assert.match(reportProblem(now, status({ fleet }), now) ?? '', /is not a fleet name/, fleet);
  }
});

test('unknown phase, action and health values are refused, naming the field', () => {
  assert.match(
    reportProblem(now, status({ phase: 99 as Phase }), now) ?? '',
    /status\.phase 99 is not a phase/,
  );
  assert.match(reportProblem(now, status({ phase: Phase.PHASE_UNSPECIFIED }), now) ?? '', /status\.phase 0/);
  const bad = status();
  bad.objects[0]!.action = 42 as Action;
  assert.match(reportProblem(now, bad, now) ?? '', /status\.objects\[0\]\.action 42/);
  const badHealth = status();
  badHealth.objects[0]!.health = -3 as Health;
  assert.match(reportProblem(now, badHealth, now) ?? '', /status\.objects\[0\]\.health -3/);
});

test('absurdly long strings and times are refused', () => {
  assert.match(
    reportProblem(now, status({ message: 'x'.repeat(REPORT_LIMITS.message + 1) }), now) ?? '',
    /status\.message is 32769 characters long; at most 32768/,
  );
  const longName = status();
  longName.objects[0]!.name = 'n'.repeat(300);
  assert.match(reportProblem(now, longName, now) ?? '', /status\.objects\[0\]\.name is 300/);
  assert.match(reportProblem(now, status({ observedAtUnixMs: -1 }), now) ?? '', /observedAtUnixMs -1/);
  assert.match(reportProblem(now, status({ observedAtUnixMs: 9e15 }), now) ?? '', /is not a time/);
});

test('a Hello may only name valid fleets, a bounded number of them', () => {
  assert.equal(helloProblem({ agent: undefined, running: [], lastSequence: 0 }), null);
  assert.match(
    helloProblem({
      agent: { version: 'v'.repeat(300), kubernetesVersion: '', apiVersions: [] },
      running: [],
      lastSequence: 0,
    }) ?? '',
    /hello\.agent\.version/,
  );
  assert.match(
    helloProblem({
      agent: undefined,
      running: [{ fleet: 'a#b', revision: '', bundleDigest: '' }],
      lastSequence: 0,
    }) ?? '',
    /hello\.running\[0\]\.fleet/,
  );
});

test("a Hello's API versions are entries Helm could hold, a bounded number of them", () => {
  const hello = (apiVersions: string[]) =>
    helloProblem({
      agent: { version: '1', kubernetesVersion: 'v1.35.4', apiVersions },
      running: [],
      lastSequence: 0,
    });
  assert.equal(
    hello(['v1', 'apps/v1', 'apps/v1/Deployment', 'monitoring.coreos.com/v1/ServiceMonitor']),
    null,
  );
  assert.match(
    hello(['v1', 'apps/v1 ; rm']) ?? '',
    /hello\.agent\.apiVersions\[1\] "apps\/v1 ; rm" is not an API version/,
  );
  assert.match(
    hello(Array.from({ length: API_VERSIONS_LIMITS.entries + 1 }, () => 'v1')) ?? '',
    /has 8193 entries/,
  );
});

test('a message that does not decode becomes a marker the handler can refuse', () => {
  const decode = lenientDecoder((b) => ReportStatusRequest.decode(b), 'gitfleet.v1.ReportStatusRequest');
  const good = Buffer.from(ReportStatusRequest.encode({ sequence: 3, status: status() }).finish());
  assert.equal(decodeProblem(decode(good)), null);
  assert.equal(decode(good).sequence, 3);
  const garbage = decode(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  assert.match(decodeProblem(garbage) ?? '', /not a valid gitfleet\.v1\.ReportStatusRequest/);
});
