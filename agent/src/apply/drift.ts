// Drift: live objects that no longer are what applying the bundle would make them. Found
// the way apply finds changes (see apply.ts): an object whose resourceVersion is the one the
// applier verified has not been written since, so it cannot have drifted; the others are
// applied with dryRun=All and the result compared with the live object.
//
// Only fields we apply count. Server-side apply merges our manifest into the live object and
// leaves the fields of other managers as they are, so when an HPA owns spec.replicas of a
// Deployment whose manifest has no replicas, the dry-run keeps the HPA's value and nothing
// differs. The dry-run always forces: a field someone took over with `kubectl edit` or
// `kubectl scale` then shows up as the value that changed, rather than as a conflict error.
// Correcting drift is applying again (with force, see apply.ts).

import { mapConcurrent } from '../kube/client.ts';
import type { KubeObject, ObjectRef } from '../objects.ts';
import type { Applier, ApplyOptions } from './apply.ts';
import {
  applyOptionsWithDefaults,
  asApplyError,
  type ChangedField,
  changedFields,
  changedPaths,
  sameComparable,
} from './apply.ts';
import type { ApplyError } from './errors.ts';
import { fromApiStatus } from './errors.ts';

export type DriftReason = 'Deleted' | 'Modified';

export interface DriftedObject {
  ref: ObjectRef;
  reason: DriftReason;
  // What differs, from the cluster's side: ['deleted'], or e.g. ['spec.replicas changed',
  // 'metadata.labels.team removed'].
  changes: string[];
  // Who made those changes, from the live object's managedFields: the other field managers
  // that own a changed field, e.g. ['kubectl-edit (Update) at 2026-12-04T10:00:00Z'].
  managers: string[];
}

export interface DriftReport {
  // In apply order.
  drifted: DriftedObject[];
  // Objects that could not be checked (kind not served, invalid, unreachable...).
  errors: ApplyError[];
  // How many objects were checked.
  checked: number;
}

export async function detectDrift(
  applier: Applier,
  objects: readonly KubeObject[],
  options: ApplyOptions,
): Promise<DriftReport> {
  const opts = applyOptionsWithDefaults(options);
  const bundle = await applier.prepare(objects, opts);
  const desired = bundle.stages.flatMap((s) => s.objects);
  const resources = await applier.resolve(desired);
  const live = await applier.loadLive(desired, resources, opts);
  const how = { fieldManager: opts.fieldManager, force: true };

  const results = await mapConcurrent(
    desired,
    opts.concurrency,
    async (d): Promise<DriftedObject | ApplyError | undefined> => {
      try {
        const info = resources.get(d.key);
        if (!info) throw fromApiStatus(d.ref, 404, '404 page not found');
        if (live.verified.has(d.key)) return undefined;
        // Not among the objects with our label: deleted, or our label was taken off.
        const current = live.found.get(d.key) ?? (await applier.client.get(d.ref));
        if (current === undefined) {
          applier.verified.forget(d.key);
          return { ref: d.ref, reason: 'Deleted', changes: ['deleted'], managers: [] };
        }
        const rv = current.metadata.resourceVersion;
        if (applier.verified.has(d.key, d.digest, rv)) return undefined;
        const dryRun = await applier.client.apply(d.obj, d.ref, info, { ...how, dryRun: true });
        if (sameComparable(dryRun.object, current)) {
          applier.verified.record(d.key, d.digest, rv);
          return undefined;
        }
        applier.verified.forget(d.key);
        return {
          ref: d.ref,
          reason: 'Modified',
          changes: changedPaths(current, dryRun.object),
          managers: driftManagers(current, changedFields(current, dryRun.object), opts.fieldManager),
        };
      } catch (err) {
        return asApplyError(d.ref, err);
      }
    },
  );

  const drifted: DriftedObject[] = [];
  const errors: ApplyError[] = [];
  for (const r of results) {
    if (r === undefined) continue;
    if ('reason' in r && 'changes' in r) drifted.push(r);
    else errors.push(r as ApplyError);
  }
  return { drifted, errors, checked: desired.length };
}

type ManagedFieldsEntry = {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
  fieldsV1?: unknown;
};

/**
 * The field managers other than ours that own a field the drift changed or added: in server-side
 * apply, whoever writes a field owns it, so after `kubectl edit` the changed fields belong to
 * "kubectl-edit". A field that was removed has no owner left to name.
 */
export function driftManagers(live: KubeObject, fields: ChangedField[], ours: string): string[] {
  const entries = (live.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  const out: string[] = [];
  for (const e of entries) {
    if (!e.manager || e.manager === ours) continue;
    const owned = fields.some((f) => f.change !== 'removed' && owns(e.fieldsV1, f.path, live));
    if (!owned) continue;
    const how = [e.operation, e.subresource].filter(Boolean).join(' ');
    out.push(`${e.manager}${how ? ` (${how})` : ''}${e.time ? ` at ${e.time}` : ''}`);
  }
  return out;
}

// fieldsV1 is a trie: `f:<field>` for object fields, and for list items `k:{"name":"web"}` (by
// merge key), `v:<value>` (sets) or `i:<index>`; `.` marks the node itself.
function owns(fields: unknown, path: (string | number)[], live: unknown): boolean {
  if (path.length === 0) return fields !== undefined;
  if (typeof fields !== 'object' || fields === null) return false;
  const trie = fields as Record<string, unknown>;
  const [seg, ...rest] = path;
  if (typeof seg === 'string') {
    const next = (live as Record<string, unknown> | undefined)?.[seg];
    return owns(trie[`f:${seg}`], rest, next);
  }
  const item = Array.isArray(live) ? live[seg as number] : undefined;
  for (const [key, child] of Object.entries(trie)) {
    if (key === `i:${seg}` && owns(child, rest, item)) return true;
    if (key.startsWith('v:') && JSON.stringify(item) === key.slice(2) && owns(child, rest, item)) return true;
    if (key.startsWith('k:') && matchesKey(key.slice(2), item) && owns(child, rest, item)) return true;
  }
  return false;
}

function matchesKey(json: string, item: unknown): boolean {
  try {
    const k = JSON.parse(json) as Record<string, unknown>;
    return Object.entries(k).every(
      ([name, v]) => (item as Record<string, unknown> | undefined)?.[name] === v,
    );
  } catch {
    return false;
  }
}
