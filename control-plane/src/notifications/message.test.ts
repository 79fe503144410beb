import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  messageLine,
  type NotificationInput,
  redactUrlCredentials,
  slackPayload,
  webhookPayload,
} from './message.ts';

const link = 'https://gitfleet.example.com/api/v1/fleets/shop';
const REV = '5b1c0e7d9a4f3b2c1d0e9f8a7b6c5d4e3f2a1b0c';

const halted: NotificationInput = {
  event: {
    id: '1733300000000-abcdef012345',
    type: 'RolloutHalted',
    fleet: 'shop',
    stage: 'prod',
    revision: REV,
    reason: "cluster 'eu-1' is Failed at revision 5b1c0e7",
    time: '2026-01-01T10:00:00.000Z',
  },
  count: 1,
  windowSeconds: 30,
  fleet: 'shop',
  stage: 'prod',
  link,
};

const drift: NotificationInput = {
  event: {
    type: 'DriftCorrected',
    fleet: 'shop',
    cluster: 'eu-1',
    reason: 'Deployment web: spec.replicas changed by kubectl-edit',
    time: '2026-01-01T10:00:29.000Z',
  },
  count: 12,
  firstTime: '2026-01-01T10:00:01.000Z',
  windowSeconds: 30,
  fleet: 'shop',
  stage: 'prod',
  revision: REV,
  link,
};

describe('messages', () => {
  test('one event: what, where, at which revision, why, and the link', () => {
    assert.equal(
      messageLine(halted),
      `Rollout halted: fleet shop, stage prod, revision 5b1c0e7 — cluster 'eu-1' is Failed at revision 5b1c0e7 (${link})`,
    );
  });

  test('coalesced: the count, the cluster and the window', () => {
    assert.equal(
      messageLine(drift),
      `12 drift corrections on cluster eu-1 in 30 s: fleet shop, stage prod, revision 5b1c0e7 — last: Deployment web: spec.replicas changed by kubectl-edit (${link})`,
    );
    assert.match(messageLine({ ...drift, windowSeconds: 120 }), / in 2m: /);
  });

  test('Slack: mrkdwn with the fleet linked, names as code, the reason quoted, <>& escaped', () => {
    const { text } = slackPayload({
      ...halted,
      event: { ...halted.event, reason: 'a <b> & c\nsecond line' },
    });
    assert.equal(
      text,
      `:red_circle: *Rollout halted* · fleet <${link}|shop> · stage \`prod\` · revision \`5b1c0e7\`\n> a &lt;b&gt; &amp; c\n> second line`,
    );
    assert.match(
      slackPayload(drift).text,
      /^:warning: \*12 drift corrections\* on cluster `eu-1` in 30 s · fleet </,
    );
  });

  test('webhook body: the event, its severity, the count and the message line', () => {
    const body = webhookPayload(drift);
    assert.equal(body.type, 'DriftCorrected');
    assert.equal(body.cluster, 'eu-1');
    assert.equal(body.severity, 'warning');
    assert.equal(body.count, 12);
    assert.equal(body.firstTime, '2026-01-01T10:00:01.000Z');
    assert.equal(body.revision, REV);
    assert.equal(body.link, link);
    assert.equal(body.message, messageLine(drift));
    assert.equal(webhookPayload(halted).firstTime, undefined);
  });

  test('credentials in URLs in a reason never leave', () => {
    assert.equal(
      redactUrlCredentials('fetch https://bot:ghp_123secret@git.example.com/shop.git failed'),
      'fetch https://[redacted]@git.example.com/shop.git failed',
    );
    const line = messageLine({
      ...halted,
      event: { ...halted.event, type: 'FleetError', reason: 'https://u:p4ss@h/x: 401' },
    });
    assert.doesNotMatch(line, /p4ss/);
  });
});
