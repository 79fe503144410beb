// The fleet reconciler: one pass reads top to bottom as named steps, each failure with its
// own reason (after kustomize-controller):
//
//   fetch → read (fleet.yaml + manifests at the head, skipped when the tree is unchanged)
//   → validate (a bad head keeps the last good revision) → plan (stages, waves)
//   → render (a content-addressed bundle per cluster) → deliver (desired state per cluster)
//   → save state and publish events
//
// Passes for one fleet are serialized and coalesced: a burst of triggers (webhook, poll,
// status reports advancing a rollout) while one pass runs causes one more pass.

import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { normaliseFleetPath } from '@gitfleet/proto/core';
import git from 'isomorphic-git';
import type { Logger } from 'pino';
import type { ProjectStore } from '../auth/projects.ts';
import { type Events, encodeEvent } from '../events.ts';
import { problem } from '../fleet/errors.ts';
import {
  assignStages,
  type Bundle,
  bundleBytes,
  clustersOf,
  concludePass,
  dropsEveryCluster,
  type FleetPolicy,
  isManifestFile,
  type ManifestFile,
  objectProblems,
  type PassInput,
  type PassOutcome,
  type Plan,
  type Problem,
  type Project,
  parsePolicy,
  plan,
  type RenderOutcome,
  renderBundle,
} from '../fleet/index.ts';
import { unknownTargets } from '../fleet/notify.ts';
import {
  DEFAULT_READ_LIMITS,
  type DirContents,
  GitMirror,
  mirrorId,
  type ReadLimits,
  type RepoCredentials,
} from '../git/mirror.ts';
import type { NotificationTargets } from '../notifications/targets.ts';
import type { ClusterRegistry } from '../registry/clusters.ts';
import type { ChartCredentials } from '../render/helm.ts';
import type { RenderCluster, SourceRenderer } from '../render/renderer.ts';
import type { StatusIngestion } from '../status/ingest.ts';
import type { DesiredStateStore } from '../store/desired.ts';
import { inSpan } from '../telemetry.ts';
import type { FleetSpec, FleetState, FleetStore } from './fleet-store.ts';
import type { Claim, FleetLeases } from './lease.ts';

export interface ReconcilerDeps {
  store: FleetStore;
  /** One writer per fleet across replicas. */
  leases: FleetLeases;
  /** The names notify: rules may use. */
  notificationTargets: Pick<NotificationTargets, 'names'>;
  registry: ClusterRegistry;
  desired: DesiredStateStore;
  ingestion: StatusIngestion;
  events: Events;
  dataDir: string;
  logger: Logger;
  /** How long a silent Git server is waited for (GitMirror's timeoutMs). */
  gitTimeoutMs?: number;
  /** Size bounds on what a fleet may hold in Git (default DEFAULT_READ_LIMITS). */
  limits?: ReadLimits;
  /** Renders Helm and Kustomize sources (manifests render in process). */
  renderer: SourceRenderer;
  /** The projects fleets may be in: they bound what a fleet's passes select and render. */
  projects: Pick<ProjectStore, 'find'>;
}

// How long an API call waits for the pass another replica owes it.
const WAIT_SERVED_MS = 120_000;

/** The lease a pass runs under: its token, and a check that it still holds it (renewing it). */
type Lease = { token: number; check: () => Promise<void> };

/** The pass lost its lease (it paused too long, or Redis was away): it must write nothing. */
class LeaseLost extends Error {
  constructor(fleet: string) {
    super(`fleet ${fleet}: another replica holds the lease now`);
  }
}

/** One cluster of a preview: its bundle, or why it does not render. */
export type PreviewTarget = {
  cluster: string;
  stage: string;
  bundle?: Bundle;
  apply?: FleetPolicy['apply'];
  problems?: Problem[];
};

/** What a Helm fleet's render needs beyond Git: the registry's credentials and the versions resolved. */
type ChartContext = { credentials: ChartCredentials; versions: Record<string, string> };

/** The project a fleet is in (none: undefined), or why the fleet may deploy nothing. */
type InProject = { ok: true; project: Project | undefined } | { ok: false; problem: Problem };

interface Revision {
  commit: string;
  /** The fleet directory in the repository ('' = root). */
  base: string;
  mirror: GitMirror;
  /** Path of fleet.yaml in the repository, for messages. */
  policyFile: string;
  treeId: string | null;
  policy: { ok: true; policy: FleetPolicy } | { ok: false; errors: Problem[] };
  files: ManifestFile[];
  /** Files that could not be read as manifests (links, too large, not text): the revision is bad. */
  problems: Problem[];
}

export class FleetReconciler {
  readonly #deps: ReconcilerDeps;
  readonly #limits: ReadLimits;
  readonly #mirrors = new Map<string, GitMirror>();
  readonly #running = new Map<string, Promise<FleetState>>();
  readonly #again = new Map<string, boolean>();
  // Parsed policies and manifest files by (repo, path, tree id): an unchanged fleet directory
  // is not read again.
  readonly #policies = new Map<string, Revision['policy']>();
  readonly #files = new Map<string, DirContents>();
  readonly #rendered = new Map<string, ReturnType<typeof renderBundle>>();
  // What a project's rules refuse in a bundle, by (rules, bundle): every cluster of a stage
  // shares a bundle, and a re-plan must not check each one again.
  readonly #refused = new Map<string, Problem[]>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#limits = deps.limits ?? DEFAULT_READ_LIMITS;
  }

  mirror(spec: FleetSpec, credentials: RepoCredentials): GitMirror {
    const id = mirrorId(spec.repo, credentials);
    let mirror = this.#mirrors.get(id);
    if (!mirror) {
      mirror = new GitMirror(this.#deps.dataDir, spec.repo, credentials, {
        ...(this.#deps.gitTimeoutMs ? { timeoutMs: this.#deps.gitTimeoutMs } : {}),
      });
      this.#mirrors.set(id, mirror);
    }
    return mirror;
  }

  /**
   * Reconciles one fleet; `fetch: false` re-plans from the last fetched head (status changes).
   * Resolves with the state after a pass that began after this call, whichever replica ran it.
   * Triggers that need no answer (a webhook, a poll, a status report) use `request`.
   */
  async sync(name: string, options: { fetch: boolean }): Promise<FleetState> {
    const running = this.#running.get(name);
    if (running) {
      this.#again.set(name, (this.#again.get(name) ?? false) || options.fetch);
      return running;
    }
    const { claim, done } = this.#start(name, options.fetch);
    const c = await claim;
    if (c?.acquired) return done;
    // Another replica holds the fleet and owes this pass (recorded in Redis); or no such fleet.
    if (c) await this.#waitServed(name, c.request);
    return (await this.#deps.store.get(name)).state; // throws FleetNotFound
  }

  /**
   * Makes sure a pass with `fetch` runs soon, here or in the replica that holds the fleet, and
   * resolves as soon as that is recorded in Redis: a webhook is answered without waiting for
   * the fan-out. Requests while a pass runs are merged into one more pass.
   */
  async request(name: string, options: { fetch: boolean }): Promise<void> {
    if (this.#running.has(name)) {
      this.#again.set(name, (this.#again.get(name) ?? false) || options.fetch);
      return;
    }
    const claim = await this.#start(name, options.fetch).claim;
    if (!claim) await this.#deps.store.get(name); // throws FleetNotFound
  }

  /** Claims the fleet; when the lease is this replica's, runs passes until nothing is owed. */
  #start(name: string, fetch: boolean): { claim: Promise<Claim | null>; done: Promise<FleetState> } {
    const claim = this.#deps.leases.acquire(name, fetch);
    const attempt = (async () => {
      let c: Claim | null = null;
      try {
        c = await claim;
        return c?.acquired ? await this.#hold(name, c.token, c.fetch) : null;
      } finally {
        this.#running.delete(name);
        // Triggers in this replica that joined a claim which turned out owed are owed too.
        const joined = this.#again.get(name);
        if (c && !c.acquired && joined !== undefined) {
          this.#again.delete(name);
          this.request(name, { fetch: joined }).catch(() => undefined);
        }
      }
    })();
    // Set before the claim resolves, so that a second trigger in this replica joins this one.
    const done = attempt.then(async (state) => state ?? (await this.#deps.store.get(name)).state);
    done.catch((err) => this.#deps.logger.warn({ err, fleet: name }, 'fleet pass failed'));
    claim.catch(() => undefined); // awaited by the caller
    this.#running.set(name, done);
    return { claim, done };
  }

  /**
   * Renders `ref` (a commit of the repository, full or abbreviated, or a branch, fetched now)
   * for each cluster its own fleet.yaml would put in a stage, as a promotion or a merge of it
   * would deploy it: for the diff people look at before they merge or promote. Writes nothing
   * but the mirror's branch ref and the bundles (content-addressed, collected when unused).
   */
  async preview(
    name: string,
    ref: string,
    filter: { stage?: string; cluster?: string },
  ): Promise<
    | { ok: true; revision: string; targets: PreviewTarget[] }
    | { ok: false; revision: string | null; problems: Problem[] }
  > {
    const { spec } = await this.#deps.store.get(name);
    const [credentials, chartCredentials] = await Promise.all([
      this.#deps.store.credentials(name),
      this.#deps.store.chartCredentials(name),
    ]);
    const mirror = this.mirror(spec, credentials);
    const commit = await this.#resolveRef(mirror, spec, ref);
    const revision = await this.#read(mirror, spec, commit);
    if (!revision.policy.ok || revision.problems.length > 0) {
      return {
        ok: false,
        revision: commit,
        problems: [...revision.problems, ...(revision.policy.ok ? [] : revision.policy.errors)],
      };
    }
    const policy = revision.policy.policy;
    const inProject = await this.#projectOf(spec, revision.policyFile);
    if (!inProject.ok) return { ok: false, revision: commit, problems: [inProject.problem] };
    const project = inProject.project;
    const registered = await this.#deps.registry.list();
    const clusters = project ? clustersOf(project, registered) : registered;
    const { stageOf } = assignStages(policy, clusters);
    const chart: ChartContext = { credentials: chartCredentials, versions: {} };
    const targets = clusters.filter(
      (c) =>
        stageOf[c.name] &&
        (!filter.stage || stageOf[c.name] === filter.stage) &&
        (!filter.cluster || c.name === filter.cluster),
    );
    const rendered = await Promise.all(
      targets.map(async (cluster): Promise<PreviewTarget> => {
        const stage = stageOf[cluster.name] as string;
        const r = await this.#render(spec, revision, policy, stage, cluster, chart, project);
        if (!r.ok) return { cluster: cluster.name, stage, problems: r.errors };
        return { cluster: cluster.name, stage, bundle: r.bundle, apply: policy.apply };
      }),
    );
    await this.#deps.desired.putBundles(
      rendered.flatMap((t) =>
        t.bundle ? [{ digest: t.bundle.digest, encode: () => bundleBytes(t.bundle as Bundle) }] : [],
      ),
    );
    return { ok: true, revision: commit, targets: rendered };
  }

  /** A commit id (full or abbreviated) known to the mirror, else a branch fetched now. */
  async #resolveRef(mirror: GitMirror, spec: FleetSpec, ref: string): Promise<string> {
    if (/^[0-9a-f]{4,40}$/.test(ref)) {
      // The fleet's branch first: a commit pushed since the last fetch is then known too.
      await mirror.fetch(spec.branch);
      try {
        return await git.expandOid({ fs, gitdir: mirror.dir, oid: ref });
      } catch {
        // not a commit we have: try it as a branch name
      }
    }
    return mirror.fetch(ref);
  }

  /** Fleets whose lease holder died with a pass unfinished or owed: this replica takes them over. */
  async takeOver(): Promise<string[]> {
    const due = await this.#deps.leases.due(await this.#deps.store.names());
    for (const name of due) {
      this.request(name, { fetch: true }).catch((err) =>
        this.#deps.logger.warn({ err, fleet: name }, 'taking over a fleet failed'),
      );
    }
    return due;
  }

  async syncAll(options: { fetch: boolean }): Promise<void> {
    const names = await this.#deps.store.names();
    await Promise.all(names.map((n) => this.sync(n, options).catch(() => undefined)));
  }

  /** Runs passes while holding the lease: one, then one more for each burst of triggers meanwhile. */
  async #hold(name: string, token: number, firstFetch: boolean): Promise<FleetState | null> {
    const leases = this.#deps.leases;
    let lost = false;
    const renew = setInterval(
      () =>
        void leases.renew(name, token).then(
          (held) => {
            if (!held) lost = true;
          },
          () => undefined,
        ),
      Math.max(100, Math.floor(leases.ttlMs / 3)),
    );
    renew.unref();
    const lease: Lease = {
      token,
      check: async () => {
        if (lost || !(await leases.renew(name, token))) {
          lost = true;
          throw new LeaseLost(name);
        }
      },
    };
    try {
      let fetch = firstFetch;
      let state: FleetState | null = null;
      for (;;) {
        const f = fetch;
        state = await inSpan('fleet.reconcile', { 'gitfleet.fleet': name, 'gitfleet.fetch': f }, () =>
          this.#reconcile(name, f, lease),
        );
        if (this.#again.has(name)) {
          fetch = this.#again.get(name) ?? false;
          this.#again.delete(name);
          continue;
        }
        const released = await leases.release(name, token);
        if (released === 'released') return state;
        if (released === 'lost') throw new LeaseLost(name);
        fetch = released.again;
      }
    } catch (err) {
      if (!(err instanceof LeaseLost)) {
        // A pass that failed (Redis away, a bug) must not keep the fleet from others.
        await leases.release(name, token).catch(() => undefined);
        throw err;
      }
      this.#deps.logger.warn({ fleet: name }, 'lost the fleet lease mid-pass; the new holder goes on');
      return null;
    } finally {
      clearInterval(renew);
      this.#again.delete(name);
    }
  }

  async #waitServed(name: string, request: number): Promise<void> {
    const deadline = Date.now() + WAIT_SERVED_MS;
    while ((await this.#deps.leases.served(name)) < request) {
      if (Date.now() > deadline) return;
      await sleep(50);
    }
  }

  /**
   * One pass, as named steps: fetch → read and validate the head → plan → render → decide
   * (concludePass, pure) → deliver → commit. Only the last two write, both under the lease.
   */
  async #reconcile(name: string, doFetch: boolean, lease: Lease): Promise<FleetState> {
    const { spec, state: previous } = await this.#deps.store.get(name);
    const now = () => Date.now();
    // Credentials this replica cannot open (a key missing after a rotation) fail the fetch,
    // with the message that says which key, like any other fetch failure.
    const access = await Promise.all([
      this.#deps.store.credentials(name),
      this.#deps.store.chartCredentials(name),
    ]).catch((err: Error) => err);
    if (access instanceof Error) {
      const fetched = { ok: false as const, error: access.message };
      return this.#commit(name, lease, concludePass({ fleet: name, previous, fetched, now: now() }));
    }
    const [credentials, chartCredentials] = access;
    const mirror = this.mirror(spec, credentials);

    const fetched = await this.#fetch(mirror, spec, previous, doFetch);
    if (!fetched.ok || !fetched.head) {
      return this.#commit(name, lease, concludePass({ fleet: name, previous, fetched, now: now() }));
    }
    const head = fetched.head;

    const registered = await this.#deps.registry.list();
    const headRevision = await inSpan('fleet.read', { 'gitfleet.revision': head }, () =>
      this.#read(mirror, spec, head),
    );
    // A fleet whose project is gone deploys nothing new: its head is refused like a bad commit,
    // and what its clusters run stays until the project is back or the fleet moves.
    const inProject = await this.#projectOf(spec, headRevision.policyFile);
    if (!inProject.ok) {
      const refused = { commit: head, errors: [inProject.problem], policy: null };
      return this.#commit(
        name,
        lease,
        concludePass({ fleet: name, previous, fetched, head: refused, now: now() }),
      );
    }
    const project = inProject.project;
    const clusters = project ? clustersOf(project, registered) : registered;
    const chart: ChartContext = { credentials: chartCredentials, versions: { ...previous.chartVersions } };
    const headErrors = await this.#validate(
      spec,
      headRevision,
      clusters,
      previous.lastGoodRevision ? previous.policy : null,
      chart,
      project,
    );
    const headOutcome = {
      commit: head,
      errors: headErrors,
      policy: headErrors.length === 0 && headRevision.policy.ok ? headRevision.policy.policy : null,
    };
    const policy = headOutcome.policy ?? (previous.lastGoodRevision ? previous.policy : null);
    const lastGood = headOutcome.policy ? head : previous.lastGoodRevision;
    if (!policy || !lastGood) {
      return this.#commit(
        name,
        lease,
        concludePass({ fleet: name, previous, fetched, head: headOutcome, now: now() }),
      );
    }

    const pins = await this.#resolvePins(mirror, policy);
    const resolved = pins.policy;
    const statuses = await this.#deps.ingestion.ofFleet(
      name,
      clusters.map((c) => c.name),
    );
    const planned: Plan = await inSpan('fleet.plan', {}, async () =>
      plan({
        fleet: name,
        policy: resolved,
        head: lastGood,
        clusters: clusters.map((c) => ({ name: c.name, labels: c.labels })),
        statuses: Object.fromEntries(
          [...statuses].map(([cluster, s]) => [
            cluster,
            {
              revision: s.attemptedRevision || s.appliedRevision,
              digest: s.desiredDigest,
              phase: s.phase,
              updatedAt: Date.parse(s.receivedAt),
            },
          ]),
        ),
        rollouts: previous.rollouts,
        now: now(),
      }),
    );

    const { renders, bundles } = await this.#renderPlanned(
      spec,
      mirror,
      head,
      headRevision,
      resolved,
      planned,
      clusters,
      chart,
      project,
    );
    // The plan sees only the project's clusters; one outside it that ran this fleet (the
    // project or its labels changed) leaves the fleet like any cluster no stage selects.
    if (clusters !== registered) {
      const allowed = new Set(clusters.map((c) => c.name));
      for (const c of registered)
        if (!allowed.has(c.name)) renders.push({ cluster: c.name, unmatched: true });
    }
    const outcome = concludePass({
      fleet: name,
      previous,
      fetched,
      head: headOutcome,
      pinProblems: pins.problems,
      planned,
      renders,
      apply: resolved.apply,
      chartVersions: chart.versions,
      pinnedRevisions: resolved.stages.flatMap((s) => (s.revision ? [s.revision] : [])),
      now: now(),
    });
    // Bundles first, all at once: an agent told of a digest must find its bundle. Desired state
    // is written per cluster key (one Redis Cluster slot each), so it cannot share the commit's
    // script: the lease is renewed right before instead, and a newer holder's next pass rewrites
    // whatever a holder that lost its lease in between wrote.
    await inSpan('fleet.deliver', { 'gitfleet.clusters': outcome.deliveries.length }, async () => {
      await lease.check();
      await this.#deps.desired.putBundles(bundles);
      await this.#deps.desired.setMany(name, outcome.deliveries);
    });
    return this.#commit(name, lease, outcome);
  }

  /** Fetches the branch, also when this replica's mirror lacks the head another replica fetched. */
  async #fetch(
    mirror: GitMirror,
    spec: FleetSpec,
    previous: FleetState,
    doFetch: boolean,
  ): Promise<PassInput['fetched']> {
    if (!doFetch && previous.head && (await mirror.head(spec.branch)) === previous.head) {
      return { ok: true, head: previous.head };
    }
    try {
      const head = await inSpan('fleet.fetch', { 'gitfleet.repo': spec.repo }, () =>
        mirror.fetch(spec.branch),
      );
      return { ok: true, head };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /**
   * Renders what each planned cluster should run. Clusters render side by side: a chart renders
   * in a subprocess, and the renderer bounds how many run at once; results keep plan order so
   * errors read the same each pass.
   */
  async #renderPlanned(
    spec: FleetSpec,
    mirror: GitMirror,
    head: string,
    headRevision: Revision,
    resolved: FleetPolicy,
    planned: Plan,
    clusters: RenderCluster[],
    chart: ChartContext,
    project: Project | undefined,
  ): Promise<{ renders: RenderOutcome[]; bundles: { digest: string; encode: () => Uint8Array }[] }> {
    const byName = new Map(clusters.map((c) => [c.name, c]));
    const revisions = new Map<string, Promise<Revision>>();
    const revisionOf = (commit: string): Promise<Revision> => {
      if (commit === head) return Promise.resolve(headRevision);
      let r = revisions.get(commit);
      if (!r) {
        r = this.#read(mirror, spec, commit, resolved);
        revisions.set(commit, r);
      }
      return r;
    };
    const bundles = new Map<string, Bundle>();
    const renders = await Promise.all(
      planned.clusters.map(async (cp): Promise<RenderOutcome | null> => {
        const cluster = byName.get(cp.cluster);
        if (!cluster) return null;
        if (cp.reason === 'unmatched') return { cluster: cp.cluster, unmatched: true };
        if (cp.reason === 'conflict' || !cp.revision || !cp.stage) return null;
        const where = (e: Problem) => ({
          ...e,
          message: `cluster ${cluster.name}, revision ${cp.revision?.slice(0, 7)}: ${e.message}`,
        });
        const revision = await revisionOf(cp.revision);
        // A pinned commit can hold what the head no longer does (a symlink, an oversized file):
        // render nothing from it rather than a bundle with files missing.
        if (revision.problems.length > 0)
          return { cluster: cp.cluster, problems: revision.problems.map(where) };
        const rendered = await this.#render(
          spec,
          revision,
          sourcePolicy(resolved, revision),
          cp.stage,
          cluster,
          chart,
          project,
        );
        if (!rendered.ok) return { cluster: cp.cluster, problems: rendered.errors.map(where) };
        bundles.set(rendered.bundle.digest, rendered.bundle);
        return {
          cluster: cp.cluster,
          stage: cp.stage,
          revision: cp.revision,
          digest: rendered.bundle.digest,
        };
      }),
    );
    return {
      renders: renders.filter((r): r is RenderOutcome => r !== null),
      bundles: [...bundles.values()].map((b) => ({ digest: b.digest, encode: () => bundleBytes(b) })),
    };
  }

  /** Writes the pass's state and publishes its events, under the lease (FleetStore.commit). */
  async #commit(name: string, lease: Lease, outcome: PassOutcome): Promise<FleetState> {
    const now = new Date();
    const encoded = outcome.events.map((e) => encodeEvent(e, now));
    // Published and recorded through the commit (FleetStore.commit).
    const written = await this.#deps.store.commit(
      name,
      lease.token,
      outcome.state,
      encoded,
      this.#deps.events,
    );
    if (!written) throw new LeaseLost(name);
    return outcome.state;
  }

  /**
   * Reads fleet.yaml at `commit` and the manifests of the policy `inForce` (which decides the
   * directory, also for a pinned older commit whose own fleet.yaml may differ).
   */
  async #read(mirror: GitMirror, spec: FleetSpec, commit: string, inForce?: FleetPolicy): Promise<Revision> {
    const base = normaliseFleetPath(spec.path);
    // The API refuses such paths; a fleet stored before it did must not reach outside either.
    if (base === null) {
      const error = problem(
        'InvalidFleetPath',
        spec.path,
        undefined,
        "the fleet path must be a directory inside the repository (no '..'); recreate the fleet with a path such as deploy/shop",
      );
      return {
        commit,
        base: spec.path,
        mirror,
        policyFile: `${spec.path}/fleet.yaml`,
        treeId: null,
        policy: { ok: false, errors: [error] },
        files: [],
        problems: [],
      };
    }
    const policyFile = base ? `${base}/fleet.yaml` : 'fleet.yaml';
    const treeId = await mirror.treeId(commit, base);
    const policyKey = `${spec.repo}\0${base}\0${treeId ?? commit}`;
    let policy = treeId ? this.#policies.get(policyKey) : undefined;
    if (!policy) {
      const read = await mirror.readText(commit, policyFile, this.#limits.maxFileBytes);
      policy =
        read === null
          ? {
              ok: false,
              errors: [
                {
                  code: 'PolicyNotFound',
                  file: policyFile,
                  message: `${policyFile}: not found at ${commit.slice(0, 7)}; the fleet's path must hold a fleet.yaml`,
                },
              ],
            }
          : read.ok
            ? parsePolicy(read.text, policyFile)
            : { ok: false, errors: [read.problem] };
      if (treeId) remember(this.#policies, policyKey, policy);
    }
    // Only the manifests source is read file by file; charts and overlays are written out whole.
    const governing = inForce ?? (policy.ok ? policy.policy : undefined);
    const dirName = governing?.source === 'manifests' ? governing.manifests : undefined;
    let contents: DirContents = { files: [], problems: [] };
    if (dirName !== undefined) {
      const dir = [base, dirName.replace(/^\.\/?/, '')].filter(Boolean).join('/');
      const filesKey = `${policyKey}\0${dir}`;
      const cached = treeId ? this.#files.get(filesKey) : undefined;
      contents =
        cached ?? (await mirror.readDir(commit, dir, { include: isManifestFile, limits: this.#limits }));
      if (treeId && !cached) remember(this.#files, filesKey, contents);
    }
    return {
      commit,
      base,
      mirror,
      policyFile,
      treeId,
      policy,
      files: contents.files,
      problems: contents.problems,
    };
  }

  /**
   * Renders (revision, stage, cluster) and holds the result to the fleet's project, if any.
   * The project is checked after the render caches: a project changes without a commit, and
   * the next pass must see it.
   */
  async #render(
    spec: FleetSpec,
    revision: Revision,
    policy: FleetPolicy,
    stage: string,
    cluster: RenderCluster,
    chart: ChartContext,
    project: Project | undefined,
  ): Promise<ReturnType<typeof renderBundle>> {
    const result = await this.#renderSource(spec, revision, policy, stage, cluster, chart);
    if (!project || !result.ok) return result;
    const key = JSON.stringify([
      project.name,
      project.namespaces,
      project.clusterScoped,
      project.deniedKinds,
      revision.policyFile,
      result.bundle.digest,
    ]);
    let refused = this.#refused.get(key);
    if (!refused) {
      refused = objectProblems(project, result.bundle.objects, revision.policyFile);
      remember(this.#refused, key, refused, 20_000);
    }
    return refused.length > 0 ? { ok: false, errors: refused } : result;
  }

  /**
   * Renders (revision, stage, cluster), remembering the result: status reports re-plan a
   * fleet often, and its bundles only change with the commit, the policy or the labels.
   */
  async #renderSource(
    spec: FleetSpec,
    revision: Revision,
    policy: FleetPolicy,
    stage: string,
    cluster: RenderCluster,
    chart: ChartContext,
  ): Promise<ReturnType<typeof renderBundle>> {
    if (policy.source !== 'manifests') {
      const result = await this.#deps.renderer.render(
        {
          fleet: spec.name,
          commit: revision.commit,
          base: revision.base,
          treeId: revision.treeId,
          files: [],
          mirror: revision.mirror,
        },
        policy,
        stage,
        cluster,
        { credentials: chart.credentials, version: chart.versions[revision.commit] },
      );
      // A range resolves once per commit: every replica and every later pass renders that
      // commit with the same chart version.
      if (result.chartVersion && !chart.versions[revision.commit])
        chart.versions[revision.commit] = result.chartVersion;
      return result;
    }
    const key = JSON.stringify([
      revision.commit,
      revision.treeId,
      stage,
      cluster.name,
      cluster.labels,
      policy.substitute,
      policy.manifests,
    ]);
    const cached = this.#rendered.get(key);
    if (cached) return cached;
    const result = renderBundle({ files: revision.files, policy, stage, cluster, revision: revision.commit });
    remember(this.#rendered, key, result, 20_000);
    return result;
  }

  /**
   * A revision is good when its files can all be read, its policy parses, it renders for every
   * cluster following it, and it does not drop every cluster the fleet runs on by accident.
   */
  async #validate(
    spec: FleetSpec,
    revision: Revision,
    clusters: RenderCluster[],
    previousPolicy: FleetPolicy | null,
    chart: ChartContext,
    project: Project | undefined,
  ): Promise<Problem[]> {
    if (!revision.policy.ok) return [...revision.problems, ...revision.policy.errors];
    if (revision.problems.length > 0) return revision.problems;
    const policy = revision.policy.policy;
    const dropped = dropsEveryCluster(policy, previousPolicy, clusters, revision.policyFile);
    if (dropped) return [dropped];
    const missing = unknownTargets(policy, await this.#deps.notificationTargets.names(), revision.policyFile);
    if (missing.length > 0) return missing;
    const { stageOf } = assignStages(policy, clusters);
    const followers = policy.stages.filter((s) => !s.revision).map((s) => s.name);
    const targets = clusters.filter((c) => followers.includes(stageOf[c.name] ?? ''));
    const problems: Problem[] = [];
    const probe = targets.length > 0 ? targets : [{ name: 'validation', labels: {} }];
    const results = await Promise.all(
      probe.map((cluster) => {
        const stage = stageOf[cluster.name] ?? followers[0] ?? policy.stages[0]?.name;
        // Through the render cache: delivering the same revision to these clusters reuses it.
        return stage ? this.#render(spec, revision, policy, stage, cluster, chart, project) : null;
      }),
    );
    for (const result of results) {
      if (result && !result.ok) {
        // Without clusters, label variables cannot be resolved: only structural errors count.
        const relevant =
          targets.length > 0 ? result.errors : result.errors.filter((e) => e.code !== 'UnknownVariable');
        for (const e of relevant) if (!problems.some((p) => p.message === e.message)) problems.push(e);
      }
    }
    return problems;
  }

  /** The fleet's project, read once per pass: a project changed meanwhile applies from the next one. */
  async #projectOf(spec: FleetSpec, policyFile: string): Promise<InProject> {
    if (spec.project === undefined) return { ok: true, project: undefined };
    const project = await this.#deps.projects.find(spec.project);
    if (project) return { ok: true, project };
    return {
      ok: false,
      problem: problem(
        'ProjectNotFound',
        policyFile,
        undefined,
        `the fleet is in project ${spec.project}, which does not exist; create project ${spec.project}, or move the fleet to another project. Until then it deploys nothing new`,
      ),
    };
  }

  /** Abbreviated pins become full commit ids (the planner compares revisions exactly). */
  async #resolvePins(
    mirror: GitMirror,
    policy: FleetPolicy,
  ): Promise<{ policy: FleetPolicy; problems: Problem[] }> {
    const stages = [];
    const problems: Problem[] = [];
    for (const stage of policy.stages) {
      if (!stage.revision || stage.revision.length === 40) {
        stages.push(stage);
        continue;
      }
      try {
        const full = await git.expandOid({ fs, gitdir: mirror.dir, oid: stage.revision });
        stages.push({ ...stage, revision: full });
      } catch {
        problems.push({
          code: 'RevisionNotFound',
          file: 'fleet.yaml',
          message: `stage ${stage.name}: revision ${stage.revision} is not a commit of the branch; fix the pin`,
        });
        stages.push(stage);
      }
    }
    return { policy: { ...policy, stages }, problems };
  }
}

/**
 * The policy to render a commit with: the one in force (stages, selectors, rollouts), with the
 * commit's own source when it deploys a chart or an overlay. Values live in fleet.yaml, so a
 * pinned stage runs the values of its commit: a values change reaches it by promotion, like
 * any other change. (Manifests keep the directory of the policy in force, as they always did.)
 */
function sourcePolicy(inForce: FleetPolicy, revision: Revision): FleetPolicy {
  const own = revision.policy.ok ? revision.policy.policy : null;
  if (!own || own.source === 'manifests') return inForce;
  return {
    ...inForce,
    source: own.source,
    helm: own.helm,
    kustomize: own.kustomize,
    overrides: own.overrides,
    stages: inForce.stages.map((stage) => {
      const mine = own.stages.find((s) => s.name === stage.name);
      const { values: _v, kustomizePath: _k, ...rest } = stage;
      return {
        ...rest,
        ...(mine?.values ? { values: mine.values } : {}),
        ...(mine?.kustomizePath ? { kustomizePath: mine.kustomizePath } : {}),
      };
    }),
  };
}

/** A bounded cache: a long-lived control plane must not keep every revision it ever saw. */
function remember<T>(cache: Map<string, T>, key: string, value: T, limit = 256): void {
  if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}
