import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cellText,
  formatAge,
  formatLabels,
  formatPhases,
  parseFormat,
  renderData,
  renderFields,
  renderTable,
  sameRevision,
  shortRevision,
} from './output.ts';

describe('renderTable', () => {
  it('aligns every column at the same character, three spaces apart, no trailing spaces', () => {
    const text = renderTable(
      ['NAME', 'STATE', 'LABELS'],
      [
        ['prod-eu-1', 'Connected', 'env=prod'],
        ['dev', 'AwaitingAgent', null],
      ],
    );
    assert.equal(
      text,
      [
        'NAME        STATE           LABELS',
        'prod-eu-1   Connected       env=prod',
        'dev         AwaitingAgent   -',
        '',
      ].join('\n'),
    );
    for (const line of text.split('\n')) assert.equal(line, line.trimEnd());
  });

  it('keeps each row on one line and shows missing values as -', () => {
    assert.equal(renderTable(['A', 'B'], [['x\ny', '']]), 'A     B\nx y   -\n');
    assert.equal(cellText(undefined), '-');
    assert.equal(cellText(0), '0');
    assert.equal(cellText(false), 'false');
  });

  it('measures width in characters, not bytes', () => {
    assert.equal(renderTable(['X', 'Y'], [['→→', 'a']]), 'X    Y\n→→   a\n');
  });

  it('prints only the header for no rows', () => {
    assert.equal(renderTable(['NAME', 'AGE'], []), 'NAME   AGE\n');
  });
});

describe('renderFields', () => {
  it('aligns values and indents continuation lines', () => {
    assert.equal(
      renderFields([
        ['Name', 'shop'],
        ['Errors', 'a.yaml: bad\nb.yaml: worse'],
        ['Head', null],
      ]),
      'Name:    shop\nErrors:  a.yaml: bad\n         b.yaml: worse\nHead:    -\n',
    );
  });
});

describe('formats', () => {
  it('parses -o and refuses others', () => {
    assert.equal(parseFormat(undefined), 'table');
    assert.equal(parseFormat('json'), 'json');
    assert.equal(parseFormat('yaml'), 'yaml');
    assert.throws(() => parseFormat('wide'), {
      name: 'UsageError',
      message: /-o wide: use one of table, json, yaml/,
    });
  });

  it('renders JSON and YAML', () => {
    assert.equal(renderData('json', { a: [1] }), '{\n  "a": [\n    1\n  ]\n}\n');
    assert.equal(renderData('yaml', { a: [1], b: 'x' }), 'a:\n  - 1\nb: x\n');
  });
});

describe('value formatting', () => {
  it('shortens and compares revisions', () => {
    assert.equal(shortRevision('0123456789abcdef'), '0123456');
    assert.equal(shortRevision(null), '-');
    assert.ok(sameRevision('0123456789abcdef', '0123456'));
    assert.ok(sameRevision('0123456', '0123456789abcdef'));
    assert.ok(!sameRevision('0123456789abcdef', '0123457'));
    assert.ok(!sameRevision('012345', '012345'), 'too short to trust');
    assert.ok(!sameRevision(null, '0123456'));
  });

  it('sorts labels and phases', () => {
    assert.equal(formatLabels({ region: 'eu', env: 'prod' }), 'env=prod,region=eu');
    assert.equal(formatLabels({}), '');
    assert.equal(formatPhases({ Failed: 1, Ready: 2, Pending: 0, Custom: 3 }), 'Ready=2 Failed=1 Custom=3');
  });

  it('gives ages like kubectl', () => {
    const now = Date.parse('2026-01-02T12:00:00Z');
    assert.equal(formatAge('2026-01-02T11:59:18Z', now), '42s');
    assert.equal(formatAge('2026-01-02T11:55:00Z', now), '5m');
    assert.equal(formatAge('2026-01-02T08:48:00Z', now), '3h12m');
    assert.equal(formatAge('2026-01-02T09:00:00Z', now), '3h');
    assert.equal(formatAge('2025-12-29T12:00:00Z', now), '4d');
    assert.equal(formatAge('2026-01-02T12:00:05Z', now), '0s', 'clock skew is not negative');
    assert.equal(formatAge(null, now), '-');
    assert.equal(formatAge('yesterday', now), '-');
  });
});
