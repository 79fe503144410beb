// Label arguments as kubectl takes them: `key=value` sets, `key-` removes (only for
// `cluster label`). The API's PATCH replaces all labels, so changes are applied here to the
// labels the cluster has. Keys and values are checked by the API, which words the errors.
import { UsageError } from './errors.ts';

export interface LabelChanges {
  set: Record<string, string>;
  remove: string[];
}

function parseOne(arg: string, allowRemove: boolean, command: string): { key: string; value?: string } {
  const eq = arg.indexOf('=');
  if (eq === -1) {
    if (allowRemove && arg.endsWith('-') && arg.length > 1) return { key: arg.slice(0, -1) };
    throw new UsageError(
      allowRemove
        ? `label ${JSON.stringify(arg)}: use key=value to set a label or key- to remove one`
        : `label ${JSON.stringify(arg)}: use key=value`,
      command,
    );
  }
  const key = arg.slice(0, eq);
  if (key === '') throw new UsageError(`label ${JSON.stringify(arg)} has no key: use key=value`, command);
  return { key, value: arg.slice(eq + 1) };
}

/** `-l key=value ...` of `cluster register`: a label given twice with two values is an error. */
export function parseLabels(args: string[], command = 'cluster register'): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const arg of args) {
    const { key, value } = parseOne(arg, false, command);
    const previous = labels[key];
    if (previous !== undefined && previous !== value) {
      throw new UsageError(`label ${key} is given twice (${previous} and ${value})`, command);
    }
    labels[key] = value!;
  }
  return labels;
}

/** `key=value ... key-` of `cluster label`. */
export function parseLabelChanges(args: string[], command = 'cluster label'): LabelChanges {
  if (args.length === 0) {
    throw new UsageError('give at least one label change: key=value to set, key- to remove', command);
  }
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const arg of args) {
    const { key, value } = parseOne(arg, true, command);
    if (value === undefined) {
      if (key in set) throw new UsageError(`label ${key} is both set and removed`, command);
      if (!remove.includes(key)) remove.push(key);
    } else {
      if (remove.includes(key)) throw new UsageError(`label ${key} is both set and removed`, command);
      const previous = set[key];
      if (previous !== undefined && previous !== value) {
        throw new UsageError(`label ${key} is given twice (${previous} and ${value})`, command);
      }
      set[key] = value;
    }
  }
  return { set, remove };
}

export interface LabelDiff {
  labels: Record<string, string>;
  added: string[];
  changed: string[];
  removed: string[];
  /** Keys asked to be removed that the cluster does not have. */
  missing: string[];
}

/** The labels after the changes, and what changed (to report, and to skip a no-op PATCH). */
export function applyLabelChanges(current: Record<string, string>, changes: LabelChanges): LabelDiff {
  const labels = { ...current };
  const diff: LabelDiff = { labels, added: [], changed: [], removed: [], missing: [] };
  for (const key of changes.remove) {
    if (key in labels) {
      delete labels[key];
      diff.removed.push(key);
    } else {
      diff.missing.push(key);
    }
  }
  for (const [key, value] of Object.entries(changes.set)) {
    if (!(key in labels)) diff.added.push(key);
    else if (labels[key] !== value) diff.changed.push(key);
    labels[key] = value;
  }
  return diff;
}
