// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} in plain strings is the substitution syntax under test
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Problem } from './errors.ts';
import { FleetError } from './errors.ts';
import { type FleetPolicy, formatDuration, parseDuration, parsePolicy, setStageRevision } from './policy.ts';

const SHA_A = '5b1c0e7d9a4f3b2c1d0e9f8a7b6c5d4e3f2a1b0c';
const SHA_B = '2a9f31d0c8b7a6958473625140f9e8d7c6b5a493';

const EXAMPLE = `# the shop fleet
manifests: ./manifests            # YAML files, recursively
stages:
  - name: dev
    selector: { matchLabels: { env: dev } }          # follows the branch head
  - name: staging
    selector: { matchLabels: { env: staging } }
    revision: ${SHA_A}                              # pinned: promotions rewrite this
  - name: prod
    selector:
      matchLabels: { env: prod }
      matchExpressions:
        - { key: region, operator: In, values: [eu, us] }
        - { key: legacy, operator: DoesNotExist }
    revision: ${SHA_B}
    requires: staging             # only revisions Ready on every staging cluster
    rollout: { maxUnavailable: 25%, progressDeadline: 10m }
substitute:                       # \${cluster.name}, \${cluster.labels.region}, \${stage}
  namespace: shop-\${stage}
  replicas: 3
apply:
  force: false
`;

function ok(text: string): FleetPolicy {
  const r = parsePolicy(text);
  if (!r.ok) assert.fail(`expected a valid policy, got:\n${r.errors.map((e) => e.message).join('\n')}`);
  return r.policy;
}

function errors(text: string, file?: string): Problem[] {
  const r = parsePolicy(text, file);
  assert.equal(r.ok, false, 'expected the policy to be rejected');
  return r.ok ? [] : r.errors;
}

function one(text: string, code: string): Problem {
  const errs = errors(text);
  const found = errs.filter((e) => e.code === code);
  assert.equal(found.length, 1, `expected one ${code}, got: ${JSON.stringify(errs, null, 2)}`);
  return found[0]!;
}

const stageWith = (extra: string) =>
  `stages:\n  - name: prod\n    selector: { matchLabels: { env: prod } }\n${extra}`;

describe('parsePolicy', () => {
  test('reads the design example', () => {
    const p = ok(EXAMPLE);
    assert.equal(p.manifests, './manifests');
    assert.deepEqual(
      p.stages.map((s) => s.name),
      ['dev', 'staging', 'prod'],
    );
    assert.deepEqual(p.stages[0], { name: 'dev', selector: { matchLabels: { env: 'dev' } } });
    assert.equal(p.stages[1]!.revision, SHA_A);
    assert.deepEqual(p.stages[2], {
      name: 'prod',
      selector: {
        matchLabels: { env: 'prod' },
        matchExpressions: [
          { key: 'region', operator: 'In', values: ['eu', 'us'] },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
      revision: SHA_B,
      requires: 'staging',
      rollout: { maxUnavailable: '25%', progressDeadlineSeconds: 600 },
    });
    assert.deepEqual(p.substitute, { namespace: 'shop-${stage}', replicas: '3' });
    assert.deepEqual(p.apply, { force: false, prune: true, allowEmpty: false, correctDrift: true });
  });

  test('applies defaults', () => {
    const p = ok('stages: [{ name: all, selector: {} }]');
    assert.equal(p.manifests, './manifests');
    assert.deepEqual(p.substitute, {});
    assert.deepEqual(p.apply, { force: true, prune: true, allowEmpty: false, correctDrift: true });
    assert.deepEqual(p.stages[0]!.selector, {});
  });

  test('rollout defaults are those of a Deployment (25%, 10m)', () => {
    const p = ok(stageWith('    rollout: { maxUnavailable: 2 }\n'));
    assert.deepEqual(p.stages[0]!.rollout, { maxUnavailable: 2, progressDeadlineSeconds: 600 });
    const q = ok(stageWith('    rollout: { progressDeadline: 90s }\n'));
    assert.deepEqual(q.stages[0]!.rollout, { maxUnavailable: '25%', progressDeadlineSeconds: 90 });
  });

  test('keeps numeric-looking values as written: label values, revisions, substitutions', () => {
    const p = ok(
      `stages:\n  - name: a\n    selector: { matchLabels: { version: 1.10 } }\n    revision: 1234567\nsubstitute: { tag: 1.20 }\n`,
    );
    assert.deepEqual(p.stages[0]!.selector.matchLabels, { version: '1.10' });
    assert.equal(p.stages[0]!.revision, '1234567');
    assert.equal(p.substitute.tag, '1.20');
  });

  test('lowercases a revision and treats an empty one as following the head', () => {
    assert.equal(ok(stageWith('    revision: ABCDEF1\n')).stages[0]!.revision, 'abcdef1');
    assert.equal(ok(stageWith('    revision:\n')).stages[0]!.revision, undefined);
  });

  test('YAML syntax errors carry the line', () => {
    const e = one('stages:\n  - name: dev\n    selector: { matchLabels: { env: dev }\n', 'YamlSyntax');
    assert.ok(e.line !== undefined && e.line >= 3, `line ${e.line}`);
    assert.match(e.message, /^fleet\.yaml:\d+: YAML does not parse/);
  });

  test('duplicate keys are a YAML error', () => {
    one('stages: []\nstages: []\n', 'YamlSyntax');
  });

  test('empty file, several documents, not a mapping', () => {
    one('', 'EmptyPolicy');
    one('# only a comment\n', 'EmptyPolicy');
    one('stages: [{name: a, selector: {}}]\n---\nstages: []\n', 'MultipleDocuments');
    one('- a\n- b\n', 'InvalidType');
  });

  test('no stages', () => {
    const e = one('manifests: ./m\n', 'NoStages');
    assert.match(e.message, /add e\.g\./);
    one('stages: []\n', 'NoStages');
  });

  test('unknown keys are named, with a suggestion and the line', () => {
    const e = one('stages: [{ name: a, selector: {} }]\nsubstitue: {}\n', 'UnknownKey');
    assert.equal(e.line, 2);
    assert.match(e.message, /unknown key 'substitue' in fleet\.yaml; did you mean 'substitute'\?/);
    const s = one(stageWith('    revison: abcdef1\n'), 'UnknownKey');
    assert.equal(s.line, 4);
    assert.match(s.message, /'revison' in stage 'prod'; did you mean 'revision'/);
    one(stageWith('    rollout: { maxUnavailable: 1, progressDeadlineSeconds: 60 }\n'), 'UnknownKey');
    one('stages: [{ name: a, selector: { matchLabel: { env: a } } }]', 'UnknownKey');
    one('stages: [{ name: a, selector: {} }]\napply: { purne: true }', 'UnknownKey');
  });

  test('stage names must be DNS labels and unique', () => {
    for (const bad of ['Prod', 'prod_eu', '-prod', 'prod-', 'a'.repeat(64), 'eu.prod']) {
      const e = one(`stages: [{ name: '${bad}', selector: {} }]`, 'InvalidStageName');
      assert.ok(e.message.includes(`'${bad}'`));
    }
    ok(`stages: [{ name: 'prod-eu-1', selector: {} }, { name: '${'a'.repeat(63)}', selector: {} }]`);
    const d = one(
      'stages:\n  - { name: a, selector: {} }\n  - { name: a, selector: {} }\n',
      'DuplicateStage',
    );
    assert.equal(d.line, 3);
    assert.match(d.message, /'a' is used twice \(stages #1 and #2\)/);
  });

  test('a stage needs a name and a selector', () => {
    assert.match(one('stages: [{ selector: {} }]', 'MissingKey').message, /stage #1 has no name/);
    assert.match(one('stages: [{ name: a }]', 'MissingKey').message, /stage 'a' has no selector/);
  });

  test('requires must name an earlier stage, not itself, not a later or unknown one', () => {
    const base = (req: string, at: number) =>
      ['a', 'b', 'c']
        .map((n, i) => `  - { name: ${n}, selector: {}${i === at ? `, requires: ${req}` : ''} }`)
        .join('\n');
    ok(`stages:\n${base('a', 2)}\n`);
    assert.match(one(`stages:\n${base('b', 1)}\n`, 'RequiresSelf').message, /stage 'b' requires itself/);
    const later = one(`stages:\n${base('c', 0)}\n`, 'RequiresLaterStage');
    assert.equal(later.line, 2);
    assert.match(later.message, /'a' requires 'c', which comes after it/);
    assert.match(
      one(`stages:\n${base('qa', 1)}\n`, 'UnknownStage').message,
      /'b' requires 'qa', which is not a stage; known stages: a, b, c/,
    );
  });

  test('maxUnavailable: a count ≥ 1 or 1–100%', () => {
    for (const [text, value] of [
      ['1', 1],
      ['3', 3],
      ["'2'", 2],
      ['1%', '1%'],
      ['100%', '100%'],
    ] as const) {
      assert.deepEqual(
        ok(stageWith(`    rollout: { maxUnavailable: ${text} }\n`)).stages[0]!.rollout?.maxUnavailable,
        value,
      );
    }
    for (const bad of ['0', '-1', '1.5', '0%', '101%', '25 %', 'many', '[1]']) {
      const e = one(stageWith(`    rollout: { maxUnavailable: ${bad} }\n`), 'InvalidMaxUnavailable');
      assert.equal(e.line, 4);
      assert.match(e.message, /whole number of clusters ≥ 1 .* percentage from 1% to 100%/);
    }
  });

  test('progressDeadline: a duration with units', () => {
    for (const [text, seconds] of [
      ['90s', 90],
      ['10m', 600],
      ['1h', 3600],
      ['1h30m', 5400],
    ] as const) {
      assert.equal(
        ok(stageWith(`    rollout: { progressDeadline: ${text} }\n`)).stages[0]!.rollout
          ?.progressDeadlineSeconds,
        seconds,
      );
    }
    for (const bad of ['600', '10', '0s', '10 minutes', '1d', 'm', "''"]) {
      const e = one(stageWith(`    rollout: { progressDeadline: ${bad} }\n`), 'InvalidDuration');
      assert.match(e.message, /e\.g\. 90s, 10m, 1h/);
    }
  });

  test('revision must be a commit id', () => {
    for (const bad of ['abc', 'main', 'v1.2.3', 'g123456', 'a'.repeat(41)]) {
      const e = one(stageWith(`    revision: ${bad}\n`), 'InvalidRevision');
      assert.equal(e.line, 4);
      assert.match(e.message, /is not a commit id; write the full 40-digit hex commit id/);
    }
    ok(stageWith(`    revision: ${'a'.repeat(64)}\n`));
  });

  test('selectors: label syntax and operators', () => {
    one('stages: [{ name: a, selector: { matchLabels: { "bad key!": x } } }]', 'InvalidSelector');
    one('stages: [{ name: a, selector: { matchLabels: { env: "not ok" } } }]', 'InvalidSelector');
    one(
      'stages: [{ name: a, selector: { matchExpressions: [{ key: env, operator: Equals, values: [a] }] } }]',
      'InvalidSelector',
    );
    one(
      'stages: [{ name: a, selector: { matchExpressions: [{ key: env, operator: In }] } }]',
      'InvalidSelector',
    );
    one(
      'stages: [{ name: a, selector: { matchExpressions: [{ key: env, operator: In, values: [] }] } }]',
      'InvalidSelector',
    );
    one(
      'stages: [{ name: a, selector: { matchExpressions: [{ key: env, operator: Exists, values: [a] }] } }]',
      'InvalidSelector',
    );
    one('stages: [{ name: a, selector: { matchExpressions: [{ operator: Exists }] } }]', 'InvalidSelector');
    one('stages: [{ name: a, selector: { matchExpressions: { key: env } } }]', 'InvalidType');
    ok('stages: [{ name: a, selector: { matchLabels: { example.com/tier: front-end_1.x } } }]');
  });

  test('substitution keys and values', () => {
    const base = 'stages: [{ name: a, selector: {} }]\nsubstitute:\n';
    ok(
      `${base}  ns: shop-\${stage}-\${cluster.labels.region}\n  img: app:\${revision}\n  literal: $\${HOME}\n`,
    );
    assert.match(
      one(`${base}  my-var: x\n`, 'InvalidSubstitution').message,
      /'my-var' is not a variable name/,
    );
    assert.match(
      one(`${base}  stage: x\n`, 'InvalidSubstitution').message,
      /built-in variable and cannot be redefined/,
    );
    assert.match(
      one(`${base}  a: \${b}\n  b: x\n`, 'InvalidSubstitution').message,
      /uses \$\{b\}, which is not a built-in/,
    );
    assert.match(one(`${base}  a: \${stage\n`, 'InvalidSubstitution').message, /unterminated/);
    assert.match(one(`${base}  a: [x]\n`, 'InvalidSubstitution').message, /not a list/);
    assert.match(one(`${base}  a: |\n    two\n    lines\n`, 'InvalidSubstitution').message, /one line/);
    const e = one(`${base}  a: x\n  9lives: y\n`, 'InvalidSubstitution');
    assert.equal(e.line, 4);
  });

  test('apply flags must be booleans; manifests must stay inside the fleet', () => {
    assert.match(
      one('stages: [{ name: a, selector: {} }]\napply: { prune: "no" }', 'InvalidType').message,
      /apply\.prune must be true or false/,
    );
    for (const bad of ['/etc', '../other-fleet', 'a/../../b', "''"]) {
      one(`manifests: ${bad}\nstages: [{ name: a, selector: {} }]`, 'InvalidManifestsPath');
    }
    assert.equal(ok('manifests: deploy/k8s\nstages: [{ name: a, selector: {} }]').manifests, 'deploy/k8s');
  });

  test('reports every problem at once, in the given file', () => {
    const errs = errors(
      `stages:\n  - name: Dev\n    selector: {}\n    revision: nope\n    rollout: { maxUnavailable: 0 }\nextra: 1\n`,
      'shop/fleet.yaml',
    );
    assert.deepEqual(errs.map((e) => e.code).sort(), [
      'InvalidMaxUnavailable',
      'InvalidRevision',
      'InvalidStageName',
      'UnknownKey',
    ]);
    for (const e of errs) assert.ok(e.message.startsWith(`shop/fleet.yaml:${e.line}: `), e.message);
  });
});

describe('durations', () => {
  test('parse and format', () => {
    assert.equal(parseDuration('10m'), 600);
    assert.equal(parseDuration('2h'), 7200);
    assert.equal(parseDuration('0m'), null);
    assert.equal(parseDuration(''), null);
    assert.equal(formatDuration(600), '10m');
    assert.equal(formatDuration(5430), '1h30m30s');
    assert.equal(formatDuration(45), '45s');
  });
});

describe('setStageRevision', () => {
  test('replaces a pinned revision and changes nothing else', () => {
    const out = setStageRevision(EXAMPLE, 'staging', SHA_B);
    assert.equal(out, EXAMPLE.replace(`revision: ${SHA_A}`, `revision: ${SHA_B}`));
    assert.equal(ok(out).stages[1]!.revision, SHA_B);
  });

  test('inserts a revision after the name of a stage that follows the head, keeping comments', () => {
    const out = setStageRevision(EXAMPLE, 'dev', SHA_A);
    const lines = out.split('\n');
    const at = lines.indexOf('  - name: dev');
    assert.equal(lines[at + 1], `    revision: ${SHA_A}`);
    assert.equal(out.replace(`    revision: ${SHA_A}\n`, ''), EXAMPLE);
    assert.equal(ok(out).stages[0]!.revision, SHA_A);
  });

  test('handles flow-style stages, quoted values, trailing comments and CRLF', () => {
    const flow =
      'stages:\n  - { name: a, selector: {} }   # first\n  - { name: b, selector: {}, revision: "abcdef1" }\n';
    assert.equal(
      setStageRevision(flow, 'a', SHA_A),
      `stages:\n  - { name: a, revision: ${SHA_A}, selector: {} }   # first\n  - { name: b, selector: {}, revision: "abcdef1" }\n`,
    );
    assert.equal(setStageRevision(flow, 'b', SHA_B), flow.replace('"abcdef1"', SHA_B));
    const crlf = 'stages:\r\n  - name: a # the only one\r\n    selector: {}\r\n';
    assert.equal(
      setStageRevision(crlf, 'a', 'abcdef1'),
      'stages:\r\n  - name: a # the only one\r\n    revision: abcdef1\r\n    selector: {}\r\n',
    );
  });

  test('quotes a revision that YAML would read as a number', () => {
    const out = setStageRevision(EXAMPLE, 'prod', '1234567');
    assert.match(out, /revision: "1234567"/);
    assert.equal(ok(out).stages[2]!.revision, '1234567');
  });

  test('refuses unknown stages, bad revisions and unparsable files', () => {
    assert.throws(
      () => setStageRevision(EXAMPLE, 'qa', SHA_A),
      (e: unknown) =>
        e instanceof FleetError && e.code === 'StageNotFound' && /no stage 'qa'/.test(e.message),
    );
    assert.throws(
      () => setStageRevision(EXAMPLE, 'prod', 'main'),
      (e: unknown) => e instanceof FleetError && e.code === 'InvalidRevision',
    );
    assert.throws(
      () => setStageRevision('stages: [', 'prod', SHA_A),
      (e: unknown) => e instanceof FleetError && e.code === 'YamlSyntax',
    );
  });

  test('falls back to the YAML writer for an empty revision value', () => {
    const text = 'stages:\n  - name: a\n    revision:\n    selector: {}\n';
    const out = setStageRevision(text, 'a', SHA_A);
    assert.equal(ok(out).stages[0]!.revision, SHA_A);
  });
});

describe('parsePolicy notify:', () => {
  const stages =
    'stages:\n  - name: dev\n    selector: { matchLabels: { env: dev } }\n  - name: prod\n    selector: { matchLabels: { env: prod } }\n';

  test('reads rules with their lines; a fleet without notify: has no rules', () => {
    const p = ok(`${stages}notify:
  - target: ops-slack
    events: [RolloutHalted, FleetError]
  - { target: pager, severity: error, stages: [prod] }
  - target: audit
    events:
      - Promoted
      - DriftCorrected
    severity: info
`);
    assert.deepEqual(p.notify, [
      { target: 'ops-slack', line: 7, events: ['RolloutHalted', 'FleetError'] },
      { target: 'pager', line: 9, severity: 'error', stages: ['prod'] },
      { target: 'audit', line: 10, events: ['Promoted', 'DriftCorrected'], severity: 'info' },
    ]);
    assert.equal(ok(stages).notify, undefined);
    assert.deepEqual(ok(`${stages}notify: []\n`).notify, []);
  });

  test('an unknown event type is named with its line and the one probably meant', () => {
    const e = one(
      `${stages}notify:\n  - target: ops\n    events: [RolloutHalted, RollotComplete]\n`,
      'UnknownEventType',
    );
    assert.equal(e.file, 'fleet.yaml');
    assert.equal(e.line, 8);
    assert.match(
      e.message,
      /^fleet\.yaml:8: notify rule #1: unknown event type 'RollotComplete'; did you mean 'RolloutComplete'\? event types are .*DriftCorrected/,
    );
  });

  test('unknown keys, missing target, bad severity, unknown stage, nothing to hear', () => {
    const k = one(`${stages}notify:\n  - target: ops\n    event: [FleetError]\n`, 'UnknownKey');
    assert.equal(k.line, 8);
    assert.match(k.message, /unknown key 'event' in notify rule #1; did you mean 'events'\?/);
    one(`${stages}notify:\n  - events: [FleetError]\n`, 'MissingKey');
    one(`${stages}notify:\n  - target: ops\n`, 'MissingKey');
    one(`${stages}notify:\n  - target: Ops_Team\n    severity: error\n`, 'InvalidNotificationTarget');
    const s = one(`${stages}notify:\n  - target: ops\n    severity: critical\n`, 'InvalidSeverity');
    assert.match(s.message, /one of info, warning, error/);
    const st = one(
      `${stages}notify:\n  - target: ops\n    severity: error\n    stages: [prd]\n`,
      'UnknownStage',
    );
    assert.equal(st.line, 9);
    assert.match(st.message, /stage 'prd' is not a stage of this fleet; did you mean 'prod'\?/);
    one(`${stages}notify: { target: ops }\n`, 'InvalidType');
    one(`${stages}notify:\n  - target: ops\n    events: []\n`, 'InvalidType');
  });

  test('events that no rule could ever hear are refused with the reason', () => {
    const e = one(`${stages}notify:\n  - target: ops\n    events: [FleetDeleted]\n`, 'EventNotNotifiable');
    assert.match(e.message, /FleetDeleted cannot be notified: a deleted fleet has no rules left/);
  });

  test('a file path given by the caller is named', () => {
    const [e] = errors(`${stages}notify:\n  - target: ops\n    events: [Nope]\n`, 'deploy/shop/fleet.yaml');
    assert.match(e!.message, /^deploy\/shop\/fleet\.yaml:8: /);
  });
});
