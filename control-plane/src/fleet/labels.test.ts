import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FleetError } from './errors.ts';
import {
  formatSelector,
  isValidLabelKey,
  isValidLabelValue,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  matchesSelector,
  parseSelector,
  SELECTOR_PATTERN,
} from './labels.ts';

const prodEu = { env: 'prod', region: 'eu', tier: 'web' };
const devUs = { env: 'dev', region: 'us', legacy: 'true' };

describe('matchesSelector', () => {
  test('empty selector matches every cluster', () => {
    assert.equal(matchesSelector({}, {}), true);
    assert.equal(matchesSelector(prodEu, { matchLabels: {}, matchExpressions: [] }), true);
  });

  test('matchLabels: every label must be equal', () => {
    assert.equal(matchesSelector(prodEu, { matchLabels: { env: 'prod', region: 'eu' } }), true);
    assert.equal(matchesSelector(prodEu, { matchLabels: { env: 'prod', region: 'us' } }), false);
    assert.equal(matchesSelector(prodEu, { matchLabels: { zone: '' } }), false);
  });

  test('In / NotIn / Exists / DoesNotExist follow Kubernetes', () => {
    const inEuUs = { matchExpressions: [{ key: 'region', operator: 'In' as const, values: ['eu', 'us'] }] };
    assert.equal(matchesSelector(prodEu, inEuUs), true);
    assert.equal(matchesSelector({ region: 'ap' }, inEuUs), false);
    assert.equal(matchesSelector({}, inEuUs), false);

    const notInDev = { matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['dev'] }] };
    assert.equal(matchesSelector(prodEu, notInDev), true);
    assert.equal(matchesSelector(devUs, notInDev), false);
    assert.equal(matchesSelector({}, notInDev), true, 'NotIn matches clusters without the label');

    const exists = { matchExpressions: [{ key: 'legacy', operator: 'Exists' as const }] };
    assert.equal(matchesSelector(devUs, exists), true);
    assert.equal(matchesSelector(prodEu, exists), false);
    const absent = { matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' as const }] };
    assert.equal(matchesSelector(prodEu, absent), true);
    assert.equal(matchesSelector(devUs, absent), false);
  });

  test('labels and expressions are ANDed', () => {
    const sel = {
      matchLabels: { env: 'prod' },
      matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' as const }],
    };
    assert.equal(matchesSelector(prodEu, sel), true);
    assert.equal(matchesSelector({ ...prodEu, legacy: 'yes' }, sel), false);
  });

  test('does not see inherited properties as labels', () => {
    assert.equal(
      matchesSelector({}, { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }),
      false,
    );
    assert.equal(
      matchesSelector({}, { matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }),
      true,
    );
  });

  test('an unknown operator never matches', () => {
    // biome-ignore lint/suspicious/noExplicitAny: a selector built by hand, outside the type
    const sel = { matchExpressions: [{ key: 'env', operator: 'Gt' as any, values: ['1'] }] };
    assert.equal(matchesSelector(prodEu, sel), false);
  });
});

describe('parseSelector', () => {
  test('the query syntax', () => {
    assert.deepEqual(parseSelector('env=prod,region in (eu,us),!legacy'), {
      matchLabels: { env: 'prod' },
      matchExpressions: [
        { key: 'region', operator: 'In', values: ['eu', 'us'] },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    assert.deepEqual(parseSelector('tier!=db, gpu , zone notin ( a , b ), env==dev'), {
      matchLabels: { env: 'dev' },
      matchExpressions: [
        { key: 'tier', operator: 'NotIn', values: ['db'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['a', 'b'] },
      ],
    });
    assert.deepEqual(parseSelector('example.com/team=a-b_c.1'), {
      matchLabels: { 'example.com/team': 'a-b_c.1' },
    });
    assert.deepEqual(parseSelector('env='), { matchLabels: { env: '' } });
    assert.deepEqual(parseSelector('region in(eu)'), {
      matchExpressions: [{ key: 'region', operator: 'In', values: ['eu'] }],
    });
  });

  test('empty text selects everything', () => {
    assert.deepEqual(parseSelector(''), {});
    assert.deepEqual(parseSelector('   '), {});
    assert.equal(matchesSelector(prodEu, parseSelector('')), true);
  });

  test('the same key twice is ANDed, not overwritten', () => {
    const sel = parseSelector('env=prod,env=dev');
    assert.equal(matchesSelector({ env: 'prod' }, sel), false);
    assert.equal(matchesSelector({ env: 'dev' }, sel), false);
  });

  test('parsed selectors select what kubectl -l would', () => {
    const sel = parseSelector('env=prod,region in (eu,us),!legacy');
    assert.equal(matchesSelector(prodEu, sel), true);
    assert.equal(matchesSelector({ ...prodEu, legacy: 'x' }, sel), false);
    assert.equal(matchesSelector({ ...prodEu, region: 'ap' }, sel), false);
  });

  const bad: [string, RegExp][] = [
    ['env=prod,', /expected a label key at the end/],
    [',env=prod', /expected a label key, found ','/],
    ['env in prod', /expected '\(' after 'env in'/],
    ['env in ()', /expected a value in 'env in \(...\)'/],
    ['env in (a,b', /expected ',' or '\)'/],
    ['env notin (a b)', /expected ',' or '\)'/],
    ['env>3', /unexpected '>' after 'env'/],
    ['env=prod region=eu', /unexpected 'r' after 'env'|expected ','/],
    ['env=pr od', /expected ',' before 'o'/],
    ['-env=prod', /'-env' is not a valid label key/],
    ['env=-prod', /'-prod' is not a valid label value/],
    ['Bad_Prefix/x=1', /not a valid label key/],
    ['!', /expected a label key at the end/],
    ['env=prod;region=eu', /expected ',' before ';'/],
  ];
  for (const [text, message] of bad) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseSelector(text),
        (e: unknown) => {
          assert.ok(e instanceof FleetError);
          assert.equal(e.code, 'InvalidSelector');
          assert.match(e.message, message);
          assert.match(e.message, /at column \d+; write requirements separated by commas/);
          return true;
        },
      );
    });
  }

  test('errors point at the column', () => {
    assert.throws(() => parseSelector('env in prod'), /at column 8/);
  });
});

describe('formatSelector', () => {
  test('round-trips through parseSelector', () => {
    for (const text of ['env=prod,region in (eu,us),!legacy', 'gpu,tier!=db,zone notin (a,b)', '']) {
      const sel = parseSelector(text);
      assert.deepEqual(parseSelector(formatSelector(sel)), sel);
    }
    assert.equal(formatSelector({ matchLabels: { b: '2', a: '1' } }), 'a=1,b=2');
  });
});

describe('label syntax', () => {
  test('keys', () => {
    for (const k of ['env', 'app.kubernetes.io/name', 'a', 'A_b-c.d', 'x'.repeat(63)])
      assert.ok(isValidLabelKey(k), k);
    for (const k of ['', '-a', 'a-', 'x'.repeat(64), 'Upper.Case/x', '/x', 'a/', 'a/b/c', 'a b']) {
      assert.ok(!isValidLabelKey(k), k);
    }
  });
  test('values', () => {
    for (const v of ['', 'prod', 'v1.2.3', 'a_b-c']) assert.ok(isValidLabelValue(v), v);
    for (const v of ['-a', 'a b', 'x'.repeat(64), 'a/b']) assert.ok(!isValidLabelValue(v), v);
  });
});

describe('the API schema states the same rules as the parser', () => {
  const selector = new RegExp(SELECTOR_PATTERN, 'u');
  const key = new RegExp(LABEL_KEY_PATTERN, 'u');
  const value = new RegExp(LABEL_VALUE_PATTERN, 'u');
  const accepts = (text: string) => {
    try {
      parseSelector(text);
      return true;
    } catch {
      return false;
    }
  };
  // Texts made of the characters that matter to the grammar, so that most are near misses.
  const near = fc
    .array(
      fc.constantFrom(
        'a',
        'b',
        'Z',
        '1',
        '=',
        '!',
        ',',
        ' ',
        '\t',
        '(',
        ')',
        'in',
        'notin',
        '/',
        '.',
        '-',
        '_',
        'x.io/',
      ),
      {
        maxLength: 14,
      },
    )
    .map((parts) => parts.join(''));

  test('SELECTOR_PATTERN matches exactly the selectors parseSelector reads', () => {
    fc.assert(
      fc.property(near, (text) => selector.test(text) === accepts(text)),
      { numRuns: 20_000 },
    );
    for (const text of [
      'env in (dev, prod),!legacy,tier!=db',
      `${'k'.repeat(64)}=v`,
      'a..b/x=1',
      'ex.com/-a',
    ]) {
      assert.equal(selector.test(text), accepts(text), text);
    }
  });

  test('LABEL_KEY_PATTERN and LABEL_VALUE_PATTERN match isValidLabelKey and isValidLabelValue', () => {
    fc.assert(
      fc.property(
        near,
        (text) => key.test(text) === isValidLabelKey(text) && value.test(text) === isValidLabelValue(text),
      ),
      { numRuns: 20_000 },
    );
    for (const text of [`${'a'.repeat(253)}/x`, `${'a'.repeat(254)}/x`, 'x'.repeat(63), 'x'.repeat(64)]) {
      assert.equal(key.test(text), isValidLabelKey(text), text);
    }
  });
});
