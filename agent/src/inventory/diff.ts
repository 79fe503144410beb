// Pruning: what the fleet applied last time (the inventory) against what it wants now. Objects
// that Git no longer has are deleted, unless a person opted the live object out of pruning,
// or the render came out empty, which is far more often a mistake (a wrong path, a broken
// substitution) than a wish to delete everything.

import { PRUNE_OPT_OUT_ANNOTATION, PRUNE_OPT_OUT_VALUE } from '@gitfleet/proto/core';
import { sortForDelete } from '../apply/sort.ts';
import type { KubeObject, ObjectRef } from '../objects.ts';
import { formatRef, parseRefKey, refKey, refOf } from '../objects.ts';

// For the IO layer's `optedOut` predicate, which reads the live object: the annotation on
// the manifest in Git no longer exists once the manifest is removed.
export function isPruneOptedOut(obj: Pick<KubeObject, 'metadata'>): boolean {
  return obj.metadata.annotations?.[PRUNE_OPT_OUT_ANNOTATION] === PRUNE_OPT_OUT_VALUE;
}

export type PruneSkipReason = 'OptOutAnnotation' | 'EmptyRenderGuard';

export interface PruneSkip {
  ref: ObjectRef;
  reason: PruneSkipReason;
  message: string;
}

export interface InventoryDiffInput {
  // The last inventory: ref keys, or refs when the stored inventory kept their versions
  // (the IO layer needs one to address the object it deletes).
  previous: readonly (string | ObjectRef)[];
  // Namespaces must be filled in: see refOf.
  desired: readonly KubeObject[];
  // Set when the fleet's policy really means "delete everything".
  allowEmpty: boolean;
  optedOut: (ref: ObjectRef) => boolean;
}

export interface InventoryDiff {
  // Objects in the last inventory that are still desired.
  keep: ObjectRef[];
  // In deletion order (see sortForDelete).
  toDelete: ObjectRef[];
  skipped: PruneSkip[];
  // What to record once the apply is done: the desired objects, plus what the empty-render
  // guard held back (still ours, pruned by a later render that is not empty). Opted-out
  // objects are left out: they are abandoned to whoever opted them out, as Flux does.
  inventory: ObjectRef[];
}

export function diffInventory(input: InventoryDiffInput): InventoryDiff {
  const previous = new Map<string, ObjectRef>();
  for (const entry of input.previous) {
    const ref = typeof entry === 'string' ? parseRefKey(entry) : entry;
    const key = refKey(ref);
    if (!previous.has(key)) previous.set(key, ref);
  }
  const desired = new Map<string, ObjectRef>();
  for (const obj of input.desired) {
    const ref = refOf(obj);
    const key = refKey(ref);
    if (!desired.has(key)) desired.set(key, ref);
  }

  if (desired.size === 0 && previous.size > 0 && !input.allowEmpty) {
    const held = sortForDelete([...previous.values()]);
    return {
      keep: [],
      toDelete: [],
      skipped: held.map((ref) => ({
        ref,
        reason: 'EmptyRenderGuard',
        message:
          `${formatRef(ref)} not deleted: the render has no objects, which looks like a mistake; ` +
          'allow empty renders in the fleet policy to prune everything',
      })),
      inventory: sortByKey(held),
    };
  }

  const keep: ObjectRef[] = [];
  const gone: ObjectRef[] = [];
  for (const [key, ref] of previous) {
    if (desired.has(key)) keep.push(ref);
    else gone.push(ref);
  }
  const toDelete: ObjectRef[] = [];
  const skipped: PruneSkip[] = [];
  for (const ref of sortForDelete(gone)) {
    if (input.optedOut(ref)) {
      skipped.push({
        ref,
        reason: 'OptOutAnnotation',
        message: `${formatRef(ref)} not deleted: it has ${PRUNE_OPT_OUT_ANNOTATION}: ${PRUNE_OPT_OUT_VALUE}`,
      });
    } else {
      toDelete.push(ref);
    }
  }
  return { keep: sortByKey(keep), toDelete, skipped, inventory: sortByKey([...desired.values()]) };
}

function sortByKey(refs: ObjectRef[]): ObjectRef[] {
  return refs
    .map((ref) => [refKey(ref), ref] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, ref]) => ref);
}
