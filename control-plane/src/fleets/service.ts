// The lifecycle of a fleet: create (the first fetch and plan at once), change (branch, path,
// credentials, poll interval: re-planned from the new place with the usual stages and gates),
// delete (agents prune), and the views the API shows. Routes call this; it owns the order of
// the writes, the events they announce and the polling schedule.
import { normaliseFleetPath, type Phase } from '@gitfleet/proto/core';
import type { Access } from '../auth/access.ts';
import type { ControlPlane } from '../control-plane.ts';
import { conflict, DomainError, invalid, notFound } from '../errors.ts';
import { allowsRepo, assignStages, clustersOf, conditions, holdsFleet } from '../fleet/index.ts';
import type { RepoCredentials } from '../git/mirror.ts';
import type { FleetChange, FleetSpec, FleetState } from '../reconcile/fleet-store.ts';
import type { ChartCredentials } from '../render/helm.ts';

export const FLEET_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface CreateFleetInput {
  name: string;
  repo: string;
  branch?: string;
  path?: string;
  pollIntervalSeconds?: number;
  /** The project it is in: its name must be one of the project's fleets, its repo one of its repos. */
  project?: string;
  credentials?: RepoCredentials;
  chartCredentials?: ChartCredentials;
}

/** A page of the status: after a cluster name, at most `limit`, of one stage or phase. */
export interface StatusPage {
  after?: string;
  limit?: number;
  stage?: string;
  phase?: Phase;
}

export type UpdateFleetInput = Omit<FleetChange, 'pollIntervalSeconds'> & {
  pollIntervalSeconds?: number | null;
};

/** Git's rules for a branch name (git check-ref-format --branch), for the ones users can get wrong. */
export function isBranchName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    !/[\p{Cc}\s~^:?*[\\]/u.test(name) &&
    !/^[-/]|\/$|\.$|\.lock$|\.\.|\/\/|@\{|^@$/.test(name) &&
    !name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock')) &&
    // A full commit id is taken as that commit, not as a branch, by Git clients.
    !/^[0-9a-f]{40}$|^[0-9a-f]{64}$/i.test(name)
  );
}

function checkBranch(branch: string): string {
  if (!isBranchName(branch)) {
    throw invalid(
      `branch ${JSON.stringify(branch)} is not a valid Git branch name (no spaces, '..', '~^:?*[\\', control characters, leading '-' or '/', trailing '/', '.' or '.lock', not a commit id)`,
    );
  }
  return branch;
}

/** Kept as given (less its leading '/'), so the API shows what was written; read through normaliseFleetPath. */
function checkPath(path: string | undefined): string {
  const given = (path ?? '.').replace(/^\/+/, '');
  if (normaliseFleetPath(given) === null)
    throw invalid(`path ${JSON.stringify(path)} must stay inside the repository`);
  return given;
}

function checkRepo(repo: string): string {
  // Checked first: the messages below quote the URL, and a password in it must not come back.
  const url = URL.parse(repo);
  if (/\/\/[^/]*@/.test(repo) || url?.username || url?.password) {
    throw invalid(
      'put credentials in the `credentials` field, not in the repo URL (URLs are shown by the API)',
    );
  }
  if (!/^https?:\/\//.test(repo) || !url) {
    throw invalid(
      `repo ${JSON.stringify(repo)} is not an HTTP(S) Git URL, e.g. https://git.example.com/org/fleet.git`,
    );
  }
  return repo;
}

/**
 * The registered clusters a fleet may select: all of them, or for a fleet of a project those
 * of the project's selector (none while the project is missing), as its passes plan over.
 */
export async function fleetClusters(cp: ControlPlane, spec: Pick<FleetSpec, 'project'>) {
  const clusters = await cp.registry.list();
  if (!spec.project) return clusters;
  const project = await cp.projects.find(spec.project);
  return project ? clustersOf(project, clusters) : [];
}

export class FleetService {
  readonly #cp: ControlPlane;

  constructor(cp: ControlPlane) {
    this.#cp = cp;
  }

  /** Creates a fleet; `access`: who asks (an admin of its project, or of the installation). */
  async create(input: CreateFleetInput, access?: Access) {
    const cp = this.#cp;
    if (!FLEET_NAME.test(input.name)) {
      throw invalid(
        `fleet name ${JSON.stringify(input.name)} is not valid: use 1-63 lowercase letters, digits and '-'`,
      );
    }
    const spec: FleetSpec = {
      name: input.name,
      repo: checkRepo(input.repo),
      branch: checkBranch(input.branch ?? 'main'),
      path: checkPath(input.path),
      ...(input.pollIntervalSeconds !== undefined ? { pollIntervalSeconds: input.pollIntervalSeconds } : {}),
      ...(input.project !== undefined ? { project: input.project } : {}),
      createdAt: new Date().toISOString(),
    };
    await this.#checkProject(spec, access);
    await cp.fleets.create(spec, { ...input.credentials }, { ...input.chartCredentials });
    await cp.events.publish({ type: 'FleetCreated', fleet: spec.name });
    // Polling starts after this first sync (its scheduler runs once at once): a poll racing
    // with it would only fetch the same commit again.
    let state: FleetState;
    try {
      state = await cp.reconciler.sync(spec.name, { fetch: true });
    } catch (err) {
      throw deletedMeanwhile(err, spec.name);
    } finally {
      await cp.schedulePolling(spec);
    }
    return this.#view(spec, state);
  }

  /**
   * Changes what the fleet follows or how it reaches it. A new branch or path, or new
   * credentials, fetch and re-plan at once: the new place's revision goes through the
   * stages, gates and waves like any new commit.
   */
  async update(name: string, input: UpdateFleetInput) {
    const cp = this.#cp;
    const change: FleetChange = {
      ...(input.branch !== undefined ? { branch: checkBranch(input.branch) } : {}),
      ...(input.path !== undefined ? { path: checkPath(input.path) } : {}),
      ...(input.pollIntervalSeconds !== undefined ? { pollIntervalSeconds: input.pollIntervalSeconds } : {}),
      ...(input.credentials ? { credentials: { ...input.credentials } } : {}),
      ...(input.chartCredentials ? { chartCredentials: { ...input.chartCredentials } } : {}),
    };
    const { before, after } = await cp.fleets.update(name, change);
    await cp.events.publish({
      type: 'FleetUpdated',
      fleet: name,
      reason: changeSummary(before, after, change),
    });
    if (before.pollIntervalSeconds !== after.pollIntervalSeconds) await cp.schedulePolling(after);
    const refetch =
      before.branch !== after.branch ||
      before.path !== after.path ||
      change.credentials !== undefined ||
      change.chartCredentials !== undefined;
    const state = refetch
      ? await cp.reconciler.sync(name, { fetch: true })
      : (await cp.fleets.get(name)).state;
    return this.#view(after, state);
  }

  async delete(name: string): Promise<void> {
    const cp = this.#cp;
    await cp.fleets.delete(name);
    await cp.unschedulePolling(name);
    // Every cluster: one the fleet no longer may select can still run what it was given.
    const clusters = await cp.registry.list();
    await cp.desired.setMany(
      name,
      clusters.map((c) => ({ cluster: c.name, entry: null })),
    );
    await cp.events.publish({ type: 'FleetDeleted', fleet: name });
  }

  async sync(name: string) {
    const { spec } = await this.#cp.fleets.get(name);
    return this.#view(spec, await this.#cp.reconciler.sync(spec.name, { fetch: true }));
  }

  async get(name: string) {
    const { spec, state } = await this.#cp.fleets.get(name);
    return this.#view(spec, state);
  }

  /** The fleets `access` may see (all without one). */
  async list(access?: Access) {
    const fleets = (await this.#cp.fleets.list()).filter(({ spec }) => !access || access.fleetRole(spec));
    return Promise.all(fleets.map(({ spec, state }) => this.#view(spec, state)));
  }

  /** A fleet of a project is created by an admin of it, under its names and from its repositories. */
  async #checkProject(spec: FleetSpec, access: Access | undefined): Promise<void> {
    if (!spec.project) {
      if (access && access.role !== 'admin') {
        throw new DomainError(
          'Forbidden',
          `${access.name} may create fleets only in its projects: give \`project\` (${Object.keys(access.projectRoles).join(', ')})`,
        );
      }
      return;
    }
    // A project the caller cannot see answers as one that does not exist.
    const project =
      access && !access.seesProject(spec.project) ? undefined : await this.#cp.projects.find(spec.project);
    if (!project) throw notFound('NotFound', `project ${spec.project} does not exist`);
    if (access && access.projectRole(project.name) !== 'admin') {
      throw new DomainError(
        'Forbidden',
        `${access.name} is not an admin of project ${project.name}: creating a fleet in it needs that role`,
      );
    }
    if (!holdsFleet(project, spec.name)) {
      throw new DomainError(
        'ProjectRefused',
        `fleet name ${spec.name} is not one of project ${project.name}'s fleets (${project.fleets.join(', ')})`,
      );
    }
    if (!allowsRepo(project, spec.repo)) {
      throw new DomainError(
        'ProjectRefused',
        `repo ${spec.repo} is not one of project ${project.name}'s repositories (${project.repos.join(', ')})`,
      );
    }
  }

  /**
   * The last reports of a cluster for the fleet, newest first: what it ran, when, and how it
   * went, with each report's object results summed (the full ones are in the latest status).
   */
  async reports(name: string, cluster: string) {
    const cp = this.#cp;
    const { spec } = await cp.fleets.get(name);
    await cp.registry.get(cluster);
    const history = await cp.ingestion.history(cluster, spec.name);
    return {
      fleet: spec.name,
      cluster,
      items: history.map((r) => ({
        sequence: r.sequence,
        phase: r.phase,
        desiredRevision: r.desiredRevision || null,
        appliedRevision: r.appliedRevision || null,
        attemptedRevision: r.attemptedRevision || null,
        message: r.message,
        observedAt: r.observedAt,
        receivedAt: r.receivedAt,
        driftCorrections: r.driftCorrections,
        objects: r.objects.length,
        failedObjects: r.objects.filter((o) => o.action === 'failed' || o.health === 'Failed').length,
      })),
    };
  }

  /** Each cluster the fleet names or reaches: desired, applied and attempted revision, phase, objects. */
  /**
   * The fleet on each cluster it names or reaches, by cluster name: all of them, or a page
   * (`limit` after the cluster `after`, `next` to go on), optionally of one stage or phase.
   * `access`: a caller with project roles only sees the clusters its projects may select.
   */
  async status(name: string, page: StatusPage = {}, access?: Access) {
    const cp = this.#cp;
    const { spec, state } = await cp.fleets.get(name);
    // Every cluster that runs or was given something of the fleet is shown; stages are over those
    // the fleet may select.
    const registered = await cp.registry.list();
    const allowed = await fleetClusters(cp, spec);
    const stageOf = state.policy ? assignStages(state.policy, allowed).stageOf : {};
    const clusters = registered
      .filter((c) => !access || access.seesCluster(c))
      .filter((c) => page.after === undefined || c.name > page.after)
      .filter((c) => page.stage === undefined || stageOf[c.name] === page.stage)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const statuses = await cp.ingestion.ofFleet(
      spec.name,
      clusters.map((c) => c.name),
    );
    // All in flight at once: ten thousand sequential round trips would take seconds.
    const desiredOf = await Promise.all(clusters.map((c) => cp.desired.getOne(c.name, spec.name)));
    const items = [];
    let next: string | null = null;
    for (const [i, cluster] of clusters.entries()) {
      const desired = desiredOf[i];
      const status = statuses.get(cluster.name);
      if (!desired && !status && !stageOf[cluster.name]) continue;
      const phase = status?.phase ?? 'Pending';
      if (page.phase !== undefined && phase !== page.phase) continue;
      if (page.limit !== undefined && items.length === page.limit) {
        next = items.at(-1)?.cluster ?? null;
        break;
      }
      items.push({
        cluster: cluster.name,
        stage: desired?.stage ?? stageOf[cluster.name] ?? null,
        connected: cluster.connected,
        desiredRevision: desired?.revision ?? null,
        desiredDigest: desired?.digest ?? null,
        appliedRevision: status?.appliedRevision || null,
        attemptedRevision: status?.attemptedRevision || null,
        phase,
        message: status?.message ?? '',
        observedAt: status?.observedAt ?? null,
        driftCorrections: status?.driftCorrections ?? 0,
        objects: status?.objects ?? [],
      });
    }
    return { fleet: spec.name, items, next };
  }

  async #view(spec: FleetSpec, state: FleetState) {
    const cp = this.#cp;
    const clusters = await fleetClusters(cp, spec);
    const statuses = await cp.ingestion.ofFleet(
      spec.name,
      clusters.map((c) => c.name),
    );
    const stageOf = state.policy ? assignStages(state.policy, clusters).stageOf : {};
    const stages = (state.policy?.stages ?? []).map((stage) => {
      const members = clusters.filter((c) => stageOf[c.name] === stage.name).map((c) => c.name);
      const phases: Partial<Record<Phase | 'Unknown', number>> = {};
      for (const m of members) {
        const phase = statuses.get(m)?.phase ?? 'Unknown';
        phases[phase] = (phases[phase] ?? 0) + 1;
      }
      const rollout = state.rollouts[stage.name];
      return {
        name: stage.name,
        follows: stage.revision ? ('pinned' as const) : ('head' as const),
        revision: rollout?.revision ?? stage.revision ?? state.lastGoodRevision,
        chartVersion:
          state.chartVersions[rollout?.revision ?? stage.revision ?? state.lastGoodRevision ?? ''] ?? null,
        requires: stage.requires ?? null,
        clusters: members.length,
        phases,
        rollout: rollout
          ? {
              state: rollout.state,
              revision: rollout.revision,
              previousRevision: rollout.previousRevision,
              wave: rollout.currentWave + 1,
              waves: rollout.waves.length,
              /** The clusters of each wave, in order (the dashboard shows which wave is moving). */
              waveClusters: rollout.waves,
              reason: rollout.reason ?? null,
            }
          : null,
      };
    });
    return {
      name: spec.name,
      repo: spec.repo,
      branch: spec.branch,
      path: spec.path,
      project: spec.project ?? null,
      pollIntervalSeconds: spec.pollIntervalSeconds ?? cp.config.pollIntervalSeconds,
      createdAt: spec.createdAt,
      head: state.head,
      lastGoodRevision: state.lastGoodRevision,
      source: state.policy?.source ?? null,
      chartVersion: state.chartVersions[state.lastGoodRevision ?? ''] ?? null,
      lastSyncAt: state.lastSyncAt,
      // States stored before conditions existed get theirs from the fields they have.
      conditions: state.conditions?.length ? state.conditions : conditions(state, [], Date.now()),
      fetchError: state.fetchError,
      errors: [...state.errors, ...state.planErrors],
      stages,
      policy: state.policy,
    };
  }
}

export type FleetView = Awaited<ReturnType<FleetService['get']>>;

/** A fleet deleted by another request before its creation was answered: say so, not "not found". */
function deletedMeanwhile(err: unknown, name: string): unknown {
  if (!(err instanceof DomainError) || err.code !== 'FleetNotFound') return err;
  return conflict('Conflict', `fleet ${name} was deleted by another request while it was being created`);
}

/** What an update changed, in words for the event (credentials named, never shown). */
function changeSummary(before: FleetSpec, after: FleetSpec, change: FleetChange): string {
  const parts: string[] = [];
  if (before.branch !== after.branch) parts.push(`branch ${before.branch} → ${after.branch}`);
  if (before.path !== after.path) parts.push(`path ${before.path} → ${after.path}`);
  if (before.pollIntervalSeconds !== after.pollIntervalSeconds)
    parts.push(`poll interval ${after.pollIntervalSeconds ?? 'default'}`);
  if (change.credentials) parts.push('Git credentials replaced');
  if (change.chartCredentials) parts.push('chart credentials replaced');
  return parts.join('; ') || 'nothing changed';
}
