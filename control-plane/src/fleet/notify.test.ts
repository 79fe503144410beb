import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  EVENT_SEVERITY,
  matchRules,
  NOT_NOTIFIABLE,
  NOTIFY_EVENT_TYPES,
  type NotifyRule,
  severityOf,
  unknownTargets,
} from './notify.ts';

describe('severities', () => {
  test('each event type has one; halts and bad commits are errors, drift a warning', () => {
    assert.equal(EVENT_SEVERITY.RolloutHalted, 'error');
    assert.equal(EVENT_SEVERITY.FleetError, 'error');
    assert.equal(EVENT_SEVERITY.NotificationFailed, 'error');
    assert.equal(EVENT_SEVERITY.DriftCorrected, 'warning');
    assert.equal(EVENT_SEVERITY.RolloutComplete, 'info');
    assert.equal(EVENT_SEVERITY.Promoted, 'info');
  });

  test('a status change is as severe as the phase it reaches', () => {
    assert.equal(severityOf({ type: 'StatusChanged', phase: 'Failed' }), 'error');
    assert.equal(severityOf({ type: 'StatusChanged', phase: 'Drifted' }), 'warning');
    assert.equal(severityOf({ type: 'StatusChanged', phase: 'Ready' }), 'info');
  });

  test('events no rule can hear are not offered', () => {
    for (const type of Object.keys(NOT_NOTIFIABLE)) {
      assert.ok(!NOTIFY_EVENT_TYPES.includes(type as never), type);
    }
    assert.ok(NOTIFY_EVENT_TYPES.includes('DriftCorrected'));
  });
});

describe('matchRules', () => {
  const rules: NotifyRule[] = [
    { target: 'ops', events: ['RolloutHalted', 'FleetError'] },
    { target: 'prod-only', events: ['DriftCorrected', 'RolloutHalted'], stages: ['prod'] },
    { target: 'pager', severity: 'error' },
    { target: 'ops', events: ['Promoted'] },
    { target: 'warn', events: ['DriftCorrected', 'StatusChanged'], severity: 'warning' },
  ];

  test('by event type, each target once, in rule order', () => {
    assert.deepEqual(matchRules(rules, { type: 'RolloutHalted' }, 'prod'), ['ops', 'prod-only', 'pager']);
    assert.deepEqual(matchRules(rules, { type: 'Promoted' }, 'prod'), ['ops']);
    assert.deepEqual(matchRules(rules, { type: 'RolloutComplete' }, 'prod'), []);
  });

  test('by stage: stage events outside the stages are not heard; fleet-wide events are', () => {
    assert.deepEqual(matchRules(rules, { type: 'DriftCorrected' }, 'dev'), ['warn']);
    assert.deepEqual(matchRules(rules, { type: 'DriftCorrected' }, 'prod'), ['prod-only', 'warn']);
    // A bad commit concerns every stage.
    assert.deepEqual(matchRules(rules, { type: 'FleetError' }, undefined), ['ops', 'pager']);
  });

  test('by least severity', () => {
    assert.deepEqual(matchRules(rules, { type: 'StatusChanged', phase: 'Ready' }, 'dev'), []);
    assert.deepEqual(matchRules(rules, { type: 'StatusChanged', phase: 'Drifted' }, 'dev'), ['warn']);
    assert.deepEqual(matchRules(rules, { type: 'StatusChanged', phase: 'Failed' }, 'dev'), ['pager', 'warn']);
  });

  test('a failed notification is not sent to the target that failed', () => {
    assert.deepEqual(matchRules(rules, { type: 'NotificationFailed', target: 'pager' }, undefined), []);
    assert.deepEqual(matchRules(rules, { type: 'NotificationFailed', target: 'ops' }, undefined), ['pager']);
  });
});

describe('unknownTargets', () => {
  const policy = {
    notify: [
      { target: 'ops', events: ['RolloutHalted' as const], line: 9 },
      { target: 'opps', events: ['FleetError' as const], line: 12 },
    ],
  };

  test('names each rule whose target does not exist, with the file and line', () => {
    const problems = unknownTargets(policy, ['ops', 'slack-prod'], 'deploy/shop/fleet.yaml');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.code, 'UnknownNotificationTarget');
    assert.equal(problems[0]!.file, 'deploy/shop/fleet.yaml');
    assert.equal(problems[0]!.line, 12);
    assert.match(
      problems[0]!.message,
      /^deploy\/shop\/fleet\.yaml:12: notify names target 'opps', which does not exist; .* or name one of ops, slack-prod$/,
    );
  });

  test('nothing to say without rules, or when every target exists', () => {
    assert.deepEqual(unknownTargets({}, []), []);
    assert.deepEqual(unknownTargets(policy, ['ops', 'opps']), []);
    assert.match(unknownTargets(policy, [])[0]!.message, /there is none yet/);
  });
});
