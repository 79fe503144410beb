import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setStageRevision } from '../fleet/index.ts';
import {
  type PinChange,
  parseTrailers,
  promotionMessage,
  promotionOf,
  rollbackPlan,
  stagePin,
} from './history.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const ID = '3f0c3c1e-8d4b-4a7e-9f55-0b1f2c3d4e5f';

const FLEET = `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { env: dev } }
  - name: prod   # the one that matters
    selector: { matchLabels: { env: prod } }
    revision: "1234567"
`;

describe('promotion messages', () => {
  test('subject, reason, then the trailers as the last paragraph', () => {
    const message = promotionMessage({
      kind: 'promotion',
      id: ID,
      stage: 'prod',
      revision: A,
      reason: 'v2 soaked',
    });
    assert.equal(
      message,
      `promote prod to aaaaaaa\n\nv2 soaked\n\nGitfleet-Promotion-Id: ${ID}\nGitfleet-Stage: prod\nGitfleet-Revision: ${A}\n`,
    );
    assert.deepEqual(parseTrailers(message), {
      'Gitfleet-Promotion-Id': ID,
      'Gitfleet-Stage': 'prod',
      'Gitfleet-Revision': A,
    });
  });

  test('a rollback names the commit it undoes', () => {
    const message = promotionMessage({ kind: 'rollback', id: ID, stage: 'prod', revision: A, rollbackOf: B });
    assert.match(message, /^roll back prod to aaaaaaa\n\nGitfleet-Promotion-Id:/);
    const record = promotionOf({ sha: C, author: 'alice', email: 'alice@x', time: 1_700_000_000, message });
    assert.equal(record?.kind, 'rollback');
    assert.equal(record?.rollbackOf, B);
    assert.equal(record?.commit, C);
    assert.equal(record?.time, '2023-11-14T22:13:20.000Z');
  });

  test('a trailer quoted in the reason is not read as one', () => {
    const message = promotionMessage({
      kind: 'promotion',
      id: ID,
      stage: 'prod',
      revision: A,
      reason: `quoting\n\nGitfleet-Stage: dev\nGitfleet-Revision: ${B}`,
    });
    const record = promotionOf({ sha: C, author: 'a', email: 'a@x', time: 0, message });
    assert.equal(record?.stage, 'prod');
    assert.equal(record?.revision, A);
  });

  test('other commits are not promotions', () => {
    assert.equal(promotionOf({ sha: C, author: 'a', email: 'a@x', time: 0, message: 'fix typo\n' }), null);
    assert.equal(
      promotionOf({ sha: C, author: 'a', email: 'a@x', time: 0, message: 'x\n\nGitfleet-Stage: prod\n' }),
      null,
    );
  });
});

describe('stagePin', () => {
  test('reads the pin as written, null for a stage following the head or absent', () => {
    assert.equal(stagePin(FLEET, 'prod'), '1234567');
    assert.equal(stagePin(FLEET, 'dev'), null);
    assert.equal(stagePin(FLEET, 'qa'), null);
    assert.equal(stagePin(setStageRevision(FLEET, 'dev', A), 'dev'), A);
  });

  test('undefined when fleet.yaml does not parse', () => {
    assert.equal(stagePin('stages: [\n', 'prod'), undefined);
  });
});

describe('rollbackPlan', () => {
  const change = (commit: string, pin: string | null, rollback = false): PinChange => ({
    commit,
    pin,
    rollback,
  });

  test('goes back to the pin before the last change', () => {
    const plan = rollbackPlan([change('c1', null), change('c2', A), change('c3', A), change('c4', B)]);
    assert.deepEqual(plan, { current: B, currentCommit: 'c4', previous: A });
  });

  test('a second rollback goes further back instead of undoing the first', () => {
    const history = [change('c1', A), change('c2', B), change('c3', C), change('c4', B, true)];
    assert.deepEqual(rollbackPlan(history), { current: B, currentCommit: 'c2', previous: A });
  });

  test('a hand-made revert counts as a change like any other', () => {
    const history = [change('c1', A), change('c2', B), change('c3', A)];
    assert.deepEqual(rollbackPlan(history), { current: A, currentCommit: 'c3', previous: B });
  });

  test('abbreviated and full pins of one commit are the same pin', () => {
    const history = [change('c1', A), change('c2', B.slice(0, 7)), change('c3', B)];
    assert.equal(rollbackPlan(history).previous, A);
  });

  test('nothing before: previous is undefined; a stage that followed the head: null', () => {
    assert.equal(rollbackPlan([change('c1', A)]).previous, undefined);
    assert.equal(rollbackPlan([]).previous, undefined);
    assert.equal(rollbackPlan([change('c1', null), change('c2', A)]).previous, null);
  });
});
