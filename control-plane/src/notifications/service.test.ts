// The pure parts of the notification service; the service itself runs in test/e2e/notifications.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { notificationOptions } from './options.ts';
import { backoffDelay, stableEventId, stageOfLabels } from './service.ts';

describe('notification service helpers', () => {
  test('backoff doubles from the base, is capped, and jitters down by at most a quarter', () => {
    assert.equal(
      backoffDelay(1, 1000, 300_000, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(4, 1000, 300_000, () => 1),
      8000,
    );
    assert.equal(
      backoffDelay(20, 1000, 300_000, () => 1),
      300_000,
    );
    assert.equal(
      backoffDelay(4, 1000, 300_000, () => 0),
      6000,
    );
  });

  test('an event without an id gets one from its content: the same on every replica', () => {
    const event = { type: 'StatusChanged' as const, cluster: 'c', fleet: 'f', time: '2026-01-01T00:00:00Z' };
    assert.equal(stableEventId(event), stableEventId(JSON.parse(JSON.stringify(event))));
    assert.notEqual(stableEventId(event), stableEventId({ ...event, phase: 'Ready' }));
    assert.equal(stableEventId({ ...event, id: '1-abc' }), '1-abc');
  });

  test('a cluster is in the one stage that selects it', () => {
    const stages: { name: string; selector: { matchLabels: Record<string, string> } }[] = [
      { name: 'dev', selector: { matchLabels: { env: 'dev' } } },
      { name: 'prod', selector: { matchLabels: { env: 'prod' } } },
      { name: 'all-prod', selector: { matchLabels: { tier: 'prod' } } },
    ];
    assert.equal(stageOfLabels(stages, { env: 'dev' }), 'dev');
    assert.equal(stageOfLabels(stages, { env: 'qa' }), undefined);
    assert.equal(stageOfLabels(stages, { env: 'prod', tier: 'prod' }), undefined);
  });

  test('options from the environment, validated', () => {
    const o = notificationOptions({ GITFLEET_PUBLIC_URL: 'https://gitfleet.example.com/' });
    assert.equal(o.publicUrl, 'https://gitfleet.example.com');
    assert.equal(o.windowSeconds, 30);
    assert.equal(notificationOptions({ GITFLEET_HTTP_PORT: '9000' }).publicUrl, 'http://127.0.0.1:9000');
    assert.equal(notificationOptions({ GITFLEET_NOTIFY_WINDOW_SECONDS: '0' }).windowSeconds, 0);
    assert.throws(
      () => notificationOptions({ GITFLEET_PUBLIC_URL: 'gitfleet.example.com' }),
      /GITFLEET_PUBLIC_URL/,
    );
    assert.throws(() => notificationOptions({ GITFLEET_NOTIFY_ATTEMPTS: '0' }), /GITFLEET_NOTIFY_ATTEMPTS=0/);
  });
});
