// One fleet in this cluster. A pass reads top to bottom as named steps, each failure with
// its own reason (after kustomize-controller):
//
//   receive → record intent (inventory ∪ new objects) → pre- hooks → apply (server-side,
//   staged) → prune (inventory diff) → save inventory → post- hooks → health (kstatus rules)
//   → status
//
// Hooks (Helm's helm.sh/hook, apply/hooks.ts) run only for a new release: a bundle whose
// digest the inventory does not hold yet (install when the fleet never completed a pass here,
// upgrade otherwise), or one whose hooks failed before. Drift correction never runs them.
//
// The inventory is written twice: before the apply, adding what this pass may create, and
// after the prune, holding exactly what Git has. An agent killed anywhere in between never
// loses track of an object it created (it is in the inventory, and the next prune deletes it
// if Git dropped it meanwhile), and a prune cut short is finished by the next pass.
//
// Passes are serialized and coalesced: a desired state that arrives during a pass replaces
// any that was waiting; the newest wins. Between passes the fleet is watched for health
// (while Progressing) and for drift (on an interval), and drift is corrected by applying the
// same desired state again.
import {
  actionToProto,
  type FleetStatus,
  Health,
  healthToProto,
  type ObjectStatus,
  phaseToProto,
} from '@gitfleet/proto';
import type { ApplySettings, Phase } from '@gitfleet/proto/core';
import type { Logger } from 'pino';
import { type Applier, applyOptionsWithDefaults } from './apply/apply.ts';
import type { ChangeSet, ChangeSetEntry } from './apply/changeset.ts';
import { deleteObjects } from './apply/delete.ts';
import { detectDrift } from './apply/drift.ts';
import { type Hook, type HookPhase, runHooks, splitHooks } from './apply/hooks.ts';
import { stageOf } from './apply/sort.ts';
import { readHealth } from './apply/wait.ts';
import type { DesiredState } from './connection/inbound.ts';
import { aggregateHealth, type ObjectHealth } from './health/health.ts';
import { diffInventory } from './inventory/diff.ts';
import type { InventoryStore } from './inventory/store.ts';
import { formatRef, type KubeObject, type ObjectRef, refKey, refOf } from './objects.ts';

export interface FleetRunnerDeps {
  applier: Applier;
  inventory: InventoryStore;
  logger: Logger;
  report(status: FleetStatus): void;
}

/** What the runner holds: the last desired state received (what it enforces). */
interface Held {
  revision: string;
  digest: string;
  stage: string;
  options: ApplySettings;
  /** The release: what is applied, pruned, drift-corrected and health-checked. */
  objects: KubeObject[];
  hooks: Hook[];
}

export class FleetRunner {
  readonly fleet: string;
  readonly #deps: FleetRunnerDeps;
  #held: Held | undefined;
  #next: DesiredState | undefined;
  #running: Promise<void> | undefined;
  #phase: Phase = 'Pending';
  #appliedRevision = '';
  #attemptedRevision = '';
  #message = '';
  #objects = new Map<string, ObjectStatus>();
  #driftCorrections = 0;
  #phaseSince = Date.now();
  #lastHealthCheck = 0;
  /** The digest whose hooks failed: a retry of it runs them again. */
  #hooksOwed = '';

  constructor(fleet: string, deps: FleetRunnerDeps) {
    this.fleet = fleet;
    this.#deps = deps;
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Whether the health poll should look at this fleet now (see healthCheckDue). */
  healthCheckDue(intervalMs: number, now = Date.now()): boolean {
    const due = healthCheckDue(this.#phase, now - this.#phaseSince, now - this.#lastHealthCheck, intervalMs);
    if (due) this.#lastHealthCheck = now;
    return due;
  }

  /** What this fleet runs, for the Hello (only once its objects are held in memory). */
  get running(): { revision: string; digest: string } | undefined {
    return this.#held ? { revision: this.#held.revision, digest: this.#held.digest } : undefined;
  }

  /** Accepts a desired state; resolves when it (or a newer one) has been applied. */
  receive(desired: DesiredState): Promise<void> {
    // Same content, new revision: nothing to apply, the revision moves.
    if (desired.objects === null) {
      if (this.#held && this.#held.digest === desired.digest) {
        const wasApplied = this.#appliedRevision === this.#held.revision;
        this.#held = {
          ...this.#held,
          revision: desired.revision,
          stage: desired.stage,
          options: desired.options,
        };
        this.#attemptedRevision = desired.revision;
        if (wasApplied) this.#appliedRevision = desired.revision;
        this.#report();
      }
      return this.#running ?? Promise.resolve();
    }
    this.#next = desired;
    return this.#start();
  }

  #start(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#next) {
      const desired = this.#next;
      this.#next = undefined;
      const { release, hooks } = splitHooks(desired.objects ?? []);
      await this.#pass({
        revision: desired.revision,
        digest: desired.digest,
        stage: desired.stage,
        options: desired.options,
        objects: release,
        hooks,
      });
    }
  }

  async #pass(held: Held): Promise<void> {
    const log = this.#deps.logger.child({ fleet: this.fleet, revision: held.revision.slice(0, 7) });
    // 1. receive
    this.#held = held;
    // A retry of a failed revision stays Failed until it succeeds: no Applying flicker each time.
    const retry = this.#attemptedRevision === held.revision && this.#phase === 'Failed';
    this.#attemptedRevision = held.revision;
    if (!retry) this.#set('Applying', '');

    // 2. record intent
    const applyOptions = { fleet: this.fleet, force: held.options.force };
    let desired: KubeObject[];
    try {
      const prepared = await this.#deps.applier.prepare(held.objects, applyOptionsWithDefaults(applyOptions));
      desired = prepared.stages.flatMap((s) => s.objects.map((o) => o.obj));
    } catch (err) {
      this.#set('Failed', `apply failed: ${(err as Error).message}`);
      log.error({ err }, 'apply failed');
      return;
    }
    let release: 'install' | 'upgrade' | null;
    try {
      release = await this.#recordIntent(desired, held);
    } catch (err) {
      // Applying now could create objects nothing remembers; the drift interval retries.
      this.#set('Failed', `could not record the inventory before applying: ${(err as Error).message}`);
      log.error({ err }, 'inventory write failed');
      return;
    }
    const hookEntries: ChangeSetEntry[] = [];
    const hooks = async (phase: HookPhase): Promise<boolean> => {
      const outcome = await runHooks(this.#deps.applier, held.hooks, phase, applyOptions);
      hookEntries.push(...outcome.entries);
      for (const e of outcome.entries) this.#objects.set(refKey(e.ref), toObjectStatus(e));
      if (outcome.ok) return true;
      this.#hooksOwed = held.digest;
      this.#set('Failed', outcome.message);
      log.warn({ phase, reason: outcome.message }, 'hook failed');
      return false;
    };
    // 3. pre- hooks: of a new release only its definitions (Namespaces, CRDs) are applied
    // before they succeeded, as `helm install --create-namespace` with a chart's crds/ does.
    if (release && held.hooks.some((h) => h.phases.has(`pre-${release}`))) {
      const definitions = held.objects.filter((o) => stageOf(refOf(o), false) === 'definitions');
      const applied = await this.#deps.applier.apply(definitions, applyOptions);
      const failedDefinition = applied.entries.find((e) => e.action === 'failed');
      if (failedDefinition) {
        this.#objects = new Map(applied.entries.map((e) => [refKey(e.ref), toObjectStatus(e)]));
        this.#set(
          'Failed',
          `${formatRef(failedDefinition.ref)}: ${failedDefinition.message ?? 'apply failed'}`,
        );
        return;
      }
      if (!(await hooks(`pre-${release}`))) return;
    }

    // 4. apply
    let changes: ChangeSet;
    try {
      changes = await this.#deps.applier.apply(held.objects, applyOptions);
    } catch (err) {
      this.#set('Failed', `apply failed: ${(err as Error).message}`);
      log.error({ err }, 'apply failed');
      return;
    }
    this.#objects = new Map(
      [...hookEntries, ...changes.entries].map((e) => [refKey(e.ref), toObjectStatus(e)]),
    );
    const failed = changes.entries.filter((e) => e.action === 'failed');

    // 5. prune (only after an apply without failures: never delete on a half-applied state)
    if (failed.length === 0) {
      try {
        const pruned = await this.#prune(held, desired);
        for (const e of pruned.entries) this.#objects.set(refKey(e.ref), toObjectStatus(e));
      } catch (err) {
        this.#set('Failed', `prune failed: ${(err as Error).message}`);
        log.error({ err }, 'prune failed');
        return;
      }
    }

    if (failed.length > 0) {
      const first = failed[0] as ChangeSetEntry;
      const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
      this.#set(
        'Failed',
        `${formatRef(first.ref)}: ${first.message ?? first.reason ?? 'apply failed'}${more}`,
      );
      log.warn({ failed: failed.length }, 'apply failed for some objects');
      return;
    }
    // 6. post- hooks
    if (release && !(await hooks(`post-${release}`))) return;
    if (this.#hooksOwed === held.digest) this.#hooksOwed = '';
    this.#appliedRevision = held.revision;
    log.info({ changes: summarizeForLog(changes) }, 'applied');

    // 7. health and 8. status
    await this.#health(held);
  }

  /**
   * Adds to the inventory what this pass may create, before it creates anything. The revision
   * and digest stay those of the last complete pass. An unreadable inventory is left for the
   * prune to report (with what to do about it). Returns which hooks this pass runs, if any.
   */
  async #recordIntent(desired: readonly KubeObject[], held: Held): Promise<'install' | 'upgrade' | null> {
    let previous: Awaited<ReturnType<InventoryStore['load']>>;
    try {
      previous = await this.#deps.inventory.load(this.fleet);
    } catch {
      return null;
    }
    const release =
      held.hooks.length === 0 || (previous?.digest === held.digest && this.#hooksOwed !== held.digest)
        ? null
        : previous?.revision
          ? 'upgrade'
          : 'install';
    const known = new Set((previous?.refs ?? []).map(refKey));
    const added = desired.map(refOf).filter((ref) => !known.has(refKey(ref)));
    if (added.length === 0) return release;
    await this.#deps.inventory.save(this.fleet, {
      refs: [...(previous?.refs ?? []), ...added],
      revision: previous?.revision ?? '',
      digest: previous?.digest ?? '',
    });
    return release;
  }

  async #prune(held: Held, desired: readonly KubeObject[]): Promise<ChangeSet> {
    const previous = await this.#deps.inventory.load(this.fleet);
    const diff = diffInventory({
      previous: previous?.refs ?? [],
      desired,
      allowEmpty: held.options.allowEmpty,
      // The live object's opt-out annotation is checked by deleteObjects, which reads it.
      optedOut: () => false,
    });
    const result =
      held.options.prune && diff.toDelete.length > 0
        ? await deleteObjects(this.#deps.applier.client, diff.toDelete, { fleet: this.fleet })
        : { entries: [] };
    for (const skip of diff.skipped) {
      result.entries.push({ ref: skip.ref, action: 'skipped', reason: skip.reason, message: skip.message });
    }
    // 5. save inventory (what is ours now)
    await this.#deps.inventory.save(this.fleet, {
      refs: diff.inventory,
      revision: held.revision,
      digest: held.digest,
    });
    return result;
  }

  /** Reads the health of every held object and updates the phase. */
  async checkHealth(): Promise<Phase> {
    const held = this.#held;
    // A pass in flight reports health itself when its apply is done.
    if (!held || this.#running || this.#appliedRevision !== held.revision) return this.#phase;
    return this.#health(held);
  }

  async #health(held: Held): Promise<Phase> {
    const opts = applyOptionsWithDefaults({ fleet: this.fleet });
    const prepared = await this.#deps.applier.prepare(held.objects, opts);
    const refs = prepared.stages.flatMap((s) => s.objects.map((o) => o.ref));
    const health = await readHealth(this.#deps.applier.client, refs, {
      health: { requireLoadBalancerIngress: false },
    });
    for (const h of health) {
      const key = refKey(h.ref);
      const current = this.#objects.get(key) ?? toObjectStatus({ ref: h.ref, action: 'unchanged' });
      this.#objects.set(key, {
        ...current,
        health: healthToProto(h.health.status),
        reason: h.health.reason,
        message: h.health.message,
      });
    }
    const aggregate = aggregateHealth(health as ObjectHealth[]);
    this.#set(aggregate.phase, aggregate.phase === 'Ready' ? '' : aggregate.message);
    return this.#phase;
  }

  /** Finds objects changed or deleted out of band and applies the desired state again. */
  async correctDrift(): Promise<number> {
    const held = this.#held;
    if (!held || this.#running) return 0;
    // A failed apply (an API error, a webhook that was down) is attempted again on this
    // interval: the agent keeps enforcing what it holds, not only what arrives.
    if (this.#appliedRevision !== held.revision) {
      const { hooks, ...rest } = held;
      this.#next = {
        sequence: 0,
        fleet: this.fleet,
        ...rest,
        objects: [...rest.objects, ...hooks.map((h) => h.obj)],
      };
      await this.#start();
      return 0;
    }
    if (!held.options.correctDrift) return 0;
    const report = await detectDrift(this.#deps.applier, held.objects, {
      fleet: this.fleet,
      force: held.options.force,
    });
    if (report.drifted.length === 0) return 0;
    // Counted before anything is reported: a health check running beside the correction may
    // report Ready first, and that report must carry the count too.
    this.#driftCorrections += report.drifted.length;
    for (const d of report.drifted) this.#markCorrected(d);
    this.#set(
      'Drifted',
      `${report.drifted.length} object(s) changed out of band: ${report.drifted.map((d) => formatRef(d.ref)).join(', ')}`,
    );
    this.#deps.logger.warn(
      { fleet: this.fleet, drifted: report.drifted.map((d) => formatRef(d.ref)) },
      'drift detected; correcting',
    );
    // The objects were verified before; forget that so apply really looks at them again.
    for (const d of report.drifted) this.#deps.applier.verified.forget(refKey(d.ref));
    const changes = await this.#deps.applier.apply(held.objects, {
      fleet: this.fleet,
      force: held.options.force,
    });
    // An object deleted after the check read it was still restored by this apply, which had
    // to create it: that is a correction too, and is counted and shown as one.
    const seen = new Set(report.drifted.map((d) => refKey(d.ref)));
    const restored = changes.entries.filter((e) => e.action === 'created' && !seen.has(refKey(e.ref)));
    this.#driftCorrections += restored.length;
    for (const e of restored)
      this.#markCorrected({ ref: e.ref, reason: 'Deleted', changes: ['deleted'], managers: [] });
    const failed = changes.entries.filter((e) => e.action === 'failed');
    if (failed.length > 0) {
      this.#set(
        'Failed',
        `drift correction failed: ${failed.map((e) => `${formatRef(e.ref)}: ${e.message}`).join('; ')}`,
      );
    } else {
      await this.checkHealth();
    }
    return report.drifted.length + restored.length;
  }

  /** Records in the object's status that it was changed out of band and restored. */
  #markCorrected(d: { ref: ObjectRef; reason: string; changes: string[]; managers: string[] }): void {
    const key = refKey(d.ref);
    const current = this.#objects.get(key) ?? toObjectStatus({ ref: d.ref, action: 'unchanged' });
    this.#objects.set(key, {
      ...current,
      drifted: true,
      reason: d.reason,
      message:
        d.reason === 'Deleted'
          ? 'deleted out of band; restored'
          : `changed out of band (${d.changes.join(', ')}${d.managers.length ? ` by ${d.managers.join(', ')}` : ''}); restored`,
      driftChanges: d.changes,
      driftManagers: d.managers,
      driftCorrectedAtUnixMs: Date.now(),
    });
  }

  /** The fleet no longer targets this cluster: prune what it applied (honouring opt-outs). */
  async remove(prune: boolean): Promise<void> {
    await this.#running;
    const previous = await this.#deps.inventory.load(this.fleet);
    if (prune && previous && previous.refs.length > 0) {
      await deleteObjects(this.#deps.applier.client, previous.refs as ObjectRef[], { fleet: this.fleet });
    }
    await this.#deps.inventory.remove(this.fleet);
    this.#held = undefined;
  }

  /** Re-sends the current status (the slow heartbeat). */
  heartbeat(): void {
    if (this.#held) this.#report();
  }

  #set(phase: Phase, message: string): void {
    const changed = phase !== this.#phase || message !== this.#message;
    if (phase !== this.#phase) this.#phaseSince = Date.now();
    this.#phase = phase;
    this.#message = message;
    if (changed) this.#report();
  }

  #report(): void {
    const held = this.#held;
    this.#deps.report({
      fleet: this.fleet,
      desiredRevision: held?.revision ?? '',
      desiredDigest: held?.digest ?? '',
      appliedRevision: this.#appliedRevision,
      attemptedRevision: this.#attemptedRevision,
      phase: phaseToProto(this.#phase),
      message: this.#message,
      objects: [...this.#objects.values()],
      observedAtUnixMs: Date.now(),
      driftCorrections: this.#driftCorrections,
    });
  }
}

/**
 * Health is polled while a fleet is Progressing or Drifted: every interval for the first two
 * minutes (most rollouts settle by then), then at most every 30 s, so a fleet that never
 * becomes Ready does not keep the agent busy (measured: ~10 % of a core at a 2 s interval).
 */
export function healthCheckDue(
  phase: Phase,
  inPhaseMs: number,
  sinceLastMs: number,
  intervalMs: number,
): boolean {
  if (phase !== 'Progressing' && phase !== 'Drifted') return false;
  const every = inPhaseMs < 120_000 ? intervalMs : Math.max(intervalMs, 30_000);
  return sinceLastMs >= every - 50;
}

function toObjectStatus(e: Pick<ChangeSetEntry, 'ref' | 'action' | 'reason' | 'message'>): ObjectStatus {
  return {
    apiVersion: e.ref.group ? `${e.ref.group}/${e.ref.version}` : e.ref.version,
    kind: e.ref.kind,
    namespace: e.ref.namespace,
    name: e.ref.name,
    action: actionToProto(e.action),
    health: Health.HEALTH_UNKNOWN,
    reason: e.reason ?? '',
    message: e.message ?? '',
    drifted: false,
    driftChanges: [],
    driftManagers: [],
    driftCorrectedAtUnixMs: 0,
  };
}

function summarizeForLog(cs: ChangeSet): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of cs.entries) out[e.action] = (out[e.action] ?? 0) + 1;
  return out;
}
