// Promotions and rollbacks: a commit by the control plane that rewrites one stage's
// `revision` in fleet.yaml, authored by the person who asked, pushed to the fleet's branch.
// Git is the record: the history is read back from `git log fleet.yaml`, and a rollback is a
// new commit restoring an earlier pin, never a rewrite. The reconciler then does the rest,
// exactly as for a pull request that changed the same line.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { normaliseFleetPath } from '@gitfleet/proto/core';
import git from 'isomorphic-git';
import type { ControlPlane } from '../control-plane.ts';
import { DomainError } from '../errors.ts';
import {
  type ClusterStatus,
  checkPromotion,
  defaultPromotionRevision,
  FleetError,
  type FleetPolicy,
  isRevision,
  type StagePlan,
  sameRevision,
  setStageRevision,
  shortRevision,
} from '../fleet/index.ts';
import { fleetClusters } from '../fleets/service.ts';
import { commitFileChange, PushConflictError, type Signature } from '../git/commit.ts';
import { GitError, type GitMirror } from '../git/mirror.ts';
import type { FleetSpec, FleetState } from '../reconcile/fleet-store.ts';
import type { ClusterFleetStatus } from '../status/types.ts';
import {
  type PinChange,
  type PromotionRecord,
  promotionMessage,
  promotionOf,
  rollbackPlan,
  stagePin,
} from './history.ts';

export interface PromoteRequest {
  stage: string;
  revision?: string | undefined;
  reason?: string | undefined;
}

export interface RollbackRequest {
  stage: string;
  reason?: string | undefined;
}

export interface PromotionResult extends PromotionRecord {
  /** The stage the revision came from, when it was taken from there. */
  from: string | null;
}

export interface PromotionOptions {
  /** Authors are `<name>@<emailDomain>`, or the caller's email when it is one. */
  emailDomain: string;
  /** How far back the history is read (commits of fleet.yaml). */
  historyDepth?: number;
}

interface Loaded {
  spec: FleetSpec;
  state: FleetState;
  mirror: GitMirror;
  /** fleet.yaml's path in the repository. */
  file: string;
}

export class PromotionService {
  readonly #cp: ControlPlane;
  readonly #options: Required<PromotionOptions>;

  constructor(cp: ControlPlane, options: PromotionOptions) {
    this.#cp = cp;
    this.#options = { historyDepth: 500, ...options };
  }

  async promote(fleet: string, request: PromoteRequest, caller: string): Promise<PromotionResult> {
    const { spec, state, mirror, file } = await this.#load(fleet);
    const policy = requirePolicy(fleet, state);
    const stage = requireStage(policy, request.stage);
    const head = await gitCall(() => mirror.fetch(spec.branch));

    let from: string | null = null;
    let revision: string;
    if (request.revision !== undefined) {
      revision = await this.#resolve(mirror, spec.branch, head, request.revision);
    } else {
      try {
        // It reads only each stage's name and target revision, which the stored state holds.
        const stages = stageRevisions(policy, state) as StagePlan[];
        const source = defaultPromotionRevision(policy, stage, { stages });
        from = source.from;
        revision = await this.#resolve(mirror, spec.branch, head, source.revision);
      } catch (err) {
        // The request is well formed; it is the fleet.yaml that names no stage to take from.
        if (err instanceof FleetError && err.code === 'NoSourceStage') {
          throw new DomainError('Conflict', err.message);
        }
        throw err;
      }
    }

    // The gate: every cluster of the required stage Ready at exactly this revision (of those
    // the fleet may select).
    const clusters = await fleetClusters(this.#cp, spec);
    const statuses = await this.#cp.ingestion.ofFleet(
      fleet,
      clusters.map((c) => c.name),
    );
    const check = checkPromotion({
      policy,
      stage,
      revision,
      clusters: clusters.map((c) => ({ name: c.name, labels: c.labels })),
      statuses: toClusterStatuses(statuses),
    });
    if (!check.ok) {
      throw new DomainError('PromotionRefused', check.message, {
        requires: check.requires,
        notReady: check.notReady,
      });
    }

    const id = randomUUID();
    const message = promotionMessage({ kind: 'promotion', id, stage, revision, reason: request.reason });
    let basePin: string | null | undefined;
    const record = await this.#commit(fleet, spec, mirror, file, head, caller, message, (text, attempt) => {
      const pin = stagePin(text, stage);
      if (attempt === 1) basePin = pin;
      else if (!samePin(pin, basePin)) throw changedMeanwhile(stage, pin);
      if (pin && sameRevision(pin, revision)) {
        throw new DomainError(
          'Conflict',
          `stage '${stage}' is already pinned to ${shortRevision(revision)} on ${spec.branch}; nothing to promote`,
        );
      }
      return setStageRevision(text, stage, revision, file);
    });
    return { ...record, from };
  }

  async rollback(fleet: string, request: RollbackRequest, caller: string): Promise<PromotionResult> {
    const { spec, state, mirror, file } = await this.#load(fleet);
    const policy = requirePolicy(fleet, state);
    const stage = requireStage(policy, request.stage);
    const head = await gitCall(() => mirror.fetch(spec.branch));

    const changes: PinChange[] = [];
    for (const entry of await mirror.log(head, file, this.#options.historyDepth)) {
      const text = await mirror.readFile(entry.sha, file);
      const pin = text === null ? null : stagePin(text, stage);
      if (pin === undefined) continue; // a commit whose fleet.yaml did not parse changed no pin
      const promotion = promotionOf(entry);
      changes.push({
        commit: entry.sha,
        pin,
        rollback: promotion?.kind === 'rollback' && promotion.stage === stage,
      });
    }
    changes.reverse();
    const plan = rollbackPlan(changes);
    if (plan.current === null) {
      throw new DomainError(
        'RollbackRefused',
        `stage '${stage}' follows the head of ${spec.branch}, so there is no pinned revision to roll back; revert the commit on the branch (git revert) or promote a revision to pin it`,
      );
    }
    if (plan.previous === undefined) {
      throw new DomainError(
        'RollbackRefused',
        `nothing to roll back to: the history of ${file} shows no revision of stage '${stage}' before ${shortRevision(plan.current)}`,
      );
    }
    if (plan.previous === null) {
      throw new DomainError(
        'RollbackRefused',
        `nothing to roll back to: before ${shortRevision(plan.current)}, stage '${stage}' followed the branch head; promote the revision you want instead`,
      );
    }
    const current = plan.current;
    const revision = await this.#resolve(mirror, spec.branch, head, plan.previous);
    const id = randomUUID();
    const message = promotionMessage({
      kind: 'rollback',
      id,
      stage,
      revision,
      reason:
        request.reason ??
        `Restores the revision stage '${stage}' ran before ${shortRevision(current)}${plan.currentCommit ? ` (set by ${shortRevision(plan.currentCommit)})` : ''}.`,
      rollbackOf: plan.currentCommit ?? undefined,
    });
    const record = await this.#commit(fleet, spec, mirror, file, head, caller, message, (text) => {
      const pin = stagePin(text, stage);
      // Someone moved the stage meanwhile: what we would restore was computed from another past.
      if (!samePin(pin, current)) throw changedMeanwhile(stage, pin);
      return setStageRevision(text, stage, revision, file);
    });
    return { ...record, from: null };
  }

  /** Promotions and rollbacks of the fleet, newest first, read from the commits of fleet.yaml. */
  async history(fleet: string): Promise<PromotionRecord[]> {
    const { spec, mirror, file } = await this.#load(fleet);
    let head: string | null;
    try {
      head = await mirror.fetch(spec.branch);
    } catch (err) {
      // Git unreachable: the history as of the last fetch is still the truth up to there.
      head = await mirror.head(spec.branch);
      if (!head) throw gitError(err);
    }
    const log = await mirror.log(head, file, this.#options.historyDepth);
    return log.map(promotionOf).filter((p): p is PromotionRecord => p !== null);
  }

  async #load(fleet: string): Promise<Loaded> {
    const { spec, state } = await this.#cp.fleets.get(fleet);
    const mirror = this.#cp.reconciler.mirror(spec, await this.#cp.fleets.credentials(fleet));
    const base = normaliseFleetPath(spec.path);
    if (base === null) {
      throw new DomainError(
        'Conflict',
        `fleet ${fleet} has the path ${JSON.stringify(spec.path)}, which is not a directory inside the repository (no '..'); recreate the fleet with a path such as deploy/shop`,
      );
    }
    return { spec, state, mirror, file: base ? `${base}/fleet.yaml` : 'fleet.yaml' };
  }

  /** A full commit id on `branch` for what a person wrote (full or abbreviated). */
  async #resolve(mirror: GitMirror, branch: string, head: string, text: string): Promise<string> {
    const rev = text.trim().toLowerCase();
    if (!isRevision(rev)) {
      throw new DomainError(
        'InvalidRequest',
        `revision '${text}' is not a commit id; give the full hex commit id (or at least its first 7 digits)`,
      );
    }
    const notOnBranch = () =>
      new DomainError(
        'RevisionNotOnBranch',
        `revision ${rev} is not a commit of branch ${branch} (as of ${shortRevision(head)}); push it to ${branch} first`,
      );
    let full: string;
    try {
      full = await git.expandOid({ fs, gitdir: mirror.dir, oid: rev });
    } catch {
      throw notOnBranch();
    }
    if (full === head) return full;
    // Only commits of the branch: a pin elsewhere would vanish from the mirror with a force-push.
    const onBranch = await git
      .isDescendent({ fs, gitdir: mirror.dir, oid: head, ancestor: full, depth: -1 })
      .catch(() => false);
    if (!onBranch) throw notOnBranch();
    return full;
  }

  async #commit(
    fleet: string,
    spec: FleetSpec,
    mirror: GitMirror,
    file: string,
    head: string,
    caller: string,
    message: string,
    edit: (text: string, attempt: number) => string,
  ): Promise<PromotionRecord> {
    const author = this.#author(caller);
    let result: Awaited<ReturnType<typeof commitFileChange>>;
    try {
      result = await commitFileChange(mirror, {
        branch: spec.branch,
        path: file,
        base: head,
        message,
        author,
        committer: { name: 'gitfleet', email: `gitfleet@${this.#options.emailDomain}` },
        edit: (text, _head, attempt) => edit(text, attempt),
      });
    } catch (err) {
      if (err instanceof PushConflictError) throw new DomainError('Conflict', err.message);
      if (err instanceof GitError) throw gitError(err);
      throw err;
    }
    if (!result) throw new DomainError('Conflict', `${file} is unchanged by this request; nothing to commit`);
    // Read back, so that what is returned is what `git log` will show.
    const { commit } = await git.readCommit({ fs, gitdir: mirror.dir, oid: result.commit });
    const record = promotionOf({
      sha: result.commit,
      author: commit.author.name,
      email: commit.author.email,
      time: commit.author.timestamp,
      message: commit.message,
    });
    if (!record) throw new Error('a promotion message without its trailers');
    this.#cp.logger.info(
      { fleet, stage: record.stage, revision: record.revision, commit: record.commit, author: author.name },
      `${record.kind} pushed`,
    );
    await this.#cp.events.publish({
      type: 'Promoted',
      fleet,
      stage: record.stage,
      revision: record.revision,
      reason: message.split('\n')[0] ?? '',
    });
    // The commit is on the branch whatever happens next; a failed re-plan shows on the fleet.
    await this.#cp.reconciler
      .sync(fleet, { fetch: true })
      .catch((err) => this.#cp.logger.warn({ err, fleet }, 're-plan after promotion failed'));
    return record;
  }

  #author(caller: string): Signature {
    const name = caller.replace(/[<>\r\n]/g, '').trim() || 'unknown';
    // A signed-in person (OpenID Connect) is named by their email: the commit carries it.
    if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(name)) return { name, email: name };
    const local = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-') || 'unknown';
    return { name, email: `${local}@${this.#options.emailDomain}` };
  }
}

function requirePolicy(fleet: string, state: FleetState): FleetPolicy {
  if (!state.policy) {
    throw new DomainError(
      'Conflict',
      `fleet ${fleet} has no valid fleet.yaml yet (see its errors); fix it before promoting`,
    );
  }
  return state.policy;
}

function requireStage(policy: FleetPolicy, stage: string): string {
  if (!policy.stages.some((s) => s.name === stage)) {
    throw new DomainError(
      'StageNotFound',
      `there is no stage '${stage}' in fleet.yaml; stages: ${policy.stages.map((s) => s.name).join(', ')}`,
    );
  }
  return stage;
}

/** What each stage targets now: the rollout's (resolved) revision, else the pin, else the head. */
function stageRevisions(policy: FleetPolicy, state: FleetState): { name: string; revision: string }[] {
  return policy.stages.map((s) => ({
    name: s.name,
    revision: state.rollouts[s.name]?.revision ?? s.revision ?? state.lastGoodRevision ?? '',
  }));
}

/** Statuses as the planner reads them (the same mapping the reconciler uses). */
function toClusterStatuses(statuses: Map<string, ClusterFleetStatus>): Record<string, ClusterStatus> {
  return Object.fromEntries(
    [...statuses].map(([cluster, s]) => [
      cluster,
      {
        revision: s.attemptedRevision || s.appliedRevision,
        digest: s.desiredDigest,
        phase: s.phase,
        updatedAt: Date.parse(s.receivedAt),
      },
    ]),
  );
}

function samePin(a: string | null | undefined, b: string | null | undefined): boolean {
  return a && b ? sameRevision(a, b) : (a ?? null) === (b ?? null);
}

function changedMeanwhile(stage: string, pin: string | null | undefined): DomainError {
  return new DomainError(
    'Conflict',
    `stage '${stage}' was changed by another commit meanwhile (now ${pin ? shortRevision(pin) : 'following the head'}); look at the history and try again if it is still wanted`,
  );
}

/** 502 when the Git server failed; 409 when it answered that the branch or file is not there. */
function gitError(err: unknown): DomainError {
  return new DomainError(
    err instanceof GitError && err.refused ? 'GitError' : 'GitUnavailable',
    (err as Error).message,
  );
}

async function gitCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof GitError ? gitError(err) : err;
  }
}
