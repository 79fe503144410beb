// Deleting what a fleet no longer has (pruning), in sortForDelete order: webhooks first,
// then namespaced objects, cluster-scoped ones, and Namespaces and CRDs last. Objects of one
// kind are deleted in parallel; kinds go one after the other, so the order holds.
//
// Each object is read first: an object that is already gone counts as deleted, one a person
// opted out of pruning (PRUNE_OPT_OUT_ANNOTATION on the live object) is skipped, and so is
// one that another fleet has taken over since. The delete is conditional on the uid that was
// read, so an object re-created under the same name in between is left alone.

import { FLEET_LABEL, PRUNE_OPT_OUT_ANNOTATION, PRUNE_OPT_OUT_VALUE } from '@gitfleet/proto/core';
import { isPruneOptedOut } from '../inventory/diff.ts';
import type { KubeClient } from '../kube/client.ts';
import { mapConcurrent } from '../kube/client.ts';
import type { ObjectRef } from '../objects.ts';
import { formatRef } from '../objects.ts';
import { asApplyError, DEFAULT_CONCURRENCY } from './apply.ts';
import type { ChangeSet, ChangeSetEntry } from './changeset.ts';
import { changeEntry, failedEntry } from './changeset.ts';
import { isApplyError } from './errors.ts';
import { sortForDelete } from './sort.ts';

export interface DeleteOptions {
  // When set, an object whose fleet label names another fleet is not deleted.
  fleet?: string;
  // Default Background: the call returns at once and the garbage collector deletes what
  // the object owns (a Deployment's ReplicaSets and Pods).
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  // Requests in flight at once (default 8).
  concurrency?: number;
}

// `refs` come from an inventory: namespace '' means cluster-scoped, and an empty version is
// resolved to the group's preferred one.
export async function deleteObjects(
  client: KubeClient,
  refs: readonly ObjectRef[],
  options: DeleteOptions = {},
): Promise<ChangeSet> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const entries: ChangeSetEntry[] = [];
  for (const batch of runsOfKind(sortForDelete(refs))) {
    entries.push(
      ...(await mapConcurrent(batch, concurrency, async (ref) => {
        try {
          return await deleteOne(client, ref, options);
        } catch (err) {
          return failedEntry(asApplyError(ref, err));
        }
      })),
    );
  }
  return { entries };
}

async function deleteOne(
  client: KubeClient,
  ref: ObjectRef,
  options: DeleteOptions,
): Promise<ChangeSetEntry> {
  const info = await client.resourceForRef(ref);
  if (!info) {
    // With its CRD gone (or its API version removed) the object is gone as well.
    return changeEntry(ref, 'deleted', {
      reason: 'KindNotServed',
      message: `${formatRef(ref)}: its kind is no longer served, so it no longer exists`,
    });
  }
  let live: Awaited<ReturnType<KubeClient['get']>>;
  try {
    live = await client.get(ref);
  } catch (err) {
    if (isApplyError(err) && err.code === 'KindNotServed') live = undefined;
    else throw err;
  }
  if (!live)
    return changeEntry(ref, 'deleted', { reason: 'NotFound', message: `${formatRef(ref)} was already gone` });
  if (isPruneOptedOut(live)) {
    return changeEntry(ref, 'skipped', {
      reason: 'OptOutAnnotation',
      message: `${formatRef(ref)} not deleted: it has ${PRUNE_OPT_OUT_ANNOTATION}: ${PRUNE_OPT_OUT_VALUE}`,
    });
  }
  const owner = live.metadata.labels?.[FLEET_LABEL];
  if (options.fleet !== undefined && owner !== undefined && owner !== options.fleet) {
    return changeEntry(ref, 'skipped', {
      reason: 'OwnedByAnotherFleet',
      message: `${formatRef(ref)} not deleted: fleet "${owner}" applies it now`,
    });
  }
  if (live.metadata.deletionTimestamp) {
    return changeEntry(ref, 'deleted', {
      reason: 'Terminating',
      message: `${formatRef(ref)} was already being deleted`,
    });
  }
  const deleted = await client.delete(ref, info, {
    propagationPolicy: options.propagationPolicy ?? 'Background',
    ...(live.metadata.uid ? { uid: live.metadata.uid } : {}),
  });
  if (ref.group === 'apiextensions.k8s.io' && ref.kind === 'CustomResourceDefinition') {
    client.invalidateDiscovery(crdGroupOf(ref.name));
  }
  return deleted
    ? changeEntry(ref, 'deleted')
    : changeEntry(ref, 'deleted', { reason: 'NotFound', message: `${formatRef(ref)} was already gone` });
}

// Consecutive refs of the same kind: sortForDelete keeps a kind's refs together.
function runsOfKind(refs: readonly ObjectRef[]): ObjectRef[][] {
  const runs: ObjectRef[][] = [];
  for (const ref of refs) {
    const last = runs.at(-1);
    const head = last?.[0];
    if (last && head && head.group === ref.group && head.kind === ref.kind) last.push(ref);
    else runs.push([ref]);
  }
  return runs;
}

// A CRD is named `<plural>.<group>`.
function crdGroupOf(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? name : name.slice(dot + 1);
}
