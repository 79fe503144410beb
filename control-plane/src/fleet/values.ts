// Helm values of one cluster: the layers fleet.yaml and the repository name, merged in one
// documented order, with `${...}` variables resolved per cluster. Pure: the renderer hands the
// result to the real `helm template` as one values file, so the chart's own defaults are merged
// under it by Helm itself (chart defaults < valuesFiles < values < stage < overrides).

import { type Problem, problem } from './errors.ts';
import { matchesSelector } from './labels.ts';
import type { FleetPolicy, Stage } from './policy.ts';
import { substitute, type VariableRef } from './substitute.ts';

export type Values = Record<string, unknown>;

/** A layer of values and where it came from, for messages. */
export type ValuesLayer = { source: string; values: Values };

function isPlainObject(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merges `over` onto `base` the way Helm merges `-f` files: mappings merge key by key, anything
 * else (lists included) replaces, and a null is kept so that Helm deletes the chart's default
 * for that key. Neither argument is modified.
 */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const before = out[key];
    out[key] = isPlainObject(before) && isPlainObject(value) ? mergeValues(before, value) : value;
  }
  return out;
}

/** The layers for one cluster in merge order (valuesFiles come first, read by the caller). */
export function valuesLayers(
  policy: FleetPolicy,
  stage: Stage,
  cluster: { labels: Record<string, string> },
  files: ValuesLayer[],
): ValuesLayer[] {
  const layers: ValuesLayer[] = [
    ...files,
    { source: 'fleet.yaml helm.values', values: policy.helm?.values ?? {} },
  ];
  if (stage.values)
    layers.push({ source: `fleet.yaml stage '${stage.name}' helm.values`, values: stage.values });
  policy.overrides.forEach((o, i) => {
    if (matchesSelector(cluster.labels, o.selector)) {
      layers.push({ source: `fleet.yaml overrides[${i}] helm.values`, values: o.values });
    }
  });
  return layers;
}

export type SubstitutedValues = { ok: true; values: Values } | { ok: false; errors: Problem[] };

/**
 * Resolves `${...}` in every string of the values (keys are left alone: a chart's keys are its
 * interface). Upper-case names pass through, as in manifests: they are the workloads' own
 * environment variables.
 */
export function substituteValues(
  layer: ValuesLayer,
  resolve: (name: string) => { value: string | undefined; why: string },
  file: string,
): SubstitutedValues {
  const errors: Problem[] = [];
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('${')) return value;
      const sub = substitute(value, (name) => resolve(name).value);
      const bad = sub.unresolved.filter((ref) => ref.unterminated || !/^[A-Z_][A-Z0-9_]*$/.test(ref.name));
      for (const ref of bad)
        errors.push(problem('UnknownVariable', file, undefined, explain(layer, path, ref, resolve)));
      return sub.text;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (isPlainObject(value)) {
      const out: Values = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, path ? `${path}.${k}` : k);
      return out;
    }
    return value;
  };
  const values = walk(layer.values, '') as Values;
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values };
}

function explain(
  layer: ValuesLayer,
  path: string,
  ref: VariableRef,
  resolve: (name: string) => { value: string | undefined; why: string },
): string {
  if (ref.unterminated) return `${layer.source} ${path}: '\${${ref.name}' has no closing '}'`;
  return `${layer.source} ${path}: cannot substitute \${${ref.name}}: ${resolve(ref.name).why}`;
}
