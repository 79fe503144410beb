// fleet.yaml: the policy of one fleet, read from Git on every commit. Parsing walks the YAML
// node tree (not the plain JS value) so every problem can name its line, and collects every
// problem instead of stopping at the first: a bad commit should be fixable in one push.
// A policy with any problem is rejected whole; the fleet then keeps its last good revision.

import { isDeepStrictEqual } from 'node:util';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseAllDocuments,
  parseDocument,
  type Scalar,
  stringify,
  type YAMLMap,
} from 'yaml';
import { FleetError, type Problem, problem } from './errors.ts';
import {
  isValidLabelKey,
  isValidLabelValue,
  type LabelSelector,
  type LabelSelectorRequirement,
  SELECTOR_OPERATORS,
  type SelectorOperator,
} from './labels.ts';
import { isRevision } from './revision.ts';
import { findVariables, isBuiltinVariable } from './substitute.ts';

export type RolloutPolicy = {
  /** A count (≥ 1) or a percentage of the stage's clusters, e.g. "25%". */
  maxUnavailable: number | string;
  /** How long a moved cluster may take to be Ready before the rollout halts. */
  progressDeadlineSeconds: number;
};

export type Stage = {
  /** DNS label: lowercase alphanumerics and '-', at most 63. */
  name: string;
  selector: LabelSelector;
  /** Pinned commit id (lowercase hex); absent = the stage follows the branch head. */
  revision?: string;
  /** Name of an earlier stage whose clusters must all be Ready at a revision before it is promoted here. */
  requires?: string;
  /** Absent = every cluster of the stage moves at once. */
  rollout?: RolloutPolicy;
};

export type ApplyPolicy = {
  force: boolean;
  prune: boolean;
  allowEmpty: boolean;
  correctDrift: boolean;
};

export type FleetPolicy = {
  /** Manifest directory relative to the fleet path. */
  manifests: string;
  stages: Stage[];
  /** Extra variables for manifests: `${key}`; values may use the built-in variables. */
  substitute: Record<string, string>;
  apply: ApplyPolicy;
};

export type PolicyResult = { ok: true; policy: FleetPolicy } | { ok: false; errors: Problem[] };

export const DEFAULT_MANIFESTS = './manifests';
// force: true by default, as in Flux and Argo CD: a field someone changed by hand (kubectl
// edit/patch takes ownership of it) can only be restored by forcing; fields our manifests do
// not set, like the replicas an HPA owns, are never touched either way.
export const DEFAULT_APPLY: Readonly<ApplyPolicy> = {
  force: true,
  prune: true,
  allowEmpty: false,
  correctDrift: true,
};
/** Kubernetes Deployment defaults, which people already know. */
export const DEFAULT_ROLLOUT: Readonly<RolloutPolicy> = {
  maxUnavailable: '25%',
  progressDeadlineSeconds: 600,
};

const TOP_KEYS = ['manifests', 'stages', 'substitute', 'apply'];
const STAGE_KEYS = ['name', 'selector', 'revision', 'requires', 'rollout'];
const SELECTOR_KEYS = ['matchLabels', 'matchExpressions'];
const EXPRESSION_KEYS = ['key', 'operator', 'values'];
const ROLLOUT_KEYS = ['maxUnavailable', 'progressDeadline'];
const APPLY_KEYS = ['force', 'prune', 'allowEmpty', 'correctDrift'];
const RESERVED_VARIABLES = ['stage', 'revision', 'cluster'];

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const VARIABLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const PERCENT = /^(\d+)%$/;

/** Seconds in a duration written `90s`, `10m`, `1h` or combined (`1h30m`); null if malformed or zero. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === '') return null;
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return seconds > 0 ? seconds : null;
}

/** The inverse of parseDuration, for messages: 600 → "10m", 5400 → "1h30m". */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

/** Levenshtein distance, to suggest the key someone meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

function suggest(key: string, allowed: string[]): string {
  const best = allowed
    .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? `did you mean '${best.k}'? ` : '';
}

/**
 * The text of a scalar as a person wrote it. Label values, commit ids and substitutions are
 * strings in Kubernetes, but YAML reads `version: 1` or `revision: 1234567` as numbers; taking
 * the source text keeps what was written (1.10 stays "1.10", not 1.1). Null for non-scalars
 * and for empty values.
 */
function scalarText(node: unknown): string | null {
  if (!isScalar(node)) return null;
  const value = (node as Scalar).value;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean')
    return (node as Scalar).source ?? String(value);
  return null;
}

function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && (node as Scalar).value === null);
}

class Reader {
  readonly file: string;
  readonly lines: LineCounter;
  readonly problems: Problem[] = [];

  constructor(file: string, lines: LineCounter) {
    this.file = file;
    this.lines = lines;
  }

  line(node: unknown): number | undefined {
    const range = (node as Node | null)?.range;
    return range ? this.lines.linePos(range[0]).line : undefined;
  }

  add(code: string, node: unknown, message: string): void {
    this.problems.push(problem(code, this.file, this.line(node), message));
  }

  /**
   * The entries of a mapping, as [key, value node, key node]; reports non-mappings, non-string
   * keys and keys outside `allowed` (naming them and, when close, the one probably meant).
   */
  entries(node: unknown, where: string, allowed: string[] | null): [string, unknown, unknown][] {
    if (!isMap(node)) {
      this.add('InvalidType', node, `${where} must be a mapping (key: value)`);
      return [];
    }
    const out: [string, unknown, unknown][] = [];
    for (const pair of (node as YAMLMap).items as Pair[]) {
      const key = scalarText(pair.key);
      if (key === null) {
        this.add('InvalidType', pair.key, `${where} has a key that is not a plain name`);
        continue;
      }
      if (allowed && !allowed.includes(key)) {
        this.add(
          'UnknownKey',
          pair.key,
          `unknown key '${key}' in ${where}; ${suggest(key, allowed)}allowed keys are ${allowed.join(', ')}`,
        );
        continue;
      }
      out.push([key, pair.value, pair.key]);
    }
    return out;
  }

  string(node: unknown, where: string): string | null {
    const text = scalarText(node);
    if (text === null) this.add('InvalidType', node, `${where} must be a string`);
    return text;
  }

  boolean(node: unknown, where: string): boolean | null {
    if (isScalar(node) && typeof (node as Scalar).value === 'boolean')
      return (node as Scalar).value as boolean;
    this.add('InvalidType', node, `${where} must be true or false`);
    return null;
  }
}

/** Parses and validates fleet.yaml. `file` is only used in messages. */
export function parsePolicy(text: string, file = 'fleet.yaml'): PolicyResult {
  const lines = new LineCounter();
  const r = new Reader(file, lines);
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const nonEmpty = Array.isArray(docs) ? docs.filter((d) => !isNull(d.contents) || d.errors.length > 0) : [];
  for (const doc of nonEmpty) {
    for (const err of doc.errors) {
      r.problems.push(
        problem('YamlSyntax', file, lines.linePos(err.pos[0]).line, `YAML does not parse: ${err.message}`),
      );
    }
  }
  if (r.problems.length > 0) return { ok: false, errors: r.problems };
  if (nonEmpty.length === 0) {
    r.add('EmptyPolicy', null, 'fleet.yaml is empty; it needs at least `stages:` with one stage');
    return { ok: false, errors: r.problems };
  }
  if (nonEmpty.length > 1) {
    r.add(
      'MultipleDocuments',
      nonEmpty[1]!.contents,
      'fleet.yaml must hold one YAML document; remove the `---`',
    );
    return { ok: false, errors: r.problems };
  }
  const root = nonEmpty[0]!.contents;

  const policy: FleetPolicy = {
    manifests: DEFAULT_MANIFESTS,
    stages: [],
    substitute: {},
    apply: { ...DEFAULT_APPLY },
  };
  let stagesNode: unknown = null;
  for (const [key, value] of r.entries(root, 'fleet.yaml', TOP_KEYS)) {
    if (key === 'manifests') readManifests(r, value, policy);
    else if (key === 'stages') {
      stagesNode = value;
      policy.stages = readStages(r, value);
    } else if (key === 'substitute') policy.substitute = readSubstitute(r, value);
    else if (key === 'apply') readApply(r, value, policy.apply);
  }
  if (policy.stages.length === 0) {
    r.add(
      'NoStages',
      stagesNode ?? root,
      'fleet.yaml has no stages, so no cluster would get anything; add e.g. `stages: [{ name: dev, selector: { matchLabels: { env: dev } } }]`',
    );
  }
  return r.problems.length > 0 ? { ok: false, errors: r.problems } : { ok: true, policy };
}

function readManifests(r: Reader, node: unknown, policy: FleetPolicy): void {
  const dir = r.string(node, 'manifests');
  if (dir === null) return;
  // The fleet path is the unit a fleet is registered with; reaching outside it would let one
  // fleet deploy another's files, and absolute paths mean nothing inside a repository.
  if (dir.trim() === '' || dir.startsWith('/') || dir.split('/').includes('..')) {
    r.add(
      'InvalidManifestsPath',
      node,
      `manifests '${dir}' must be a directory inside the fleet path, e.g. ./manifests (no leading '/', no '..')`,
    );
    return;
  }
  policy.manifests = dir;
}

function readStages(r: Reader, node: unknown): Stage[] {
  if (isNull(node)) return [];
  if (!isSeq(node)) {
    r.add('InvalidType', node, 'stages must be a list, e.g. `stages: [{ name: dev, selector: {...} }]`');
    return [];
  }
  const stages: Stage[] = [];
  const nodes = new Map<Stage, { requires?: unknown; name?: unknown }>();
  (node.items as unknown[]).forEach((item, i) => {
    const label = `stage #${i + 1}`;
    // Name the stage in messages about its other keys as soon as it has a readable name.
    const early = isMap(item) ? scalarText((item as YAMLMap).get('name', true)) : null;
    const entries = r.entries(item, early && DNS_LABEL.test(early) ? `stage '${early}'` : label, STAGE_KEYS);
    if (!isMap(item)) return;
    const byKey = new Map(entries.map(([k, v, keyNode]) => [k, { v, keyNode }]));
    const nameNode = byKey.get('name')?.v;
    let name = '';
    if (!byKey.has('name')) r.add('MissingKey', item, `${label} has no name; add e.g. \`name: prod\``);
    else {
      name = r.string(nameNode, `${label} name`) ?? '';
      if (name && !DNS_LABEL.test(name)) {
        r.add(
          'InvalidStageName',
          nameNode,
          `stage name '${name}' is not a DNS label; use lowercase letters, digits and '-', at most 63, e.g. 'prod-eu'`,
        );
      }
    }
    const where = name ? `stage '${name}'` : label;
    const stage: Stage = { name, selector: {} };
    if (!byKey.has('selector')) {
      r.add(
        'MissingKey',
        item,
        `${where} has no selector; add e.g. \`selector: { matchLabels: { env: ${name || 'prod'} } }\` (\`selector: {}\` selects every cluster)`,
      );
    } else stage.selector = readSelector(r, byKey.get('selector')!.v, where);
    const revNode = byKey.get('revision')?.v;
    if (byKey.has('revision') && !isNull(revNode)) {
      const rev = scalarText(revNode)?.toLowerCase() ?? null;
      if (rev === null || !isRevision(rev)) {
        r.add(
          'InvalidRevision',
          revNode,
          `${where}: revision '${scalarText(revNode) ?? '(not a string)'}' is not a commit id; write the full 40-digit hex commit id (or at least its first 7 digits), or remove it to follow the branch head`,
        );
      } else stage.revision = rev;
    }
    const reqNode = byKey.get('requires')?.v;
    if (byKey.has('requires') && !isNull(reqNode)) {
      const req = r.string(reqNode, `${where} requires`);
      if (req !== null) stage.requires = req;
    }
    if (byKey.has('rollout') && !isNull(byKey.get('rollout')!.v)) {
      const rollout = readRollout(r, byKey.get('rollout')!.v, where);
      if (rollout) stage.rollout = rollout;
    }
    stages.push(stage);
    nodes.set(stage, { requires: reqNode, name: nameNode });
  });

  // Names and `requires` can only be checked against the whole list.
  const firstIndex = new Map<string, number>();
  stages.forEach((s, i) => {
    if (!s.name) return;
    if (firstIndex.has(s.name)) {
      r.add(
        'DuplicateStage',
        nodes.get(s)?.name,
        `stage name '${s.name}' is used twice (stages #${firstIndex.get(s.name)! + 1} and #${i + 1}); rename one`,
      );
    } else firstIndex.set(s.name, i);
  });
  stages.forEach((s, i) => {
    if (s.requires === undefined) return;
    const at = nodes.get(s)?.requires;
    const j = firstIndex.get(s.requires);
    if (s.requires === s.name) {
      r.add(
        'RequiresSelf',
        at,
        `stage '${s.name}' requires itself; name the stage before it, or remove requires`,
      );
    } else if (j === undefined) {
      r.add(
        'UnknownStage',
        at,
        `stage '${s.name}' requires '${s.requires}', which is not a stage; known stages: ${[...firstIndex.keys()].join(', ')}`,
      );
    } else if (j > i) {
      r.add(
        'RequiresLaterStage',
        at,
        `stage '${s.name}' requires '${s.requires}', which comes after it; a stage can only require an earlier stage (move '${s.requires}' above '${s.name}')`,
      );
    }
  });
  return stages;
}

function readSelector(r: Reader, node: unknown, where: string): LabelSelector {
  if (isNull(node)) return {};
  const selector: LabelSelector = {};
  for (const [key, value] of r.entries(node, `${where} selector`, SELECTOR_KEYS)) {
    if (key === 'matchLabels') {
      const labels: Record<string, string> = {};
      for (const [k, v, keyNode] of r.entries(value, `${where} selector.matchLabels`, null)) {
        const text = r.string(v, `${where} selector.matchLabels.${k}`);
        if (!isValidLabelKey(k)) {
          r.add(
            'InvalidSelector',
            keyNode,
            `${where}: '${k}' is not a valid label key (name or prefix/name)`,
          );
        } else if (text !== null && !isValidLabelValue(text)) {
          r.add(
            'InvalidSelector',
            v,
            `${where}: label value '${text}' for '${k}' is invalid; use at most 63 alphanumerics, '-', '_', '.'`,
          );
        } else if (text !== null) labels[k] = text;
      }
      selector.matchLabels = labels;
    } else if (key === 'matchExpressions') {
      if (!isSeq(value)) {
        r.add('InvalidType', value, `${where} selector.matchExpressions must be a list`);
        continue;
      }
      selector.matchExpressions = [];
      (value.items as unknown[]).forEach((item, i) => {
        const req = readRequirement(r, item, `${where} selector.matchExpressions[${i}]`);
        if (req) selector.matchExpressions!.push(req);
      });
    }
  }
  return selector;
}

function readRequirement(r: Reader, node: unknown, where: string): LabelSelectorRequirement | null {
  const entries = new Map(r.entries(node, where, EXPRESSION_KEYS).map(([k, v]) => [k, v]));
  if (!isMap(node)) return null;
  const key = entries.has('key') ? r.string(entries.get('key'), `${where}.key`) : null;
  const op = entries.has('operator') ? r.string(entries.get('operator'), `${where}.operator`) : null;
  if (!entries.has('key') || !entries.has('operator')) {
    r.add('InvalidSelector', node, `${where} needs both key and operator (${SELECTOR_OPERATORS.join(', ')})`);
    return null;
  }
  if (key === null || op === null) return null;
  let ok = true;
  if (!isValidLabelKey(key)) {
    r.add('InvalidSelector', entries.get('key'), `${where}: '${key}' is not a valid label key`);
    ok = false;
  }
  if (!SELECTOR_OPERATORS.includes(op as SelectorOperator)) {
    r.add(
      'InvalidSelector',
      entries.get('operator'),
      `${where}: unknown operator '${op}'; use one of ${SELECTOR_OPERATORS.join(', ')}`,
    );
    return null;
  }
  const operator = op as SelectorOperator;
  const valuesNode = entries.get('values');
  const hasValues = entries.has('values') && !isNull(valuesNode);
  const values: string[] = [];
  if (hasValues) {
    if (!isSeq(valuesNode)) {
      r.add('InvalidType', valuesNode, `${where}.values must be a list, e.g. [eu, us]`);
      return null;
    }
    for (const v of valuesNode.items as unknown[]) {
      const text = r.string(v, `${where}.values`);
      if (text === null) ok = false;
      else if (!isValidLabelValue(text)) {
        r.add('InvalidSelector', v, `${where}: '${text}' is not a valid label value`);
        ok = false;
      } else values.push(text);
    }
  }
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0 && ok) {
    r.add('InvalidSelector', node, `${where}: operator ${operator} needs a non-empty values list`);
    return null;
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && hasValues) {
    r.add('InvalidSelector', valuesNode, `${where}: operator ${operator} takes no values; remove values`);
    return null;
  }
  if (!ok) return null;
  return operator === 'In' || operator === 'NotIn' ? { key, operator, values } : { key, operator };
}

function readRollout(r: Reader, node: unknown, where: string): RolloutPolicy | null {
  const rollout: RolloutPolicy = { ...DEFAULT_ROLLOUT };
  const before = r.problems.length;
  for (const [key, value] of r.entries(node, `${where} rollout`, ROLLOUT_KEYS)) {
    if (key === 'maxUnavailable') {
      const parsed = readMaxUnavailable(value);
      if (parsed === null) {
        r.add(
          'InvalidMaxUnavailable',
          value,
          `${where}: rollout.maxUnavailable '${scalarText(value) ?? '(not a scalar)'}' must be a whole number of clusters ≥ 1 (e.g. 2) or a percentage from 1% to 100% (e.g. 25%)`,
        );
      } else rollout.maxUnavailable = parsed;
    } else {
      const text = scalarText(value);
      const seconds =
        text !== null && typeof (value as Scalar).value === 'string' ? parseDuration(text) : null;
      if (seconds === null) {
        r.add(
          'InvalidDuration',
          value,
          `${where}: rollout.progressDeadline '${text ?? '(not a scalar)'}' is not a duration; write a positive number with a unit, e.g. 90s, 10m, 1h or 1h30m`,
        );
      } else rollout.progressDeadlineSeconds = seconds;
    }
  }
  return r.problems.length === before ? rollout : null;
}

function readMaxUnavailable(node: unknown): number | string | null {
  if (!isScalar(node)) return null;
  const value = (node as Scalar).value;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 ? value : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) >= 1 ? Number(text) : null;
  const m = PERCENT.exec(text);
  if (!m) return null;
  const pct = Number(m[1]);
  return pct >= 1 && pct <= 100 ? `${pct}%` : null;
}

function readSubstitute(r: Reader, node: unknown): Record<string, string> {
  if (isNull(node)) return {};
  const out: Record<string, string> = {};
  for (const [key, value, keyNode] of r.entries(node, 'substitute', null)) {
    if (!VARIABLE_KEY.test(key)) {
      r.add(
        'InvalidSubstitution',
        keyNode,
        `substitute key '${key}' is not a variable name; use letters, digits and '_' (not starting with a digit), e.g. app_namespace`,
      );
      continue;
    }
    if (RESERVED_VARIABLES.includes(key)) {
      r.add(
        'InvalidSubstitution',
        keyNode,
        `substitute key '${key}' is a built-in variable and cannot be redefined; choose another name`,
      );
      continue;
    }
    const text = scalarText(value);
    if (text === null) {
      r.add(
        'InvalidSubstitution',
        value,
        `substitute.${key} must be a single value (a string or number), not ${isMap(value) ? 'a mapping' : isSeq(value) ? 'a list' : 'empty'}`,
      );
      continue;
    }
    if (/[\r\n]/.test(text)) {
      // Substitution is textual; a line break would shift or break the YAML it lands in.
      r.add('InvalidSubstitution', value, `substitute.${key} must fit on one line`);
      continue;
    }
    // Values may use the built-in variables only; letting them use each other would make the
    // result depend on evaluation order (and allow cycles) for little gain.
    let ok = true;
    for (const ref of findVariables(text)) {
      const bad = ref.unterminated
        ? `has an unterminated '\${${ref.name}' (missing '}')`
        : !isBuiltinVariable(ref.name)
          ? `uses \${${ref.name}}, which is not a built-in variable; substitute values may use \${stage}, \${revision}, \${cluster.name} and \${cluster.labels.<key>}`
          : ref.name.startsWith('cluster.labels.') &&
              !isValidLabelKey(ref.name.slice('cluster.labels.'.length))
            ? `uses \${${ref.name}}, but '${ref.name.slice('cluster.labels.'.length)}' is not a valid label key`
            : null;
      if (bad) {
        r.add('InvalidSubstitution', value, `substitute.${key} ${bad}`);
        ok = false;
      }
    }
    if (ok) out[key] = text;
  }
  return out;
}

function readApply(r: Reader, node: unknown, apply: ApplyPolicy): void {
  if (isNull(node)) return;
  for (const [key, value] of r.entries(node, 'apply', APPLY_KEYS)) {
    const b = r.boolean(value, `apply.${key}`);
    if (b !== null) apply[key as keyof ApplyPolicy] = b;
  }
}

// ---------------------------------------------------------------------------------------------
// Promotions: rewrite one stage's revision, leaving every other byte of the file alone.

/** Finds the stage's mapping node in a parsed fleet.yaml document; throws FleetError when absent. */
function findStage(doc: Document, stage: string, file: string): { item: YAMLMap; index: number } {
  const stages = isMap(doc.contents) ? (doc.contents as YAMLMap).get('stages', true) : undefined;
  if (!isSeq(stages)) {
    throw new FleetError('StageNotFound', `${file}: has no stages list, so there is no stage '${stage}'`);
  }
  const found: { item: YAMLMap; index: number }[] = [];
  (stages.items as unknown[]).forEach((item, index) => {
    if (isMap(item) && scalarText((item as YAMLMap).get('name', true)) === stage) {
      found.push({ item: item as YAMLMap, index });
    }
  });
  if (found.length === 0) {
    throw new FleetError('StageNotFound', `${file}: there is no stage '${stage}'; check the stage name`);
  }
  if (found.length > 1) {
    throw new FleetError(
      'DuplicateStage',
      `${file}: stage '${stage}' appears more than once; fix fleet.yaml first`,
    );
  }
  return found[0]!;
}

function parseForEdit(yamlText: string, file: string): Document.Parsed {
  const doc = parseDocument(yamlText, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new FleetError(
      'YamlSyntax',
      `${file}: YAML does not parse (${doc.errors[0]!.message}); fix it first`,
    );
  }
  return doc;
}

/**
 * Returns fleet.yaml with `stage`'s `revision:` set (replaced, or inserted right after its
 * `name:`), every other byte unchanged: comments, quoting, flow style and key order stay as
 * people wrote them, so the promotion commit's diff is one line. Throws FleetError
 * ('InvalidRevision', 'StageNotFound', 'YamlSyntax').
 */
export function setStageRevision(
  yamlText: string,
  stage: string,
  revision: string,
  file = 'fleet.yaml',
): string {
  const rev = revision.trim().toLowerCase();
  if (!isRevision(rev)) {
    throw new FleetError(
      'InvalidRevision',
      `'${revision}' is not a commit id; give the 40-digit hex commit id (or at least its first 7 digits)`,
    );
  }
  const doc = parseForEdit(yamlText, file);
  const { item, index } = findStage(doc, stage, file);
  const expected = doc.toJS() as { stages: Record<string, unknown>[] };
  expected.stages[index]!.revision = rev;

  const spliced = spliceRevision(yamlText, item, rev);
  if (spliced !== null && isDeepStrictEqual(parseDocument(spliced).toJS(), expected)) return spliced;

  // Unusual layouts (an alias, an empty `revision:`, a multi-line name) fall back to the YAML
  // library's own writer, which keeps comments but may reformat some of the file.
  item.set('revision', rev);
  const rewritten = doc.toString();
  if (!isDeepStrictEqual(parseDocument(rewritten).toJS(), expected)) {
    throw new FleetError('InternalError', `${file}: could not rewrite the revision of stage '${stage}'`);
  }
  return rewritten;
}

function spliceRevision(text: string, item: YAMLMap, rev: string): string | null {
  const scalar = stringify(rev).trimEnd(); // quoted when it would read as a number: "1234567"
  const pairs = item.items as Pair[];
  const existing = pairs.find((p) => scalarText(p.key) === 'revision');
  if (existing) {
    const value = existing.value as Scalar | null;
    if (!isScalar(value) || value.value === null || !value.range) return null;
    return text.slice(0, value.range[0]) + scalar + text.slice(value.range[1]);
  }
  const namePair = pairs.find((p) => scalarText(p.key) === 'name');
  const nameKey = namePair?.key as Node | undefined;
  const nameValue = namePair?.value as Node | undefined;
  if (!nameKey?.range || !nameValue?.range) return null;
  if (item.flow) {
    const at = nameValue.range[1];
    return `${text.slice(0, at)}, revision: ${scalar}${text.slice(at)}`;
  }
  // Block mapping: a new line after the name's line, at the column of the `name` key.
  let end = text.indexOf('\n', nameValue.range[1]);
  if (end === -1) end = text.length;
  const crlf = end > 0 && text[end - 1] === '\r';
  if (crlf) end--;
  const lineStart = text.lastIndexOf('\n', nameKey.range[0] - 1) + 1;
  const indent = ' '.repeat(nameKey.range[0] - lineStart);
  return `${text.slice(0, end)}${crlf ? '\r\n' : '\n'}${indent}revision: ${scalar}${text.slice(end)}`;
}
