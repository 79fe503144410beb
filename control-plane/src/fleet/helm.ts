// What gitfleet does around the real `helm template`, as pure functions: the render key that
// lets clusters with equal inputs share one render, reading the tool's output back into
// files, which hook objects a cluster gets, the release namespace, and turning Helm's error
// text into a problem with file and line. Templating itself is Helm's; never re-implemented.

import { createHash } from 'node:crypto';
import { canonicalJson } from '@gitfleet/proto/core';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from './bundle.ts';
import { type Problem, problem } from './errors.ts';
import type { RenderedFile } from './render.ts';
import { isClusterScopedKind } from './scope.ts';
import type { Values } from './values.ts';

/** What a cluster's Helm render depends on, and nothing else. */
export type HelmRenderInputs = {
  /** sha256 of the chart: the packaged archive, or the Git tree of a chart in the repository. */
  chartDigest: string;
  releaseName: string;
  namespace: string;
  values: Values;
  kubeVersion: string;
  /** apiVersionsDigest of the cluster's served API versions ('' when unknown). */
  apiVersions: string;
};

/**
 * Names a cluster's list of served API versions: stored once under it (thousands of clusters
 * share a few lists), compared to tell a changed cluster, and part of every render key.
 */
export function apiVersionsDigest(apiVersions: readonly string[]): string {
  if (apiVersions.length === 0) return '';
  const sorted = [...new Set(apiVersions)].sort();
  return `sha256:${createHash('sha256').update(canonicalJson(sorted)).digest('hex')}`;
}

/** The render key: (chart, effective values, capabilities, release), content-addressed. */
export function helmRenderKey(inputs: HelmRenderInputs): string {
  const key = canonicalJson({
    chart: inputs.chartDigest,
    release: inputs.releaseName,
    namespace: inputs.namespace,
    values: inputs.values,
    capabilities: { kubeVersion: inputs.kubeVersion, apiVersions: inputs.apiVersions },
  });
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

const SOURCE = /^# Source: (.+)$/m;

/**
 * Splits `helm template` output by the `# Source:` line Helm writes before each document, so
 * problems name the template they came from. `toPath` maps a chart-relative source
 * ("podinfo/templates/deployment.yaml") to the path people see.
 */
export function splitHelmOutput(text: string, toPath: (source: string) => string): RenderedFile[] {
  const byPath = new Map<string, string[]>();
  for (const doc of text.split(/^---[ \t]*$/m)) {
    if (doc.trim() === '') continue;
    const source = SOURCE.exec(doc)?.[1]?.trim();
    const path = source ? toPath(source) : toPath('(no source)');
    const docs = byPath.get(path) ?? [];
    docs.push(doc);
    byPath.set(path, docs);
  }
  return [...byPath].map(([path, docs]) => ({ path, content: docs.join('\n---\n') }));
}

/** The hook phases a fleet runs: install and upgrade. Tests are Helm's `helm test`, not ours. */
export const APPLIED_HOOKS = new Set(['pre-install', 'post-install', 'pre-upgrade', 'post-upgrade']);
const HOOK = 'helm.sh/hook';

function annotations(object: KubeObject): Record<string, unknown> {
  const a = object.metadata.annotations;
  return typeof a === 'object' && a !== null ? (a as Record<string, unknown>) : {};
}

/**
 * What a cluster gets of one rendered object: null for test hooks and hooks of phases we never
 * run (delete, rollback); the object with the release namespace set where it has none and its
 * kind is namespaced. `helm install` puts such objects in the release namespace through its
 * client; a bundle has to say it.
 */
export function helmObject(
  object: KubeObject,
  namespace: string,
  clusterScoped: ReadonlySet<string>,
): KubeObject | null {
  const hook = annotations(object)[HOOK];
  if (typeof hook === 'string') {
    const phases = hook.split(',').map((p) => p.trim());
    if (!phases.some((p) => APPLIED_HOOKS.has(p))) return null;
  }
  if (object.metadata.namespace) return object;
  if (isClusterScopedKind(object.apiVersion, object.kind) || clusterScoped.has(groupKind(object)))
    return object;
  return { ...object, metadata: { ...object.metadata, namespace } };
}

function groupKind(object: Pick<KubeObject, 'apiVersion' | 'kind'>): string {
  const slash = object.apiVersion.lastIndexOf('/');
  return `${slash === -1 ? '' : object.apiVersion.slice(0, slash)}/${object.kind}`;
}

/** Group/kinds a render's CustomResourceDefinitions declare cluster-scoped. */
export function clusterScopedCrds(objects: readonly KubeObject[]): Set<string> {
  const out = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'CustomResourceDefinition') continue;
    const spec = (o as { spec?: { group?: unknown; scope?: unknown; names?: { kind?: unknown } } }).spec;
    if (spec?.scope === 'Cluster' && typeof spec.group === 'string' && typeof spec.names?.kind === 'string') {
      out.add(`${spec.group}/${spec.names.kind}`);
    }
  }
  return out;
}

/**
 * A problem from Helm's stderr. Template errors name the template, line and column
 * (`podinfo/templates/x.yaml:12:5 executing …`, `parse error at (…:12): …`);
 * the path is mapped like the output's sources. Anything else is reported as Helm wrote it,
 * last line first (Helm puts the cause there), under `fallbackFile`.
 */
export function helmProblem(
  stderr: string,
  toPath: (source: string) => string,
  fallbackFile: string,
  chartName: string,
): Problem {
  const text = stderr.replace(/^Error: /gm, '').trim() || 'helm failed without saying why';
  const located =
    /(?:^|template: |parse error at \()([^:\s()]+\/[^:\s()]+\.(?:ya?ml|tpl|txt|json)):(\d+)(?::\d+)?\)?:?\s*(.*)/ms.exec(
      text,
    );
  if (located) {
    const [, source, line, rest] = located;
    return problem('TemplateError', toPath(source!), Number(line), `helm template: ${oneLine(rest || text)}`);
  }
  // Helm parses each rendered document itself before printing: output that is not an object.
  const output = /YAML parse error on (\S+?):\s*(.*)/s.exec(text);
  if (output) {
    const yamlLine = /yaml: line (\d+):/.exec(output[2]!)?.[1];
    return problem(
      'InvalidOutput',
      toPath(output[1]!),
      yamlLine ? Number(yamlLine) : undefined,
      `the template's output is not a Kubernetes object (each document must be a mapping with apiVersion, kind and metadata.name): ${oneLine(output[2]!)}`,
    );
  }
  if (/values don't meet the specifications of the schema/.test(text)) {
    return problem(
      'ValuesSchema',
      toPath(`${chartName}/values.schema.json`),
      undefined,
      `the values do not match the chart's values.schema.json: ${oneLine(text.replace(/^.*following chart\(s\):\s*/s, ''))}`,
    );
  }
  return problem('HelmError', fallbackFile, undefined, oneLine(text));
}

function oneLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('Use --debug flag'));
  const joined = lines.join('; ');
  return joined.length > 2000 ? `${joined.slice(0, 2000)}…` : joined;
}

/**
 * The dependencies a chart's Chart.yaml declares that its charts/ directory does not hold (as
 * a directory `<name>` or an archive `<name>-<version>.tgz`): what `helm dependency build`
 * must fetch before the chart renders. Unparsable Chart.yaml: none (helm says what is wrong).
 */
export function missingDependencies(
  chartYaml: string,
  chartsEntries: readonly string[],
): { name: string; repository: string }[] {
  let doc: unknown;
  try {
    doc = parseYaml(chartYaml);
  } catch {
    return [];
  }
  const deps = (doc as { dependencies?: unknown } | null)?.dependencies;
  if (!Array.isArray(deps)) return [];
  const out: { name: string; repository: string }[] = [];
  for (const d of deps as { name?: unknown; repository?: unknown }[]) {
    if (typeof d?.name !== 'string') continue;
    const name = d.name;
    const held = chartsEntries.some(
      (e) =>
        e === name ||
        (e.startsWith(`${name}-`) && e.endsWith('.tgz') && /^\d/.test(e.slice(name.length + 1))),
    );
    if (!held) out.push({ name, repository: typeof d.repository === 'string' ? d.repository : '' });
  }
  return out;
}
