// Rendering a fleet's source for one cluster, whatever the source: plain manifests (pure, in
// process), a Helm chart or a Kustomize overlay (the real tools, as subprocesses). Each
// distinct input is rendered once: a render key names everything the output depends on, so
// ten thousand clusters with equal values and capabilities share one `helm template`, and a
// chart that calls randAlphaNum gives one stable output until its inputs change. Tool runs
// are bounded in number (concurrency), time and memory.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path/posix';
import { GITFLEET_VERSION } from '@gitfleet/proto';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../fleet/bundle.ts';
import { problem } from '../fleet/errors.ts';
import {
  clusterScopedCrds,
  helmObject,
  helmProblem,
  helmRenderKey,
  missingDependencies,
  splitHelmOutput,
} from '../fleet/helm.ts';
import {
  type FleetPolicy,
  type ManifestFile,
  makeBundle,
  type Problem,
  renderBundle,
} from '../fleet/index.ts';
import { bundleFromRendered, type RenderResult, variableResolver } from '../fleet/render.ts';
import { substitute } from '../fleet/substitute.ts';
import {
  mergeValues,
  substituteValues,
  type Values,
  type ValuesLayer,
  valuesLayers,
} from '../fleet/values.ts';
import type { GitMirror, ReadLimits } from '../git/mirror.ts';
import { type ChartCredentials, type HelmError, HelmTool, redactSecret } from './helm.ts';
import { buildKustomization, checkKustomization } from './kustomize.ts';
import type { SharedRenderCache } from './shared-cache.ts';
import { DEFAULT_TOOL_LIMITS, type ToolLimits } from './tool.ts';

export type RenderCluster = {
  name: string;
  labels: Record<string, string>;
  kubernetesVersion?: string | null;
  /** Names the cluster's served API versions (Cluster.apiVersionsDigest); null: unknown. */
  apiVersionsDigest?: string | null;
};

/** One commit of one fleet, as read from Git. */
export type SourceRevision = {
  fleet: string;
  commit: string;
  /** The fleet directory in the repository ('' = root). */
  base: string;
  /** Tree id of the fleet directory: names its whole content. */
  treeId: string | null;
  /** The manifests source's files (other sources read their trees themselves). */
  files: ManifestFile[];
  mirror: GitMirror;
};

export type RendererOptions = {
  helmPath: string;
  kubectlPath: string;
  /** Where charts and trees written out of Git are kept. */
  workDir: string;
  limits?: ToolLimits;
  readLimits: ReadLimits;
  /** Tool runs at once across all fleets of this replica. */
  concurrency?: number;
  /** The list an apiVersionsDigest names (ClusterRegistry.capabilities). */
  capabilities?: (digest: string) => Promise<readonly string[]>;
  /** Results shared with the other replicas; without it each replica renders on its own. */
  shared?: SharedRenderCache;
};

type Prepared =
  | {
      ok: true;
      chart: string;
      chartName: string;
      chartVersion: string;
      digest: string;
      display: (p: string) => string;
      files: ValuesLayer[];
    }
  | { ok: false; errors: Problem[] };

type Tree = { ok: true; root: string } | { ok: false; errors: Problem[] };

const TRANSIENT = new Set(['RenderLimit', 'HelmUnavailable']);

/**
 * Counts for /metrics and the benchmark: tool runs, and the renders the caches saved (this
 * replica's, and the one shared by every replica).
 */
export type RenderStats = {
  helmTemplates: number;
  kustomizeBuilds: number;
  cacheHits: number;
  sharedHits: number;
};

type BuiltYaml = { ok: true; yaml: string } | { ok: false; errors: Problem[] };

// Part of every shared key: another version of gitfleet may post-process tool output otherwise.
const SHARED_KEY_VERSION = `gitfleet/${GITFLEET_VERSION}`;

export class SourceRenderer {
  readonly #options: RendererOptions;
  readonly #limits: ToolLimits;
  readonly #helm: HelmTool;
  readonly #slots: Semaphore;
  // Results by render key, and the promise of a render in flight so a burst asks once.
  readonly #results = new Map<string, Promise<RenderResult>>();
  readonly #prepared = new Map<string, Promise<Prepared>>();
  readonly #trees = new Map<string, Promise<Tree>>();
  readonly stats: RenderStats = { helmTemplates: 0, kustomizeBuilds: 0, cacheHits: 0, sharedHits: 0 };

  constructor(options: RendererOptions) {
    this.#options = options;
    this.#limits = options.limits ?? DEFAULT_TOOL_LIMITS;
    this.#helm = new HelmTool({
      helmPath: options.helmPath,
      cacheDir: join(options.workDir, 'helm'),
      limits: this.#limits,
    });
    this.#slots = new Semaphore(options.concurrency ?? 2);
  }

  /**
   * Renders what `cluster` of `stage` runs at `revision` under `policy`. `chart` carries the
   * fleet's chart credentials and the version an earlier pass resolved for this commit.
   */
  async render(
    revision: SourceRevision,
    policy: FleetPolicy,
    stage: string,
    cluster: RenderCluster,
    chart: { credentials: ChartCredentials; version?: string | undefined },
  ): Promise<RenderResult & { chartVersion?: string }> {
    if (policy.source === 'manifests') {
      return renderBundle({ files: revision.files, policy, stage, cluster, revision: revision.commit });
    }
    if (policy.source === 'kustomize') return this.#renderKustomize(revision, policy, stage, cluster);
    return this.#renderHelm(revision, policy, stage, cluster, chart);
  }

  async #renderHelm(
    revision: SourceRevision,
    policy: FleetPolicy,
    stageName: string,
    cluster: RenderCluster,
    chartOptions: { credentials: ChartCredentials; version?: string | undefined },
  ): Promise<RenderResult & { chartVersion?: string }> {
    const helm = policy.helm!;
    const stage = policy.stages.find((s) => s.name === stageName)!;
    const prepared = await this.#prepare(revision, policy, chartOptions);
    if (!prepared.ok) return prepared;
    const resolve = variableResolver({ policy, stage: stageName, cluster, revision: revision.commit });
    const errors: Problem[] = [];
    let values: Values = {};
    for (const layer of valuesLayers(policy, stage, cluster, prepared.files)) {
      const sub = substituteValues(
        layer,
        resolve,
        layer.source.startsWith('fleet.yaml') ? join(revision.base, 'fleet.yaml') : layer.source,
      );
      if (!sub.ok) errors.push(...sub.errors);
      else values = mergeValues(values, sub.values);
    }
    const namespaceSub = substitute(helm.namespace ?? 'default', (n) => resolve(n).value);
    if (namespaceSub.unresolved.length > 0) {
      errors.push(
        problem(
          'UnknownVariable',
          join(revision.base, 'fleet.yaml'),
          undefined,
          `helm.namespace: cannot substitute \${${namespaceSub.unresolved[0]!.name}}: ${resolve(namespaceSub.unresolved[0]!.name).why}`,
        ),
      );
    }
    if (errors.length > 0) return { ok: false, errors };
    const inputs = {
      chartDigest: prepared.digest,
      releaseName: helm.releaseName ?? revision.fleet.slice(0, 53).replace(/-+$/, ''),
      namespace: namespaceSub.text,
      values,
      kubeVersion: cluster.kubernetesVersion ?? '',
      apiVersions: cluster.apiVersionsDigest ?? '',
    };
    const key = `helm\0${helmRenderKey(inputs)}\0${policy.apply.allowEmpty}`;
    const result = await this.#once(key, async () => {
      this.stats.helmTemplates++;
      let yaml: string;
      try {
        const apiVersions =
          inputs.apiVersions && this.#options.capabilities
            ? await this.#options.capabilities(inputs.apiVersions)
            : [];
        yaml = await this.#slots.run(() =>
          this.#helm.template({ ...inputs, apiVersions, chart: prepared.chart }),
        );
      } catch (err) {
        const e = err as HelmError;
        const p =
          e.code === 'TemplateFailed'
            ? helmProblem(
                e.message,
                prepared.display,
                prepared.display(`${prepared.chartName}/Chart.yaml`),
                prepared.chartName,
              )
            : problem(
                e.code ?? 'HelmError',
                prepared.display(`${prepared.chartName}/Chart.yaml`),
                undefined,
                e.message,
              );
        return { ok: false, errors: [p] };
      }
      const rendered = bundleFromRendered({
        files: splitHelmOutput(yaml, prepared.display),
        allowEmpty: true,
        emptyFile: '',
        emptyWhat: '',
      });
      if (!rendered.ok) return rendered;
      const scoped = clusterScopedCrds(rendered.bundle.objects);
      const objects = rendered.bundle.objects
        .map((o) => helmObject(o, inputs.namespace, scoped))
        .filter((o): o is NonNullable<typeof o> => o !== null);
      const ns = inputs.namespace;
      if (
        helm.createNamespace &&
        objects.length > 0 &&
        ns !== 'default' &&
        !objects.some((o) => o.kind === 'Namespace' && o.apiVersion === 'v1' && o.metadata.name === ns)
      ) {
        objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      }
      if (objects.length === 0 && !policy.apply.allowEmpty) {
        return {
          ok: false,
          errors: [
            problem(
              'EmptyBundle',
              prepared.display(`${prepared.chartName}/Chart.yaml`),
              undefined,
              `the chart rendered no objects for cluster '${cluster.name}' (stage ${stageName}); applying that would prune everything this fleet deployed. Check the values, or set \`apply: { allowEmpty: true }\``,
            ),
          ],
        };
      }
      return { ok: true, bundle: makeBundle(objects) };
    });
    return { ...result, chartVersion: prepared.chartVersion };
  }

  /**
   * Fetches the dependencies a chart in Git declares but does not vendor in charts/. Returns
   * the digest of what was fetched (part of the render key: a range may resolve anew on
   * another replica), '' when the chart holds all it needs.
   */
  async #dependencies(
    chartDir: string,
    chartPath: string,
    plainHttp: boolean | undefined,
    credentials: ChartCredentials,
  ): Promise<{ ok: true; digest: string } | { ok: false; errors: Problem[] }> {
    const chartYaml = await readFile(join(chartDir, 'Chart.yaml'), 'utf8').catch(() => '');
    const entries = await readdir(join(chartDir, 'charts')).catch(() => [] as string[]);
    const missing = missingDependencies(chartYaml, entries);
    if (missing.length === 0) return { ok: true, digest: '' };
    try {
      await this.#slots.run(() =>
        this.#helm.buildDependencies(chartDir, credentials, {
          plainHttp: plainHttp ?? false,
          what: chartPath,
          repositories: missing.map((d) => d.repository),
        }),
      );
    } catch (err) {
      const e = err as HelmError;
      return {
        ok: false,
        errors: [problem(e.code ?? 'HelmError', join(chartPath, 'Chart.yaml'), undefined, e.message)],
      };
    }
    const hash = createHash('sha256');
    for (const name of (await readdir(join(chartDir, 'charts'))).sort()) {
      if (!name.endsWith('.tgz')) continue;
      hash.update(name).update(await readFile(join(chartDir, 'charts', name)));
    }
    return { ok: true, digest: `deps:sha256:${hash.digest('hex')}` };
  }

  /** The chart of a commit, in a form `helm template` reads, and the values files beside it. */
  #prepare(
    revision: SourceRevision,
    policy: FleetPolicy,
    chartOptions: { credentials: ChartCredentials; version?: string | undefined },
  ): Promise<Prepared> {
    const helm = policy.helm!;
    const key = JSON.stringify([
      revision.fleet,
      revision.commit,
      revision.treeId,
      helm.chart,
      helm.valuesFiles,
      chartOptions.version ?? helm.version ?? null,
    ]);
    return this.#memo(
      this.#prepared,
      key,
      64,
      async (): Promise<Prepared> => {
        const files: ValuesLayer[] = [];
        const errors: Problem[] = [];
        for (const path of helm.valuesFiles) {
          const repoPath = join(revision.base, path);
          const read = await revision.mirror.readText(
            revision.commit,
            repoPath,
            this.#options.readLimits.maxFileBytes,
          );
          if (read === null) {
            errors.push(
              problem(
                'ValuesFileNotFound',
                repoPath,
                undefined,
                `helm.valuesFiles names this file, but it does not exist at ${revision.commit.slice(0, 7)}`,
              ),
            );
          } else if (!read.ok) errors.push(read.problem);
          else {
            const parsed = parseValuesFile(repoPath, read.text);
            if (parsed.ok) files.push({ source: repoPath, values: parsed.values });
            else errors.push(parsed.problem);
          }
        }
        if (helm.chart.kind === 'path') {
          const chartPath = join(revision.base, helm.chart.path);
          const tree = await this.#tree(revision);
          if (!tree.ok) return { ok: false, errors: [...errors, ...tree.errors] };
          const chartDir = join(tree.root, chartPath);
          const chartTree = await revision.mirror.treeId(revision.commit, chartPath);
          if (!chartTree) {
            return {
              ok: false,
              errors: [
                ...errors,
                problem(
                  'ChartNotFound',
                  chartPath,
                  undefined,
                  `helm.chart names this directory, but it does not exist at ${revision.commit.slice(0, 7)}`,
                ),
              ],
            };
          }
          let meta: { name: string; version: string };
          try {
            meta = await this.#slots.run(() => this.#helm.metadata(chartDir));
          } catch (err) {
            return {
              ok: false,
              errors: [
                ...errors,
                problem(
                  'InvalidChart',
                  join(chartPath, 'Chart.yaml'),
                  undefined,
                  `not a Helm chart: ${(err as Error).message.replace(/^Error: /, '').trim()}`,
                ),
              ],
            };
          }
          if (errors.length > 0) return { ok: false, errors };
          const deps = await this.#dependencies(
            chartDir,
            chartPath,
            helm.plainHttp,
            chartOptions.credentials,
          );
          if (!deps.ok) return deps;
          // Templates name themselves <chart name>/templates/…; people know them by their path in Git.
          const display = (source: string) =>
            source.startsWith(`${meta.name}/`) ? join(chartPath, source.slice(meta.name.length + 1)) : source;
          return {
            ok: true,
            chart: chartDir,
            chartName: meta.name,
            chartVersion: meta.version,
            digest: deps.digest ? `git:${chartTree}+${deps.digest}` : `git:${chartTree}`,
            display,
            files,
          };
        }
        if (errors.length > 0) return { ok: false, errors };
        const where =
          helm.chart.kind === 'repo' ? `${helm.chart.repo} ${helm.chart.name}` : helm.chart.reference;
        try {
          const pulled = await this.#slots.run(() =>
            this.#helm.pull(
              helm.chart as Exclude<typeof helm.chart, { kind: 'path' }>,
              chartOptions.version ?? helm.version,
              chartOptions.credentials,
              {
                plainHttp: helm.plainHttp,
              },
            ),
          );
          const display = (source: string) =>
            `${where}@${pulled.version}: ${source.startsWith(`${pulled.name}/`) ? source.slice(pulled.name.length + 1) : source}`;
          return {
            ok: true,
            chart: pulled.archive,
            chartName: pulled.name,
            chartVersion: pulled.version,
            digest: pulled.digest,
            display,
            files,
          };
        } catch (err) {
          const e = err as HelmError;
          return {
            ok: false,
            errors: [
              problem(
                e.code ?? 'HelmError',
                join(revision.base, 'fleet.yaml'),
                undefined,
                redactSecret(e.message, chartOptions.credentials.password),
              ),
            ],
          };
        }
      },
      (p) => p.ok,
    );
  }

  async #renderKustomize(
    revision: SourceRevision,
    policy: FleetPolicy,
    stageName: string,
    cluster: RenderCluster,
  ): Promise<RenderResult> {
    const stage = policy.stages.find((s) => s.name === stageName)!;
    const overlayPath = join(revision.base, stage.kustomizePath ?? policy.kustomize!.path);
    const key = JSON.stringify([
      'kustomize',
      revision.fleet,
      revision.treeId ?? revision.commit,
      overlayPath,
    ]);
    const built = await this.#memo(
      this.#built,
      key,
      256,
      () =>
        this.#viaShared(
          key,
          () => this.#build(revision, overlayPath),
          (r) => r.ok,
        ),
      (r) => r.ok,
    );
    if (!built.ok) return built;
    // Variables are substituted into the built output per cluster, as Flux's post-build does.
    return renderBundle({
      files: [{ path: `${overlayPath}/kustomization.yaml`, content: built.yaml }],
      policy,
      stage: stageName,
      cluster,
      revision: revision.commit,
      raw: true,
    });
  }

  readonly #built = new Map<string, Promise<BuiltYaml>>();

  async #build(revision: SourceRevision, overlayPath: string): Promise<BuiltYaml> {
    const tree = await this.#tree(revision);
    if (!tree.ok) return tree;
    const display = (p: string) =>
      p.startsWith(`${tree.root}/`) ? p.slice(tree.root.length + 1) : p === tree.root ? '.' : p;
    const fleetRoot = join(tree.root, revision.base);
    const problems = await checkKustomization(fleetRoot, join(tree.root, overlayPath), display);
    if (problems.length > 0) return { ok: false, errors: problems };
    this.stats.kustomizeBuilds++;
    const result = await this.#slots.run(() =>
      buildKustomization(
        this.#options.kubectlPath,
        tree.root,
        join(tree.root, overlayPath),
        this.#limits,
        display,
      ),
    );
    return result.ok ? result : { ok: false, errors: [result.problem] };
  }

  /** The fleet directory at a commit, written out of Git once per tree id. */
  #tree(revision: SourceRevision): Promise<Tree> {
    const key = `${revision.fleet}\0${revision.treeId ?? revision.commit}`;
    return this.#memo(
      this.#trees,
      key,
      16,
      async (): Promise<Tree> => {
        const root = join(
          this.#options.workDir,
          'trees',
          (revision.treeId ?? revision.commit).slice(0, 40),
          revision.fleet,
        );
        await rm(root, { recursive: true, force: true });
        await mkdir(root, { recursive: true });
        const problems = await revision.mirror.exportTree(
          revision.commit,
          revision.base,
          root,
          this.#options.readLimits,
        );
        return problems.length > 0 ? { ok: false, errors: problems } : { ok: true, root };
      },
      (t) => t.ok,
    );
  }

  #once(key: string, render: () => Promise<RenderResult>): Promise<RenderResult> {
    const cached = this.#results.get(key);
    if (cached) {
      this.stats.cacheHits++;
      return cached;
    }
    // Failed renders are kept too: the same inputs fail the same way, and a broken chart must
    // not run helm again for every cluster and every status report. Not a render cut short by
    // its limits, or a missing helm: those may pass the next time.
    const keep = (r: { ok: boolean; errors?: Problem[] }) =>
      r.ok || !r.errors?.some((e) => TRANSIENT.has(e.code));
    return this.#memo(
      this.#results,
      key,
      4096,
      async (): Promise<RenderResult> => {
        const stored = await this.#viaShared(key, async () => storedResult(await render()), keep);
        return stored.ok ? { ok: true, bundle: makeBundle(stored.objects) } : stored;
      },
      keep,
    );
  }

  /** `render`'s result through the replicas' shared cache, when there is one. */
  async #viaShared<T>(key: string, render: () => Promise<T>, keep: (v: T) => boolean): Promise<T> {
    const shared = this.#options.shared;
    if (!shared) return render();
    const got = await shared.getOrRender(`${SHARED_KEY_VERSION}\0${key}`, render, keep);
    if (got.from === 'shared') this.stats.sharedHits++;
    return got.value;
  }

  /** A bounded promise cache; results `keep` rejects are dropped once settled (a retry may succeed). */
  #memo<T>(
    cache: Map<string, Promise<T>>,
    key: string,
    limit: number,
    make: () => Promise<T>,
    keep: (v: T) => boolean,
  ): Promise<T> {
    const hit = cache.get(key);
    if (hit) return hit;
    const promise = make().then(
      (v) => {
        if (!keep(v)) cache.delete(key);
        return v;
      },
      (err) => {
        cache.delete(key);
        throw err;
      },
    );
    if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
    cache.set(key, promise);
    return promise;
  }
}

type StoredResult = { ok: true; objects: KubeObject[] } | { ok: false; errors: Problem[] };

/** What the shared cache keeps of a render: the objects (the digest is computed again on read). */
function storedResult(result: RenderResult): StoredResult {
  return result.ok ? { ok: true, objects: result.bundle.objects } : result;
}

function parseValuesFile(
  path: string,
  text: string,
): { ok: true; values: Values } | { ok: false; problem: Problem } {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { prettyErrors: false, lineCounter: lines });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      const err = doc.errors[0]!;
      return {
        ok: false,
        problem: problem(
          'YamlSyntax',
          path,
          lines.linePos(err.pos[0]).line,
          `values file is not valid YAML: ${err.message}`,
        ),
      };
    }
  }
  const value = list[0]?.toJS() ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      problem: problem('InvalidValues', path, undefined, 'a values file must hold a mapping of values'),
    };
  }
  return { ok: true, values: value as Values };
}

/** At most `n` tool runs at once; the rest wait their turn in order. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = Math.max(1, n);
  }
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
