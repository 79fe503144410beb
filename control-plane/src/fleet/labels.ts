// Kubernetes label selectors: the structured form stages use in fleet.yaml, and the text form
// of `GET /api/v1/clusters?selector=...`. Semantics follow Kubernetes exactly so a selector
// means the same here as in `kubectl get -l`: every requirement must hold (AND), an empty
// selector matches everything, NotIn and DoesNotExist match clusters without the label.

import { FleetError } from './errors.ts';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export type LabelSelectorRequirement = {
  key: string;
  operator: SelectorOperator;
  /** Non-empty for In and NotIn; absent for Exists and DoesNotExist. */
  values?: string[];
};

export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
};

export const SELECTOR_OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

const NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** A label key: `name` or `prefix/name`, prefix a DNS subdomain (≤ 253), name ≤ 63 characters. */
export function isValidLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash === -1) return NAME.test(key);
  const prefix = key.slice(0, slash);
  const name = key.slice(slash + 1);
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && NAME.test(name);
}

/** A label value: empty, or ≤ 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric. */
export function isValidLabelValue(value: string): boolean {
  return value === '' || NAME.test(value);
}

function has(labels: Record<string, string>, key: string): boolean {
  return Object.hasOwn(labels, key);
}

/** Whether a cluster with these labels is selected. */
export function matchesSelector(labels: Record<string, string>, selector: LabelSelector): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(labels, key) || labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const present = has(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!present || !values.includes(labels[req.key]!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[req.key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        // A selector built by hand with an unknown operator must not silently match.
        return false;
    }
  }
  return true;
}

/** The text form, as `parseSelector` reads it: `env=prod,region in (eu,us),!legacy`. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  for (const req of selector.matchExpressions ?? []) {
    const values = req.values ?? [];
    if (req.operator === 'Exists') parts.push(req.key);
    else if (req.operator === 'DoesNotExist') parts.push(`!${req.key}`);
    else if (req.operator === 'NotIn' && values.length === 1) parts.push(`${req.key}!=${values[0]}`);
    else parts.push(`${req.key} ${req.operator === 'In' ? 'in' : 'notin'} (${values.join(',')})`);
  }
  return parts.join(',');
}

const KEY_CHAR = /[A-Za-z0-9._/-]/;
const VALUE_CHAR = /[A-Za-z0-9._-]/;
const HINT = 'write requirements separated by commas, e.g. env=prod,region in (eu,us),tier!=db,gpu,!legacy';

/**
 * Parses the query-string selector syntax of Kubernetes: `key=value` (or `==`), `key!=value`,
 * `key in (a,b)`, `key notin (a,b)`, `key` (exists), `!key` (does not exist), comma-separated.
 * Whitespace around tokens is ignored; an empty string selects everything.
 * Throws FleetError 'InvalidSelector' naming the column and what was expected.
 */
export function parseSelector(text: string): LabelSelector {
  let pos = 0;
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];

  const fail = (what: string): never => {
    throw new FleetError(
      'InvalidSelector',
      `invalid selector "${text}": ${what} at column ${pos + 1}; ${HINT}`,
    );
  };
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const read = (chars: RegExp): string => {
    const start = pos;
    while (pos < text.length && chars.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };
  const readKey = (): string => {
    skipSpace();
    const start = pos;
    const key = read(KEY_CHAR);
    if (key === '')
      fail(
        text[pos] === undefined
          ? 'expected a label key at the end'
          : `expected a label key, found '${text[pos]}'`,
      );
    if (!isValidLabelKey(key)) {
      pos = start;
      fail(
        `'${key}' is not a valid label key (name or prefix/name, alphanumerics, '-', '_', '.', at most 63)`,
      );
    }
    return key;
  };
  const readValue = (): string => {
    skipSpace();
    const start = pos;
    const value = read(VALUE_CHAR);
    if (!isValidLabelValue(value)) {
      pos = start;
      fail(`'${value}' is not a valid label value (alphanumerics, '-', '_', '.', at most 63)`);
    }
    return value;
  };
  const readSet = (key: string, op: string): string[] => {
    skipSpace();
    if (text[pos] !== '(') fail(`expected '(' after '${key} ${op}'`);
    pos++;
    const values: string[] = [];
    for (;;) {
      const value = readValue();
      if (value === '') fail(`expected a value in '${key} ${op} (...)'`);
      values.push(value);
      skipSpace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === ')') {
        pos++;
        return values;
      }
      fail(`expected ',' or ')' in '${key} ${op} (...)'`);
    }
  };
  const addEquality = (key: string, value: string) => {
    // `env=a,env=b` must match nothing, as in Kubernetes; a map would keep only one of them.
    if (Object.hasOwn(matchLabels, key)) matchExpressions.push({ key, operator: 'In', values: [value] });
    else matchLabels[key] = value;
  };

  skipSpace();
  if (pos === text.length) return {};
  for (;;) {
    skipSpace();
    if (text[pos] === '!') {
      pos++;
      matchExpressions.push({ key: readKey(), operator: 'DoesNotExist' });
    } else {
      const key = readKey();
      const afterKey = pos;
      skipSpace();
      const rest = text.slice(pos);
      if (pos === text.length || rest.startsWith(',')) {
        matchExpressions.push({ key, operator: 'Exists' });
      } else if (rest.startsWith('!=')) {
        pos += 2;
        matchExpressions.push({ key, operator: 'NotIn', values: [readValue()] });
      } else if (rest.startsWith('==') || rest.startsWith('=')) {
        pos += rest.startsWith('==') ? 2 : 1;
        addEquality(key, readValue());
      } else if (/^notin(?=[\s(])/.test(rest) && pos > afterKey) {
        pos += 5;
        matchExpressions.push({ key, operator: 'NotIn', values: readSet(key, 'notin') });
      } else if (/^in(?=[\s(])/.test(rest) && pos > afterKey) {
        pos += 2;
        matchExpressions.push({ key, operator: 'In', values: readSet(key, 'in') });
      } else {
        fail(`unexpected '${text[pos]}' after '${key}' (expected =, ==, !=, in (...), notin (...) or ',')`);
      }
    }
    skipSpace();
    if (pos === text.length) break;
    if (text[pos] !== ',') fail(`expected ',' before '${text[pos]}'`);
    pos++;
  }
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}

// The same rules as JSON Schema patterns, for the API's schema (a client sees what the server
// checks); labels.test.ts holds them to isValidLabelKey, isValidLabelValue and parseSelector.
const SPACE = '\\s*';
const NAME_PATTERN = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const KEY_PATTERN = `((?=[^/]{1,253}/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?${NAME_PATTERN}`;
const REQUIREMENT_PATTERN = `${SPACE}(!${SPACE}${KEY_PATTERN}|${KEY_PATTERN}(${SPACE}(==|=|!=)${SPACE}(${NAME_PATTERN})?|\\s+(in|notin)${SPACE}\\(${SPACE}${NAME_PATTERN}(${SPACE},${SPACE}${NAME_PATTERN})*${SPACE}\\))?)${SPACE}`;

export const LABEL_KEY_PATTERN = `^${KEY_PATTERN}$`;
export const LABEL_VALUE_PATTERN = `^(${NAME_PATTERN})?$`;
export const SELECTOR_PATTERN = `^${SPACE}$|^${REQUIREMENT_PATTERN}(,${REQUIREMENT_PATTERN})*$`;
