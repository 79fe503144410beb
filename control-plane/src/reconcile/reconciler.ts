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
import git from 'isomorphic-git';
import type { Logger } from 'pino';
import type { Events } from '../events.ts';
import { problem } from '../fleet/errors.ts';
import {
  assignStages,
  type Bundle,
  dropsEveryCluster,
  encodeBundle,
  type FleetPolicy,
  isManifestFile,
  type ManifestFile,
  type Plan,
  type Problem,
  parsePolicy,
  plan,
  type RolloutState,
  renderBundle,
} from '../fleet/index.ts';
import {
  DEFAULT_READ_LIMITS,
  type DirContents,
  GitMirror,
  mirrorId,
  type ReadLimits,
  type RepoCredentials,
} from '../git/mirror.ts';
import type { ClusterRegistry } from '../registry/clusters.ts';
import type { ChartCredentials } from '../render/helm.ts';
import type { RenderCluster, SourceRenderer } from '../render/renderer.ts';
import type { StatusIngestion } from '../status/ingest.ts';
import type { DesiredEntry, DesiredStateStore } from '../store/desired.ts';
import { inSpan } from '../telemetry.ts';
import type { FleetSpec, FleetState, FleetStore } from './fleet-store.ts';

export interface ReconcilerDeps {
  store: FleetStore;
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
}

/** What a Helm fleet's render needs beyond Git: the registry's credentials and the versions resolved. */
type ChartContext = { credentials: ChartCredentials; versions: Record<string, string> };

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

  /** Reconciles one fleet; `fetch: false` re-plans from the last fetched head (status changes). */
  sync(name: string, options: { fetch: boolean }): Promise<FleetState> {
    const running = this.#running.get(name);
    if (running) {
      this.#again.set(name, (this.#again.get(name) ?? false) || options.fetch);
      return running;
    }
    const pass = (async () => {
      try {
        const pass = (fetch: boolean) =>
          inSpan('fleet.reconcile', { 'gitfleet.fleet': name, 'gitfleet.fetch': fetch }, () =>
            this.#reconcile(name, fetch),
          );
        let state = await pass(options.fetch);
        while (this.#again.has(name)) {
          const fetch = this.#again.get(name) ?? false;
          this.#again.delete(name);
          state = await pass(fetch);
        }
        return state;
      } finally {
        this.#running.delete(name);
      }
    })();
    this.#running.set(name, pass);
    return pass;
  }

  async syncAll(options: { fetch: boolean }): Promise<void> {
    const names = await this.#deps.store.names();
    await Promise.all(names.map((n) => this.sync(n, options).catch(() => undefined)));
  }

  async #reconcile(name: string, doFetch: boolean): Promise<FleetState> {
    const { spec, state: previous } = await this.#deps.store.get(name);
    const state: FleetState = { ...previous, planErrors: [] };
    const mirror = this.mirror(spec, await this.#deps.store.credentials(name));

    // 1. fetch; also when this replica's mirror lacks the head another replica fetched (it
    // never fetched this fleet, or not since): a re-plan reads the head's files from it.
    if (doFetch || !state.head || (await mirror.head(spec.branch)) !== state.head) {
      try {
        state.head = await inSpan('fleet.fetch', { 'gitfleet.repo': spec.repo }, () =>
          mirror.fetch(spec.branch),
        );
        state.fetchError = null;
      } catch (err) {
        state.fetchError = (err as Error).message;
        await this.#deps.store.saveState(name, state);
        await this.#deps.events.publish({ type: 'FleetError', fleet: name, reason: state.fetchError });
        return state;
      }
    }
    const head = state.head;
    if (!head) return state;

    // 2. read + 3. validate the head; a bad head leaves the last good revision in force
    const clusters = await this.#deps.registry.list();
    const headRevision = await inSpan('fleet.read', { 'gitfleet.revision': head }, () =>
      this.#read(mirror, spec, head),
    );
    const chart: ChartContext = {
      credentials: await this.#deps.store.chartCredentials(name),
      versions: { ...previous.chartVersions },
    };
    const headErrors = await this.#validate(
      spec,
      headRevision,
      clusters,
      previous.lastGoodRevision ? previous.policy : null,
      chart,
    );
    const headChanged = head !== previous.head || headErrors.length !== previous.errors.length;
    state.errors = headErrors;
    if (headErrors.length === 0 && headRevision.policy.ok) {
      state.lastGoodRevision = head;
      state.policy = headRevision.policy.policy;
    }
    if (headErrors.length > 0 && headChanged) {
      await this.#deps.events.publish({
        type: 'FleetError',
        fleet: name,
        revision: head,
        reason: headErrors.map((e) => e.message).join('; '),
      });
    }
    const policy = state.policy;
    if (!policy || !state.lastGoodRevision) {
      await this.#deps.store.saveState(name, { ...state, lastSyncAt: new Date().toISOString() });
      return state;
    }

    // 4. plan
    const resolved = await this.#resolvePins(mirror, policy, state);
    const lastGood = state.lastGoodRevision;
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
        rollouts: state.rollouts,
        now: Date.now(),
      }),
    );
    state.planErrors.push(...planned.errors);

    // 5. render + 6. deliver: render what each cluster should run, then write every change in
    // one round trip (a fleet may hold ten thousand clusters).
    const byName = new Map(clusters.map((c) => [c.name, c]));
    const deliveries: { cluster: string; entry: DesiredEntry | null }[] = [];
    const bundles: { digest: string; encode: () => Uint8Array }[] = [];
    // Clusters render side by side: a chart renders in a subprocess, and the renderer bounds
    // how many run at once; results are taken in plan order so errors read the same each pass.
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
    type Outcome = { problems?: Problem[]; delivery?: (typeof deliveries)[number]; bundle?: Bundle };
    const outcomes = await Promise.all(
      planned.clusters.map(async (cp): Promise<Outcome> => {
        const cluster = byName.get(cp.cluster);
        if (!cluster) return {};
        if (cp.reason === 'unmatched') return { delivery: { cluster: cp.cluster, entry: null } };
        if (cp.reason === 'conflict' || !cp.revision || !cp.stage) return {};
        const where = (e: Problem) => ({
          ...e,
          message: `cluster ${cluster.name}, revision ${cp.revision?.slice(0, 7)}: ${e.message}`,
        });
        const revision = await revisionOf(cp.revision);
        // A pinned commit can hold what the head no longer does (a symlink, an oversized file):
        // render nothing from it rather than a bundle with files missing.
        if (revision.problems.length > 0) return { problems: revision.problems.map(where) };
        const rendered = await this.#render(
          spec,
          revision,
          sourcePolicy(resolved, revision),
          cp.stage,
          cluster,
          chart,
        );
        if (!rendered.ok) return { problems: rendered.errors.map(where) };
        const bundle = rendered.bundle;
        return {
          bundle,
          delivery: {
            cluster: cp.cluster,
            entry: {
              fleet: name,
              stage: cp.stage,
              revision: cp.revision,
              digest: bundle.digest,
              apply: resolved.apply,
            },
          },
        };
      }),
    );
    for (const o of outcomes) {
      if (o.problems) state.planErrors.push(...o.problems);
      if (o.delivery) deliveries.push(o.delivery);
      if (o.bundle) {
        const bundle = o.bundle;
        bundles.push({ digest: bundle.digest, encode: () => encodeBundle(bundle) });
      }
    }
    // Bundles first, all at once: an agent told of a digest must find its bundle.
    await inSpan('fleet.deliver', { 'gitfleet.clusters': deliveries.length }, async () => {
      await this.#deps.desired.putBundles(bundles);
      await this.#deps.desired.setMany(name, deliveries);
    });

    // 7. save state and tell people what the rollouts did
    const rollouts: Record<string, RolloutState | undefined> = {};
    for (const stage of planned.stages) {
      rollouts[stage.name] = stage.rollout;
      await this.#publishRollout(name, stage.name, previous.rollouts[stage.name], stage.rollout);
    }
    state.rollouts = rollouts;
    state.chartVersions = keepRecent(chart.versions, [
      head,
      lastGood,
      ...resolved.stages.map((s) => s.revision),
      ...Object.values(rollouts).flatMap((r) => [r?.revision, r?.previousRevision]),
    ]);
    state.lastSyncAt = new Date().toISOString();
    await this.#deps.store.saveState(name, state);
    if (headChanged && headErrors.length === 0) {
      await this.#deps.events.publish({ type: 'FleetSynced', fleet: name, revision: head });
    }
    return state;
  }

  /**
   * Reads fleet.yaml at `commit` and the manifests of the policy `inForce` (which decides the
   * directory, also for a pinned older commit whose own fleet.yaml may differ).
   */
  async #read(mirror: GitMirror, spec: FleetSpec, commit: string, inForce?: FleetPolicy): Promise<Revision> {
    const base = spec.path.replace(/^\.?\/?/, '').replace(/\/$/, '');
    const policyFile = base ? `${base}/fleet.yaml` : 'fleet.yaml';
    // The API refuses such paths; a fleet stored before it did must not reach outside either.
    if (base.startsWith('/') || base.split('/').includes('..')) {
      const error = problem(
        'InvalidFleetPath',
        spec.path,
        undefined,
        "the fleet path must be a directory inside the repository (no leading '/', no '..'); recreate the fleet with a path such as deploy/shop",
      );
      return {
        commit,
        base,
        mirror,
        policyFile,
        treeId: null,
        policy: { ok: false, errors: [error] },
        files: [],
        problems: [],
      };
    }
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
   * Renders (revision, stage, cluster), remembering the result: status reports re-plan a
   * fleet often, and its bundles only change with the commit, the policy or the labels.
   */
  async #render(
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
  ): Promise<Problem[]> {
    if (!revision.policy.ok) return [...revision.problems, ...revision.policy.errors];
    if (revision.problems.length > 0) return revision.problems;
    const policy = revision.policy.policy;
    const dropped = dropsEveryCluster(policy, previousPolicy, clusters, revision.policyFile);
    if (dropped) return [dropped];
    const { stageOf } = assignStages(policy, clusters);
    const followers = policy.stages.filter((s) => !s.revision).map((s) => s.name);
    const targets = clusters.filter((c) => followers.includes(stageOf[c.name] ?? ''));
    const problems: Problem[] = [];
    const probe = targets.length > 0 ? targets : [{ name: 'validation', labels: {} }];
    const results = await Promise.all(
      probe.map((cluster) => {
        const stage = stageOf[cluster.name] ?? followers[0] ?? policy.stages[0]?.name;
        // Through the render cache: delivering the same revision to these clusters reuses it.
        return stage ? this.#render(spec, revision, policy, stage, cluster, chart) : null;
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

  /** Abbreviated pins become full commit ids (the planner compares revisions exactly). */
  async #resolvePins(mirror: GitMirror, policy: FleetPolicy, state: FleetState): Promise<FleetPolicy> {
    const stages = [];
    for (const stage of policy.stages) {
      if (!stage.revision || stage.revision.length === 40) {
        stages.push(stage);
        continue;
      }
      try {
        const full = await git.expandOid({ fs, gitdir: mirror.dir, oid: stage.revision });
        stages.push({ ...stage, revision: full });
      } catch {
        state.planErrors.push({
          code: 'RevisionNotFound',
          file: 'fleet.yaml',
          message: `stage ${stage.name}: revision ${stage.revision} is not a commit of the branch; fix the pin`,
        });
        stages.push(stage);
      }
    }
    return { ...policy, stages };
  }

  async #publishRollout(
    fleet: string,
    stage: string,
    before: RolloutState | undefined,
    after: RolloutState,
  ): Promise<void> {
    if (
      before &&
      before.revision === after.revision &&
      before.state === after.state &&
      before.currentWave === after.currentWave
    ) {
      return;
    }
    const type =
      after.state === 'halted'
        ? 'RolloutHalted'
        : after.state === 'complete'
          ? 'RolloutComplete'
          : 'RolloutProgressed';
    await this.#deps.events.publish({
      type,
      fleet,
      stage,
      revision: after.revision,
      reason: after.reason ?? `wave ${after.currentWave + 1} of ${after.waves.length}`,
    });
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

/**
 * The chart versions to keep: those of the commits in use (head, pins, rollouts), then the most
 * recently recorded up to a bound, so a rollback to an older commit renders the chart it ran.
 */
function keepRecent(
  versions: Record<string, string>,
  inUse: (string | undefined | null)[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of inUse) if (c && versions[c]) out[c] = versions[c];
  for (const [c, v] of Object.entries(versions).reverse()) {
    if (Object.keys(out).length >= 100) break;
    out[c] ??= v;
  }
  return out;
}

/** A bounded cache: a long-lived control plane must not keep every revision it ever saw. */
function remember<T>(cache: Map<string, T>, key: string, value: T, limit = 256): void {
  if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}
