// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} in plain strings is the substitution syntax under test
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findVariables, isBuiltinVariable, substitute } from './substitute.ts';

describe('substitute', () => {
  const vars: Record<string, string> = { stage: 'prod', 'cluster.name': 'eu-1' };
  const resolve = (name: string) => vars[name];

  test('replaces every reference, anywhere in a line', () => {
    const r = substitute('name: ${cluster.name}\nns: shop-${stage}-${stage}\n${stage}: x\n', resolve);
    assert.equal(r.text, 'name: eu-1\nns: shop-prod-prod\nprod: x\n');
    assert.deepEqual(r.unresolved, []);
  });

  test('$${x} is a literal ${x}', () => {
    const r = substitute('script: echo $${HOME} ${stage} $${stage}', resolve);
    assert.equal(r.text, 'script: echo ${HOME} prod ${stage}');
    assert.deepEqual(r.unresolved, []);
  });

  test('unknown and unterminated references are reported with their line and left in place', () => {
    const r = substitute('a: 1\nb: ${nope}\nc: ${stage\nd: ${stage}', resolve);
    assert.equal(r.text, 'a: 1\nb: ${nope}\nc: ${stage\nd: prod');
    assert.deepEqual(
      r.unresolved.map(({ name, line, unterminated }) => ({ name, line, unterminated })),
      [
        { name: 'nope', line: 2, unterminated: false },
        { name: 'stage', line: 3, unterminated: true },
      ],
    );
  });

  test('does not expand what a variable expands to', () => {
    assert.equal(substitute('${a}', (n) => (n === 'a' ? '${b}' : 'B')).text, '${b}');
  });

  test('a lone $ or { is just text', () => {
    assert.equal(substitute('cost: $5 {x} $ {y}', resolve).text, 'cost: $5 {x} $ {y}');
  });
});

describe('findVariables / isBuiltinVariable', () => {
  test('finds references but not escaped ones', () => {
    assert.deepEqual(
      findVariables('${a} $${b} ${cluster.labels.region}').map((v) => v.name),
      ['a', 'cluster.labels.region'],
    );
  });
  test('built-ins', () => {
    for (const n of ['stage', 'revision', 'cluster.name', 'cluster.labels.region'])
      assert.ok(isBuiltinVariable(n), n);
    for (const n of ['cluster', 'cluster.labels.', 'cluster.labels', 'namespace', 'Stage']) {
      assert.ok(!isBuiltinVariable(n), n);
    }
  });
});
