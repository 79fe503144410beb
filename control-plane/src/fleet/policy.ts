// fleet.yaml: the policy of one fleet, read from Git on every commit. Parsing walks the YAML
// node tree (not the plain JS value) so every problem can name its line, and collects every
// problem instead of stopping at the first: a bad commit should be fixable in one push.
// A policy with any problem is rejected whole; the fleet then keeps its last good revision.

import { isDeepStrictEqual } from 'node:util';
import { type ApplySettings, DEFAULT_APPLY } from '@gitfleet/proto/core';
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
import {
  isNotifyEventType,
  NOT_NOTIFIABLE,
  NOTIFY_EVENT_TYPES,
  type NotifyRule,
  SEVERITIES,
  type Severity,
} from './notify.ts';
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
  /** Helm values of this stage, over the fleet's (Helm fleets only). */
  values?: Record<string, unknown>;
  /** The overlay this stage builds instead of the fleet's (Kustomize fleets only). */
  kustomizePath?: string;
};

/** Where a Helm fleet's chart comes from. */
export type ChartLocation =
  /** A directory inside the fleet path. */
  | { kind: 'path'; path: string }
  /** A chart by name in an HTTP(S) Helm repository (its index.yaml). */
  | { kind: 'repo'; repo: string; name: string }
  /** An OCI registry reference without a tag: oci://host/path/name. */
  | { kind: 'oci'; reference: string };

export type HelmSource = {
  chart: ChartLocation;
  /** An exact version or a range (Masterminds semver syntax, as Helm reads it); remote charts only. */
  version?: string;
  /** Absent = the fleet's name. */
  releaseName?: string;
  /** The release namespace (objects without one land there); absent = "default". */
  namespace?: string;
  /** Add the release namespace to the bundle when the chart does not (helm install --create-namespace). */
  createNamespace: boolean;
  /** An OCI registry spoken to over plain HTTP (a registry on a private network or loopback). */
  plainHttp: boolean;
  /** Paths relative to the fleet path, merged in order before `values`. */
  valuesFiles: string[];
  values: Record<string, unknown>;
};

/** Values for the clusters a selector matches, merged after the stage's values, in file order. */
export type Override = {
  selector: LabelSelector;
  values: Record<string, unknown>;
};

export type Source = 'manifests' | 'helm' | 'kustomize';

export type FleetPolicy = {
  /** What the fleet deploys: exactly one of `manifests` (the default), `helm`, `kustomize`. */
  source: Source;
  /** Manifest directory relative to the fleet path (the manifests source). */
  manifests: string;
  helm?: HelmSource;
  /** The overlay directory relative to the fleet path (the kustomize source). */
  kustomize?: { path: string };
  overrides: Override[];
  stages: Stage[];
  /** Extra variables for manifests: `${key}`; values may use the built-in variables. */
  substitute: Record<string, string>;
  apply: ApplySettings;
  /** Who is told of which events (notify.ts); absent when fleet.yaml has no `notify:`. */
  notify?: NotifyRule[];
};

export type PolicyResult = { ok: true; policy: FleetPolicy } | { ok: false; errors: Problem[] };

export const DEFAULT_MANIFESTS = './manifests';
/** Kubernetes Deployment defaults, which people already know. */
export const DEFAULT_ROLLOUT: Readonly<RolloutPolicy> = {
  maxUnavailable: '25%',
  progressDeadlineSeconds: 600,
};

const TOP_KEYS = ['manifests', 'helm', 'kustomize', 'stages', 'overrides', 'substitute', 'apply', 'notify'];
const STAGE_KEYS = ['name', 'selector', 'revision', 'requires', 'rollout', 'helm', 'kustomize'];
const HELM_KEYS = [
  'chart',
  'repo',
  'version',
  'releaseName',
  'namespace',
  'createNamespace',
  'plainHttp',
  'valuesFiles',
  'values',
];
const STAGE_HELM_KEYS = ['values'];
const KUSTOMIZE_KEYS = ['path'];
const OVERRIDE_KEYS = ['name', 'selector', 'helm'];
const SELECTOR_KEYS = ['matchLabels', 'matchExpressions'];
const EXPRESSION_KEYS = ['key', 'operator', 'values'];
const ROLLOUT_KEYS = ['maxUnavailable', 'progressDeadline'];
const APPLY_KEYS = ['force', 'prune', 'allowEmpty', 'correctDrift'];
const NOTIFY_KEYS = ['target', 'events', 'stages', 'severity'];
const RESERVED_VARIABLES = ['stage', 'revision', 'cluster'];

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
// Helm's own rule for release names (it keeps 10 characters for suffixes of its own).
const RELEASE_NAME = /^[a-z0-9](?:[-a-z0-9]{0,51}[a-z0-9])?$/;
const CHART_NAME = /^[A-Za-z0-9][-A-Za-z0-9_.]*$/;
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
    source: 'manifests',
    manifests: DEFAULT_MANIFESTS,
    overrides: [],
    stages: [],
    substitute: {},
    apply: { ...DEFAULT_APPLY },
  };
  let stagesNode: unknown = null;
  const sources: { key: Source; node: unknown }[] = [];
  let overridesNode: unknown = null;
  let notifyNode: unknown = null;
  for (const [key, value, keyNode] of r.entries(root, 'fleet.yaml', TOP_KEYS)) {
    if (key === 'manifests') {
      sources.push({ key, node: keyNode });
      readManifests(r, value, policy);
    } else if (key === 'helm') {
      sources.push({ key, node: keyNode });
      const helm = readHelm(r, value);
      if (helm) policy.helm = helm;
    } else if (key === 'kustomize') {
      sources.push({ key, node: keyNode });
      const path = readKustomize(r, value, 'kustomize');
      if (path !== null) policy.kustomize = { path };
    } else if (key === 'stages') {
      stagesNode = value;
      policy.stages = readStages(r, value);
    } else if (key === 'overrides') {
      overridesNode = keyNode;
      policy.overrides = readOverrides(r, value);
    } else if (key === 'substitute') policy.substitute = readSubstitute(r, value);
    else if (key === 'apply') readApply(r, value, policy.apply);
    else if (key === 'notify') {
      notifyNode = value;
      policy.notify = readNotify(r, value);
    }
  }
  if (sources.length > 1) {
    r.add(
      'MultipleSources',
      sources[1]!.node,
      `fleet.yaml names ${sources.map((s) => `\`${s.key}\``).join(' and ')}; a fleet deploys exactly one source: keep one of manifests, helm, kustomize (split the fleet to deploy both)`,
    );
  }
  policy.source = sources[0]?.key ?? 'manifests';
  checkSourceSpecificKeys(r, policy, stagesNode, overridesNode);
  checkNotifyStages(r, policy, notifyNode);
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
  if (!insideFleetPath(dir)) {
    r.add(
      'InvalidManifestsPath',
      node,
      `manifests '${dir}' must be a directory inside the fleet path, e.g. ./manifests (no leading '/', no '..')`,
    );
    return;
  }
  policy.manifests = dir;
}

/**
 * A directory or file inside the fleet path: the fleet path is the unit a fleet is registered
 * with, and reaching outside it would let one fleet deploy another's files; absolute paths
 * mean nothing inside a repository.
 */
function insideFleetPath(path: string): boolean {
  return path.trim() !== '' && !path.startsWith('/') && !path.split('/').includes('..');
}

function readHelm(r: Reader, node: unknown): HelmSource | null {
  if (isNull(node)) {
    r.add('InvalidType', node, 'helm must be a mapping, e.g. `helm: { chart: ./chart }`');
    return null;
  }
  const before = r.problems.length;
  const byKey = new Map(r.entries(node, 'helm', HELM_KEYS).map(([k, v]) => [k, v]));
  if (!isMap(node)) return null;
  const text = (key: string): string | null =>
    byKey.has(key) && !isNull(byKey.get(key)) ? r.string(byKey.get(key), `helm.${key}`) : null;
  const chartText = text('chart');
  const repo = text('repo');
  const version = text('version');
  const helm: HelmSource = {
    chart: { kind: 'path', path: '.' },
    createNamespace: true,
    plainHttp: false,
    valuesFiles: [],
    values: {},
  };
  for (const key of ['createNamespace', 'plainHttp'] as const) {
    if (!byKey.has(key)) continue;
    const b = r.boolean(byKey.get(key), `helm.${key}`);
    if (b !== null) helm[key] = b;
  }
  if (chartText === null) {
    if (!byKey.has('chart')) {
      r.add(
        'MissingKey',
        node,
        'helm has no chart; add `chart: ./chart` (a directory in the fleet path), `repo: https://… ` with `chart: <name>`, or `chart: oci://host/path/name`',
      );
    }
  } else if (chartText.startsWith('oci://')) {
    if (repo !== null) {
      r.add(
        'InvalidChart',
        byKey.get('repo'),
        'helm.repo is for HTTP Helm repositories; an oci:// chart names its registry itself: remove repo',
      );
    }
    const ref = chartText.slice('oci://'.length);
    const path = ref.includes('/') ? ref.slice(ref.indexOf('/')) : '';
    if (path.includes(':') || ref.includes('@')) {
      r.add(
        'InvalidChart',
        byKey.get('chart'),
        `helm.chart '${chartText}' has a tag or digest; move it to helm.version`,
      );
    } else if (!/^[^/\s:]+(?::\d+)?(?:\/[a-z0-9][-a-z0-9._]*)+$/.test(ref)) {
      r.add(
        'InvalidChart',
        byKey.get('chart'),
        `helm.chart '${chartText}' is not an OCI chart reference; write oci://<registry host>/<path>/<chart name> without a tag (the version goes in helm.version)`,
      );
    } else helm.chart = { kind: 'oci', reference: chartText };
  } else if (repo !== null) {
    if (!/^https?:\/\/[^\s/]+/.test(repo)) {
      r.add(
        'InvalidChart',
        byKey.get('repo'),
        `helm.repo '${repo}' is not an http:// or https:// URL of a Helm repository`,
      );
    } else if (/^https?:\/\/[^/]*@/.test(repo)) {
      r.add(
        'InvalidChart',
        byKey.get('repo'),
        'helm.repo must not carry credentials in Git; give them to the fleet over the API (chartCredentials)',
      );
    } else if (!CHART_NAME.test(chartText)) {
      r.add(
        'InvalidChart',
        byKey.get('chart'),
        `helm.chart '${chartText}' is not a chart name; with helm.repo, chart is the name the repository lists, e.g. podinfo`,
      );
    } else helm.chart = { kind: 'repo', repo: repo.replace(/\/+$/, ''), name: chartText };
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(chartText)) {
    r.add(
      'InvalidChart',
      byKey.get('chart'),
      `helm.chart '${chartText}' is a URL; for an HTTP Helm repository write \`repo: <repository URL>\` and \`chart: <name>\`, for a registry oci://…`,
    );
  } else if (!insideFleetPath(chartText)) {
    r.add(
      'InvalidChart',
      byKey.get('chart'),
      `helm.chart '${chartText}' must be a directory inside the fleet path, e.g. ./chart (no leading '/', no '..')`,
    );
  } else helm.chart = { kind: 'path', path: chartText };
  if (version !== null) {
    if (
      helm.chart.kind === 'path' &&
      chartText !== null &&
      !chartText.startsWith('oci://') &&
      repo === null
    ) {
      r.add(
        'InvalidChart',
        byKey.get('version'),
        "helm.version applies to charts from a repository or registry; a chart in Git is used at the commit's own Chart.yaml version: remove version",
      );
    } else if (!/^[-0-9A-Za-z.^~<>=!*xX|, +]+$/.test(version)) {
      r.add(
        'InvalidVersion',
        byKey.get('version'),
        `helm.version '${version}' is not a version or a range, e.g. 6.14.1, ^6.0.0 or '>=6.0.0 <7.0.0'`,
      );
    } else helm.version = version.trim();
  }
  const releaseName = text('releaseName');
  if (releaseName !== null) {
    if (!RELEASE_NAME.test(releaseName)) {
      r.add(
        'InvalidReleaseName',
        byKey.get('releaseName'),
        `helm.releaseName '${releaseName}' is not a Helm release name: lowercase letters, digits and '-', at most 53`,
      );
    } else helm.releaseName = releaseName;
  }
  const namespace = text('namespace');
  if (namespace !== null) {
    // ${...} variables are resolved per cluster and checked then.
    if (!DNS_LABEL.test(namespace) && !namespace.includes('${')) {
      r.add(
        'InvalidNamespace',
        byKey.get('namespace'),
        `helm.namespace '${namespace}' is not a namespace name (a DNS label)`,
      );
    } else helm.namespace = namespace;
  }
  const filesNode = byKey.get('valuesFiles');
  if (byKey.has('valuesFiles') && !isNull(filesNode)) {
    if (!isSeq(filesNode))
      r.add('InvalidType', filesNode, 'helm.valuesFiles must be a list of paths, e.g. [values-prod.yaml]');
    else {
      for (const item of filesNode.items as unknown[]) {
        const path = r.string(item, 'helm.valuesFiles');
        if (path === null) continue;
        if (!insideFleetPath(path)) {
          r.add(
            'InvalidValuesFile',
            item,
            `helm.valuesFiles '${path}' must be a file inside the fleet path (no leading '/', no '..')`,
          );
        } else helm.valuesFiles.push(path);
      }
    }
  }
  if (byKey.has('values') && !isNull(byKey.get('values'))) {
    helm.values = readValues(r, byKey.get('values'), 'helm.values') ?? {};
  }
  return r.problems.length === before ? helm : null;
}

/** Helm values: any YAML mapping, kept as written (types included). */
function readValues(r: Reader, node: unknown, where: string): Record<string, unknown> | null {
  if (!isMap(node)) {
    r.add(
      'InvalidType',
      node,
      `${where} must be a mapping of Helm values, e.g. \`values: { replicaCount: 2 }\``,
    );
    return null;
  }
  try {
    const value = (node as YAMLMap).toJSON() as Record<string, unknown>;
    return value;
  } catch (err) {
    r.add('InvalidValues', node, `${where}: ${(err as Error).message}`);
    return null;
  }
}

function readKustomize(r: Reader, node: unknown, where: string): string | null {
  const byKey = new Map(r.entries(node, where, KUSTOMIZE_KEYS).map(([k, v]) => [k, v]));
  if (!isMap(node)) return null;
  if (!byKey.has('path')) {
    r.add(
      'MissingKey',
      node,
      `${where} has no path; add e.g. \`path: ./overlays/prod\` (the directory holding kustomization.yaml)`,
    );
    return null;
  }
  const path = r.string(byKey.get('path'), `${where}.path`);
  if (path === null) return null;
  if (!insideFleetPath(path)) {
    r.add(
      'InvalidKustomizePath',
      byKey.get('path'),
      `${where}.path '${path}' must be a directory inside the fleet path, e.g. ./overlays/prod (no leading '/', no '..')`,
    );
    return null;
  }
  return path;
}

function readOverrides(r: Reader, node: unknown): Override[] {
  if (isNull(node)) return [];
  if (!isSeq(node)) {
    r.add(
      'InvalidType',
      node,
      'overrides must be a list, e.g. `overrides: [{ selector: {...}, helm: { values: {...} } }]`',
    );
    return [];
  }
  const out: Override[] = [];
  (node.items as unknown[]).forEach((item, i) => {
    const early = isMap(item) ? scalarText((item as YAMLMap).get('name', true)) : null;
    const where = early ? `override '${early}'` : `override #${i + 1}`;
    const byKey = new Map(r.entries(item, where, OVERRIDE_KEYS).map(([k, v]) => [k, v]));
    if (!isMap(item)) return;
    if (!byKey.has('selector')) {
      r.add(
        'MissingKey',
        item,
        `${where} has no selector; add e.g. \`selector: { matchLabels: { region: eu } }\``,
      );
      return;
    }
    const selector = readSelector(r, byKey.get('selector'), where);
    let values: Record<string, unknown> = {};
    if (byKey.has('helm') && !isNull(byKey.get('helm'))) {
      for (const [k, v] of r.entries(byKey.get('helm'), `${where} helm`, STAGE_HELM_KEYS)) {
        if (k === 'values') values = readValues(r, v, `${where} helm.values`) ?? {};
      }
    }
    out.push({ selector, values });
  });
  return out;
}

/** Stage and override keys that only one source understands must not be silently ignored. */
function checkSourceSpecificKeys(
  r: Reader,
  policy: FleetPolicy,
  stagesNode: unknown,
  overridesNode: unknown,
): void {
  if (policy.source !== 'helm') {
    if (overridesNode !== null && policy.overrides.length > 0) {
      r.add(
        'NotHelm',
        overridesNode,
        `overrides set Helm values, but this fleet deploys ${policy.source}; remove overrides or use a helm source`,
      );
    }
  }
  if (!isSeq(stagesNode)) return;
  (stagesNode.items as unknown[]).forEach((item) => {
    if (!isMap(item)) return;
    const name = scalarText((item as YAMLMap).get('name', true)) ?? '?';
    const helmKey = ((item as YAMLMap).items as Pair[]).find((p) => scalarText(p.key) === 'helm')?.key;
    const kustomizeKey = ((item as YAMLMap).items as Pair[]).find(
      (p) => scalarText(p.key) === 'kustomize',
    )?.key;
    if (helmKey && policy.source !== 'helm') {
      r.add(
        'NotHelm',
        helmKey,
        `stage '${name}' sets helm values, but this fleet deploys ${policy.source}; remove them or use a helm source`,
      );
    }
    if (kustomizeKey && policy.source !== 'kustomize') {
      r.add(
        'NotKustomize',
        kustomizeKey,
        `stage '${name}' names a kustomize overlay, but this fleet deploys ${policy.source}; remove it or use a kustomize source`,
      );
    }
  });
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
    if (byKey.has('helm') && !isNull(byKey.get('helm')!.v)) {
      for (const [k, v] of r.entries(byKey.get('helm')!.v, `${where} helm`, STAGE_HELM_KEYS)) {
        if (k === 'values') {
          const values = readValues(r, v, `${where} helm.values`);
          if (values) stage.values = values;
        }
      }
    }
    if (byKey.has('kustomize') && !isNull(byKey.get('kustomize')!.v)) {
      const path = readKustomize(r, byKey.get('kustomize')!.v, `${where} kustomize`);
      if (path !== null) stage.kustomizePath = path;
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

function readApply(r: Reader, node: unknown, apply: ApplySettings): void {
  if (isNull(node)) return;
  for (const [key, value] of r.entries(node, 'apply', APPLY_KEYS)) {
    const b = r.boolean(value, `apply.${key}`);
    if (b !== null) apply[key as keyof ApplySettings] = b;
  }
}

/** `notify:` — a list of rules, each `{ target, events?, stages?, severity? }` (notify.ts). */
function readNotify(r: Reader, node: unknown): NotifyRule[] {
  if (isNull(node)) return [];
  if (!isSeq(node)) {
    r.add(
      'InvalidType',
      node,
      'notify must be a list of rules, e.g. `notify: [{ target: ops, events: [RolloutHalted, FleetError] }]`',
    );
    return [];
  }
  const rules: NotifyRule[] = [];
  (node.items as unknown[]).forEach((item, i) => {
    const where = `notify rule #${i + 1}`;
    const byKey = new Map(r.entries(item, where, NOTIFY_KEYS).map(([k, v]) => [k, v]));
    if (!isMap(item)) return;
    const before = r.problems.length;
    const rule: NotifyRule = { target: '' };
    const line = r.line(item);
    if (line !== undefined) rule.line = line;
    if (!byKey.has('target')) {
      r.add(
        'MissingKey',
        item,
        `${where} has no target; add e.g. \`target: ops-slack\` (a notification target's name)`,
      );
    } else {
      const target = r.string(byKey.get('target'), `${where} target`);
      if (target !== null && !DNS_LABEL.test(target)) {
        r.add(
          'InvalidNotificationTarget',
          byKey.get('target'),
          `${where}: target '${target}' is not a target name; targets are named with lowercase letters, digits and '-', at most 63`,
        );
      } else if (target !== null) rule.target = target;
    }
    if (byKey.has('events')) {
      const events = readNames(r, byKey.get('events'), `${where} events`, 'e.g. [RolloutHalted, FleetError]');
      for (const { text, node: at } of events) {
        const reason = Object.hasOwn(NOT_NOTIFIABLE, text)
          ? NOT_NOTIFIABLE[text as keyof typeof NOT_NOTIFIABLE]
          : undefined;
        if (reason) {
          r.add('EventNotNotifiable', at, `${where}: ${text} cannot be notified: ${reason}`);
        } else if (!isNotifyEventType(text)) {
          r.add(
            'UnknownEventType',
            at,
            `${where}: unknown event type '${text}'; ${suggest(text, [...NOTIFY_EVENT_TYPES])}event types are ${NOTIFY_EVENT_TYPES.join(', ')}`,
          );
        } else if (!rule.events?.includes(text)) rule.events = [...(rule.events ?? []), text];
      }
    }
    if (byKey.has('stages')) {
      const stages = readNames(r, byKey.get('stages'), `${where} stages`, 'e.g. [prod]');
      rule.stages = stages.map((s) => s.text);
    }
    if (byKey.has('severity')) {
      const text = r.string(byKey.get('severity'), `${where} severity`);
      if (text !== null && !SEVERITIES.includes(text as Severity)) {
        r.add(
          'InvalidSeverity',
          byKey.get('severity'),
          `${where}: severity '${text}' is not one of ${SEVERITIES.join(', ')} (the least severity the rule hears)`,
        );
      } else if (text !== null) rule.severity = text as Severity;
    }
    if (!byKey.has('events') && !byKey.has('severity')) {
      r.add(
        'MissingKey',
        item,
        `${where} names no events; add e.g. \`events: [RolloutHalted, FleetError]\`, or \`severity: error\` for every event that severe`,
      );
    }
    if (r.problems.length === before) rules.push(rule);
  });
  return rules;
}

/** A non-empty flow or block list of plain names, with the node of each (for its line). */
function readNames(
  r: Reader,
  node: unknown,
  where: string,
  example: string,
): { text: string; node: unknown }[] {
  if (!isSeq(node) || node.items.length === 0) {
    r.add('InvalidType', node, `${where} must be a non-empty list, ${example}`);
    return [];
  }
  const out: { text: string; node: unknown }[] = [];
  for (const item of node.items as unknown[]) {
    const text = r.string(item, where);
    if (text !== null) out.push({ text, node: item });
  }
  return out;
}

/** A rule's `stages` must name stages of this fleet.yaml (a typo would silence the rule). */
function checkNotifyStages(r: Reader, policy: FleetPolicy, notifyNode: unknown): void {
  if (!isSeq(notifyNode) || !policy.notify) return;
  const names = policy.stages.map((s) => s.name).filter(Boolean);
  if (names.length === 0) return;
  (notifyNode.items as unknown[]).forEach((item, i) => {
    const stagesNode = isMap(item) ? (item as YAMLMap).get('stages', true) : undefined;
    if (!isSeq(stagesNode)) return;
    for (const at of stagesNode.items as unknown[]) {
      const text = scalarText(at);
      if (text !== null && !names.includes(text)) {
        r.add(
          'UnknownStage',
          at,
          `notify rule #${i + 1}: stage '${text}' is not a stage of this fleet; ${suggest(text, names)}stages are ${names.join(', ')}`,
        );
      }
    }
  });
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
