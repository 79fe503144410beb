// Helm's install and upgrade hooks, run by the agent around the apply of a release, as `helm
// install` / `helm upgrade` run them: objects annotated `helm.sh/hook` are not part of the
// release (not in the inventory, never pruned, not drift-corrected, not in its health); the
// pre- hooks of the phase run before any release object is applied and the post- hooks after
// all of them (and the prune) succeeded. Within a phase hooks go in ascending
// `helm.sh/hook-weight`, one weight after the other; a weight is done when its Jobs completed
// and its Pods succeeded (Helm waits for nothing else). `helm.sh/hook-delete-policy`
// (default before-hook-creation) says when a hook object is deleted.
//
// The control plane has already dropped test hooks and the phases a fleet has no counterpart
// for (delete, rollback): see control-plane/src/fleet/helm.ts.

import type { KubeClient } from '../kube/client.ts';
import { formatRef, type KubeObject, type ObjectRef, refKey, refOf } from '../objects.ts';
import type { Applier } from './apply.ts';
import { type ChangeSetEntry, changeEntry } from './changeset.ts';
import { deleteObjects } from './delete.ts';
import { readHealth } from './wait.ts';

export const HOOK_ANNOTATION = 'helm.sh/hook';
export const HOOK_WEIGHT_ANNOTATION = 'helm.sh/hook-weight';
export const HOOK_DELETE_POLICY_ANNOTATION = 'helm.sh/hook-delete-policy';

export type HookPhase = 'pre-install' | 'post-install' | 'pre-upgrade' | 'post-upgrade';
export type HookDeletePolicy = 'before-hook-creation' | 'hook-succeeded' | 'hook-failed';
const PHASES = new Set<string>(['pre-install', 'post-install', 'pre-upgrade', 'post-upgrade']);
const POLICIES = new Set<string>(['before-hook-creation', 'hook-succeeded', 'hook-failed']);

/** As `helm install --timeout` defaults: how long one weight of hooks may take. */
export const DEFAULT_HOOK_TIMEOUT_MS = 5 * 60_000;

export interface Hook {
  obj: KubeObject;
  ref: ObjectRef;
  phases: ReadonlySet<HookPhase>;
  weight: number;
  deletePolicies: ReadonlySet<HookDeletePolicy>;
}

/** A bundle's release objects and its hooks. Objects with only unknown hook phases are dropped. */
export function splitHooks(objects: readonly KubeObject[]): { release: KubeObject[]; hooks: Hook[] } {
  const release: KubeObject[] = [];
  const hooks: Hook[] = [];
  for (const obj of objects) {
    const annotations = obj.metadata.annotations ?? {};
    const hook = annotations[HOOK_ANNOTATION];
    if (typeof hook !== 'string') {
      release.push(obj);
      continue;
    }
    const phases = new Set(listOf(hook).filter((p): p is HookPhase => PHASES.has(p)));
    if (phases.size === 0) continue;
    const weight = Number.parseInt(annotations[HOOK_WEIGHT_ANNOTATION] ?? '0', 10);
    const policies = listOf(annotations[HOOK_DELETE_POLICY_ANNOTATION] ?? '').filter(
      (p): p is HookDeletePolicy => POLICIES.has(p),
    );
    hooks.push({
      obj,
      ref: refOf(obj),
      phases,
      weight: Number.isFinite(weight) ? weight : 0,
      // Helm: "If no hook deletion policy annotation is specified, before-hook-creation applies".
      deletePolicies: new Set(policies.length > 0 ? policies : ['before-hook-creation']),
    });
  }
  return { release, hooks };
}

/** The hooks of one phase, in the groups they run in: ascending weight, then kind and name. */
export function hookGroups(hooks: readonly Hook[], phase: HookPhase): Hook[][] {
  const of = hooks
    .filter((h) => h.phases.has(phase))
    .sort(
      (a, b) =>
        a.weight - b.weight || a.ref.kind.localeCompare(b.ref.kind) || a.ref.name.localeCompare(b.ref.name),
    );
  const groups: Hook[][] = [];
  for (const h of of) {
    const last = groups.at(-1);
    if (last && last[0]?.weight === h.weight) last.push(h);
    else groups.push([h]);
  }
  return groups;
}

export type HookOutcome =
  | { ok: true; entries: ChangeSetEntry[] }
  | { ok: false; entries: ChangeSetEntry[]; message: string };

export interface HookRunOptions {
  fleet: string;
  force: boolean;
  timeoutMs?: number;
  pollIntervalMs?: number;
}

/** Runs the hooks of `phase`, weight after weight; stops at the first hook that fails. */
export async function runHooks(
  applier: Applier,
  hooks: readonly Hook[],
  phase: HookPhase,
  options: HookRunOptions,
): Promise<HookOutcome> {
  const entries: ChangeSetEntry[] = [];
  for (const group of hookGroups(hooks, phase)) {
    const outcome = await runGroup(applier, group, phase, options);
    entries.push(...outcome.entries);
    if (!outcome.ok) return { ok: false, entries, message: outcome.message };
  }
  return { ok: true, entries };
}

async function runGroup(
  applier: Applier,
  group: readonly Hook[],
  phase: HookPhase,
  options: HookRunOptions,
): Promise<HookOutcome> {
  const client = applier.client;
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const what = (h: Hook) => `${phase} hook ${formatRef(h.ref)}`;

  // before-hook-creation: the last run's object goes first, so this run starts afresh.
  const replaced = group.filter((h) => h.deletePolicies.has('before-hook-creation'));
  const cleared = await deleteAndWait(client, replaced, options.fleet, timeoutMs);
  if (!cleared.ok) return { ok: false, entries: [], message: `${phase} hook: ${cleared.message}` };

  for (const h of group) applier.verified.forget(refKey(h.ref));
  const applied = await applier.apply(
    group.map((h) => h.obj),
    { fleet: options.fleet, force: options.force },
  );
  const failedApply = applied.entries.find((e) => e.action === 'failed');
  if (failedApply) {
    const hook = group.find((h) => refKey(h.ref) === refKey(failedApply.ref));
    await deleteByPolicy(client, group, 'hook-failed', options.fleet);
    return {
      ok: false,
      entries: applied.entries,
      message: `${hook ? what(hook) : phase} could not be applied: ${failedApply.message ?? failedApply.reason}`,
    };
  }

  const waited = await waitForHooks(client, group, timeoutMs, options.pollIntervalMs ?? 1000);
  const entries = group.map((h) => {
    const result = waited.results.get(refKey(h.ref));
    return changeEntry(
      h.ref,
      applied.entries.find((e) => refKey(e.ref) === refKey(h.ref))?.action ?? 'created',
      {
        reason: result?.ok === false ? 'HookFailed' : 'HookSucceeded',
        message: `${phase} hook (weight ${h.weight}): ${result?.message ?? 'done'}`,
      },
    );
  });
  if (!waited.ok) {
    await deleteByPolicy(client, group, 'hook-failed', options.fleet);
    return { ok: false, entries, message: `${phase} hook ${waited.message}` };
  }
  await deleteByPolicy(client, group, 'hook-succeeded', options.fleet);
  return { ok: true, entries };
}

type HookResult = { ok: boolean; message: string };

/** What Helm waits for: Jobs until Complete, Pods until Succeeded; anything else is done. */
async function waitForHooks(
  client: KubeClient,
  group: readonly Hook[],
  timeoutMs: number,
  pollIntervalMs: number,
): Promise<
  | { ok: true; results: Map<string, HookResult> }
  | { ok: false; results: Map<string, HookResult>; message: string }
> {
  const results = new Map<string, HookResult>();
  for (const h of group) results.set(refKey(h.ref), { ok: true, message: 'applied' });
  let pending = group.filter((h) => isAwaited(h.ref));
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  while (pending.length > 0) {
    const read = await readHealth(
      client,
      pending.map((h) => h.ref),
    );
    const still: Hook[] = [];
    for (const [i, r] of read.entries()) {
      const h = pending[i] as Hook;
      const key = refKey(h.ref);
      const phase =
        h.ref.kind === 'Pod' ? podPhase(await client.get(h.ref).catch(() => undefined)) : undefined;
      if ((h.ref.kind === 'Job' && r.health.status === 'Current') || phase === 'Succeeded') {
        results.set(key, { ok: true, message: 'succeeded' });
      } else if (r.health.status === 'Failed' || phase === 'Failed') {
        const message = r.health.message || 'failed';
        results.set(key, { ok: false, message: `failed: ${message}` });
        return { ok: false, results, message: `${formatRef(h.ref)} failed: ${message}` };
      } else if (r.health.status === 'NotFound') {
        // A Job with ttlSecondsAfterFinished may be gone before it was seen complete.
        results.set(key, { ok: true, message: 'finished and removed by its TTL' });
      } else {
        results.set(key, { ok: false, message: r.health.message || r.health.status });
        still.push(h);
      }
    }
    pending = still;
    if (pending.length === 0) break;
    const left = deadline - Date.now();
    if (left <= 0) {
      const h = pending[0] as Hook;
      const last = results.get(refKey(h.ref))?.message ?? '';
      for (const p of pending) results.set(refKey(p.ref), { ok: false, message: `timed out (${last})` });
      return {
        ok: false,
        results,
        message: `${formatRef(h.ref)} did not finish within ${Math.round(timeoutMs / 1000)} s: ${last}`,
      };
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, left)));
    delay = Math.min(delay * 2, pollIntervalMs);
  }
  return { ok: true, results };
}

function isAwaited(ref: ObjectRef): boolean {
  return (ref.group === 'batch' && ref.kind === 'Job') || (ref.group === '' && ref.kind === 'Pod');
}

function podPhase(pod: KubeObject | undefined): string | undefined {
  const phase = (pod?.status as { phase?: unknown } | undefined)?.phase;
  return typeof phase === 'string' ? phase : undefined;
}

async function deleteByPolicy(
  client: KubeClient,
  group: readonly Hook[],
  policy: 'hook-succeeded' | 'hook-failed',
  fleet: string,
): Promise<void> {
  const refs = group.filter((h) => h.deletePolicies.has(policy)).map((h) => h.ref);
  // A hook object left behind is harmless: before-hook-creation (or a person) removes it.
  if (refs.length > 0) await deleteObjects(client, refs, { fleet }).catch(() => undefined);
}

/** Deletes the objects and waits until they are gone, so the same names can be created. */
async function deleteAndWait(
  client: KubeClient,
  hooks: readonly Hook[],
  fleet: string,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; message: string }> {
  if (hooks.length === 0) return { ok: true };
  const deleted = await deleteObjects(
    client,
    hooks.map((h) => h.ref),
    { fleet },
  );
  const refused = deleted.entries.find((e) => e.action !== 'deleted');
  if (refused) {
    return {
      ok: false,
      message: `the previous ${formatRef(refused.ref)} could not be replaced: ${refused.message}`,
    };
  }
  const deadline = Date.now() + timeoutMs;
  for (const h of hooks) {
    while ((await client.get(h.ref)) !== undefined) {
      if (Date.now() > deadline) {
        return { ok: false, message: `the previous ${formatRef(h.ref)} is still being deleted` };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { ok: true };
}

function listOf(value: string): string[] {
  return value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}
