// What applying a bundle would change, without changing anything: each object is applied with
// dryRun=All exactly as the real apply would (same preparation, field manager and force), and
// the answer compared with the live object the way apply and drift compare (comparableObject:
// what the server maintains and status left out). Objects the fleet's inventory holds and the
// bundle does not are what a prune would delete. The answer is a unified diff per object, of
// the live object against what the server would make of it, as YAML.
//
// Secret values never leave the cluster: a Secret's data and stringData values are replaced by
// markers before the diff is made, and the keys whose values differ are listed instead.
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import type { InventoryStore } from '../inventory/store.ts';
import { mapConcurrent } from '../kube/client.ts';
import type { KubeObject, ObjectRef } from '../objects.ts';
import { formatRef, refKey } from '../objects.ts';
import type { Applier } from './apply.ts';
import { applyOptionsWithDefaults, asApplyError, comparableObject } from './apply.ts';
import { fromApiStatus } from './errors.ts';

export type PreviewAction = 'created' | 'changed' | 'deleted' | 'unchanged' | 'failed';

export interface ObjectPreview {
  ref: ObjectRef;
  action: PreviewAction;
  /** Unified diff, live → desired; '' for unchanged, deleted and failed objects. */
  diff: string;
  message: string;
  /** A Secret's keys whose values would change. */
  changedKeys: string[];
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export async function previewBundle(
  applier: Applier,
  inventory: InventoryStore,
  objects: readonly KubeObject[],
  options: { fleet: string; force: boolean; prune: boolean },
): Promise<ObjectPreview[]> {
  const opts = applyOptionsWithDefaults({ fleet: options.fleet, force: options.force });
  const bundle = await applier.prepare(objects, opts);
  const desired = bundle.stages.flatMap((s) => s.objects);
  const resources = await applier.resolve(desired);
  // Objects the verified cache vouches for are not kept by the LIST: they are read again below.
  const live = await applier.loadLive(desired, resources, opts);
  const how = { fieldManager: opts.fieldManager, force: opts.force, dryRun: true };

  const previews = await mapConcurrent(desired, opts.concurrency, async (d): Promise<ObjectPreview> => {
    try {
      const current = live.found.get(d.key) ?? (await applier.client.get(d.ref));
      const info = resources.get(d.key);
      if (!info) {
        // A kind the cluster does not serve yet: fine when the bundle brings its CRD.
        const crd = objects.some(
          (o) =>
            o.kind === 'CustomResourceDefinition' &&
            (o.spec as { names?: { kind?: string }; group?: string } | undefined)?.names?.kind === d.ref.kind,
        );
        if (crd)
          return preview(
            d.ref,
            'created',
            '',
            'its CustomResourceDefinition is created by this bundle first',
          );
        throw fromApiStatus(d.ref, 404, '404 page not found');
      }
      const dryRun = await applier.client.apply(d.obj, d.ref, info, how);
      return compare(d.ref, current, dryRun.object);
    } catch (err) {
      const e = asApplyError(d.ref, err);
      return preview(d.ref, 'failed', '', e.message);
    }
  });
  for (const dup of bundle.duplicates) {
    previews.push(preview(dup.ref, 'failed', '', dup.message ?? 'appears more than once in the bundle'));
  }

  if (options.prune) {
    const record = await inventory.load(options.fleet);
    const wanted = new Set(desired.map((d) => d.key));
    for (const ref of record?.refs ?? []) {
      if (!wanted.has(refKey(ref)))
        previews.push(preview(ref, 'deleted', '', 'no longer in the bundle: pruned'));
    }
  }
  return previews;
}

function preview(
  ref: ObjectRef,
  action: PreviewAction,
  diff: string,
  message = '',
  changedKeys: string[] = [],
) {
  return { ref, action, diff, message, changedKeys };
}

/** live (undefined when the object does not exist) against the dry-run's answer. */
export function compare(ref: ObjectRef, live: KubeObject | undefined, desired: KubeObject): ObjectPreview {
  const after = shown(desired);
  if (!live) {
    const { text, changedKeys } = redact(undefined, after);
    return preview(ref, 'created', unified(ref, '', text.after), '', changedKeys);
  }
  const before = shown(live);
  const { text, changedKeys } = redact(before, after);
  if (text.before === text.after && changedKeys.length === 0) return preview(ref, 'unchanged', '');
  return preview(ref, 'changed', unified(ref, text.before, text.after), '', changedKeys);
}

/** What a person compares: the comparable object, without kubectl's copy of the last apply. */
function shown(obj: KubeObject): KubeObject {
  const c = structuredClone(comparableObject(obj));
  const annotations = c.metadata.annotations as Record<string, string> | undefined;
  if (annotations) {
    delete annotations[LAST_APPLIED];
    if (Object.keys(annotations).length === 0) delete c.metadata.annotations;
  }
  return c;
}

/** YAML of both sides; a Secret's values replaced by markers that say only whether they differ. */
function redact(
  before: KubeObject | undefined,
  after: KubeObject,
): { text: { before: string; after: string }; changedKeys: string[] } {
  const changedKeys: string[] = [];
  if (after.kind === 'Secret' && (after.apiVersion === 'v1' || after.apiVersion === '')) {
    for (const field of ['data', 'stringData'] as const) {
      const a = (before?.[field] ?? {}) as Record<string, unknown>;
      const b = (after[field] ?? {}) as Record<string, unknown>;
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        const same = key in a && key in b && a[key] === b[key];
        if (!same) changedKeys.push(key);
        if (key in a) a[key] = same ? '(hidden)' : '(hidden: live value)';
        if (key in b) b[key] = same ? '(hidden)' : '(hidden: new value)';
      }
    }
  }
  const yaml = (o: KubeObject | undefined) => (o ? stringify(o, { sortMapEntries: true }) : '');
  return { text: { before: yaml(before), after: yaml(after) }, changedKeys: changedKeys.sort() };
}

function unified(ref: ObjectRef, before: string, after: string): string {
  const name = formatRef(ref);
  const patch = createTwoFilesPatch(`live/${name}`, `desired/${name}`, before, after, '', '', { context: 3 });
  // The "Index:" and separator lines createTwoFilesPatch starts with say nothing here.
  return patch
    .split('\n')
    .filter((line) => !line.startsWith('===='))
    .join('\n');
}
