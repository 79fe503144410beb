// The real Helm (v4), run as a subprocess: `helm pull` resolves a version range and fetches a
// chart from an HTTP repository or an OCI registry, `helm template` renders it for one cluster.
// Every call gets its own empty Helm home, so nothing a user or another fleet configured (repos,
// registry logins, plugins) can change a render, and credentials never land in a shared file.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ChartLocation } from '../fleet/policy.ts';
import { runTool, type ToolLimits } from './tool.ts';

export type ChartCredentials = { username?: string | undefined; password?: string | undefined };

export type PulledChart = {
  name: string;
  version: string;
  /** sha256 of the archive Helm downloaded. */
  digest: string;
  /** The .tgz in the chart cache; `helm template` reads it as is. */
  archive: string;
};

export class HelmError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'HelmError';
    this.code = code;
  }
}

export type HelmToolOptions = {
  helmPath: string;
  /** Where pulled charts are kept, by location and exact version. */
  cacheDir: string;
  limits: ToolLimits;
};

export class HelmTool {
  readonly #options: HelmToolOptions;

  constructor(options: HelmToolOptions) {
    this.#options = options;
  }

  async #home(): Promise<{ env: Record<string, string>; dir: string }> {
    await mkdir(this.#options.cacheDir, { recursive: true });
    const dir = await mkdtemp(join(this.#options.cacheDir, 'home-'));
    return {
      dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        HELM_CACHE_HOME: join(dir, 'cache'),
        HELM_CONFIG_HOME: join(dir, 'config'),
        HELM_DATA_HOME: join(dir, 'data'),
        HELM_REGISTRY_CONFIG: join(dir, 'registry.json'),
        HELM_REPOSITORY_CONFIG: join(dir, 'repositories.yaml'),
        ...(process.env.SSL_CERT_FILE ? { SSL_CERT_FILE: process.env.SSL_CERT_FILE } : {}),
        ...(process.env.HTTPS_PROXY ? { HTTPS_PROXY: process.env.HTTPS_PROXY } : {}),
        ...(process.env.NO_PROXY ? { NO_PROXY: process.env.NO_PROXY } : {}),
      },
    };
  }

  /**
   * One helm command that reaches a repository or registry with the fleet's chart credentials;
   * a failure becomes the HelmError of fetching `what`, the password cut from Helm's words.
   */
  async #fetch(
    home: { env: Record<string, string> },
    args: string[],
    credentials: ChartCredentials,
    what: string,
    version?: string,
  ): Promise<void> {
    const withCredentials = [...args];
    if (credentials.username) withCredentials.push('--username', credentials.username);
    if (credentials.password) withCredentials.push('--password', credentials.password);
    const result = await runTool(this.#options.helmPath, withCredentials, {
      env: home.env,
      limits: this.#options.limits,
      name: `helm ${args[0]} of ${what}`,
    });
    if (!result.ok) throw pullError(what, version, redactSecret(result.message, credentials.password));
  }

  /**
   * Resolves `version` (exact, a range, or absent = the newest stable) and downloads that
   * chart, once per exact version. Throws HelmError: ChartNotFound, RepositoryUnavailable,
   * RepositoryUnauthorized, HelmError.
   */
  async pull(
    location: Exclude<ChartLocation, { kind: 'path' }>,
    version: string | undefined,
    credentials: ChartCredentials,
    options: { plainHttp?: boolean } = {},
  ): Promise<PulledChart> {
    const home = await this.#home();
    try {
      const target = join(home.dir, 'pull');
      await mkdir(target, { recursive: true });
      const args = [
        'pull',
        location.kind === 'repo' ? location.name : location.reference,
        '--destination',
        target,
      ];
      if (location.kind === 'repo') args.push('--repo', location.repo);
      if (version) args.push('--version', version);
      if (options.plainHttp && location.kind === 'oci') args.push('--plain-http');
      const what =
        location.kind === 'repo'
          ? `chart '${location.name}' from ${location.repo}`
          : `chart ${location.reference}`;
      await this.#fetch(home, args, credentials, what, version);
      const [file] = await readdir(target);
      if (!file) throw new HelmError('HelmError', `helm pull of ${what} wrote no chart`);
      const bytes = await readFile(join(target, file));
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const { name, version: exact } = await chartMetadata(this.#options, home.env, join(target, file));
      const dir = join(this.#options.cacheDir, 'charts');
      await mkdir(dir, { recursive: true });
      const archive = join(dir, `${digest.slice('sha256:'.length)}.tgz`);
      await rename(join(target, file), archive);
      return { name, version: exact, digest, archive };
    } finally {
      await rm(home.dir, { recursive: true, force: true });
    }
  }

  /**
   * `helm dependency build` of a chart directory: fetches what Chart.yaml (and Chart.lock,
   * when present) names into its charts/. The fleet's chart credentials go to each
   * repository. Throws HelmError like pull.
   */
  async buildDependencies(
    chartDir: string,
    credentials: ChartCredentials,
    options: { plainHttp?: boolean; what: string; repositories: readonly string[] },
  ): Promise<void> {
    const home = await this.#home();
    try {
      // `dependency build` resolves only repositories the Helm home knows (and has an index
      // of); the home is empty, so each HTTP repository a dependency names is added first.
      const httpRepos = [...new Set(options.repositories.filter((r) => /^https?:\/\//.test(r)))];
      for (const [i, url] of httpRepos.entries()) {
        await this.#fetch(
          home,
          ['repo', 'add', `dependency-${i}`, url],
          credentials,
          `the dependency repository ${url} of ${options.what}`,
        );
      }
      // OCI registries are not added but logged in to: the login lands in this home's
      // registry config, which `dependency build` reads, and goes with the home.
      if (credentials.username || credentials.password) {
        for (const host of ociHosts(options.repositories)) {
          const login = ['registry', 'login', host];
          if (options.plainHttp) login.push('--plain-http');
          await this.#fetch(home, login, credentials, `the dependency registry ${host} of ${options.what}`);
        }
      }
      const args = ['dependency', 'build', chartDir];
      if (options.plainHttp) args.push('--plain-http');
      await this.#fetch(home, args, credentials, `the dependencies of ${options.what}`);
    } finally {
      await rm(home.dir, { recursive: true, force: true });
    }
  }

  /**
   * `helm template` of a chart (a directory or an archive) for one cluster. Returns the
   * rendered YAML or throws HelmError 'TemplateFailed' with Helm's own words.
   */
  async template(input: {
    chart: string;
    releaseName: string;
    namespace: string;
    values: Record<string, unknown>;
    kubeVersion: string;
    apiVersions: readonly string[];
  }): Promise<string> {
    const home = await this.#home();
    try {
      const valuesFile = join(home.dir, 'values.json');
      // JSON is YAML: the merged values reach Helm with exactly the types fleet.yaml gave them.
      await writeFile(valuesFile, JSON.stringify(input.values));
      const args = [
        'template',
        input.releaseName,
        input.chart,
        '--namespace',
        input.namespace,
        '--values',
        valuesFile,
        '--include-crds',
        '--skip-tests',
      ];
      if (input.kubeVersion) args.push('--kube-version', input.kubeVersion);
      // One flag each: a joined list of a big cluster passes the kernel's limit for one argument.
      for (const v of input.apiVersions) args.push('--api-versions', v);
      const result = await runTool(this.#options.helmPath, args, {
        env: home.env,
        limits: this.#options.limits,
        name: 'helm template',
      });
      if (!result.ok) {
        throw new HelmError(
          result.reason === 'exit'
            ? 'TemplateFailed'
            : result.reason === 'spawn'
              ? 'HelmUnavailable'
              : 'RenderLimit',
          result.reason === 'exit' ? result.stderr : result.message,
        );
      }
      return result.stdout;
    } finally {
      await rm(home.dir, { recursive: true, force: true });
    }
  }

  /** The chart's name and version from its Chart.yaml (a directory or an archive). */
  async metadata(chart: string): Promise<{ name: string; version: string }> {
    const home = await this.#home();
    try {
      return await chartMetadata(this.#options, home.env, chart);
    } finally {
      await rm(home.dir, { recursive: true, force: true });
    }
  }

  /** A unique scratch directory under the cache, for a chart written out of Git. */
  async scratch(): Promise<string> {
    const dir = join(this.#options.cacheDir, 'trees', randomBytes(8).toString('hex'));
    await mkdir(dir, { recursive: true });
    return dir;
  }
}

async function chartMetadata(
  options: HelmToolOptions,
  env: Record<string, string>,
  chart: string,
): Promise<{ name: string; version: string }> {
  const shown = await runTool(options.helmPath, ['show', 'chart', chart], {
    env,
    limits: options.limits,
    name: 'helm show chart',
  });
  if (!shown.ok) throw new HelmError('InvalidChart', shown.message);
  const meta = parseYaml(shown.stdout) as { name?: unknown; version?: unknown } | null;
  if (typeof meta?.name !== 'string' || typeof meta.version !== 'string') {
    throw new HelmError('InvalidChart', 'Chart.yaml has no name or version');
  }
  return { name: meta.name, version: meta.version };
}

/** The registry hosts of the oci:// repositories a chart's dependencies name, each once. */
export function ociHosts(repositories: readonly string[]): string[] {
  const hosts = repositories.flatMap((r) => {
    const m = /^oci:\/\/([^/]+)/.exec(r);
    return m ? [m[1] as string] : [];
  });
  return [...new Set(hosts)];
}

export function pullError(what: string, version: string | undefined, message: string): HelmError {
  const text = message.replace(/^Error: /gm, '').trim();
  // Status codes as whole words only: a port in a URL (127.0.0.1:40307) is not a 403.
  const at = version ? ` (version ${version})` : '';
  if (/\b(401|403)\b|unauthorized|authentication required|denied/i.test(text)) {
    return new HelmError(
      'RepositoryUnauthorized',
      `${what}${at}: the repository refused the credentials: ${text}; give the fleet the right chartCredentials (recreate it with them)`,
    );
  }
  if (
    /not found|no chart version|no chart name|\b404\b|could not find|invalid_reference|manifest unknown/i.test(
      text,
    )
  ) {
    return new HelmError(
      'ChartNotFound',
      `${what}${at} does not exist: ${text}; check helm.chart and helm.version in fleet.yaml`,
    );
  }
  if (
    /connection refused|no such host|timeout|i\/o timeout|EOF|did not finish|\b(500|502|503)\b/i.test(text)
  ) {
    return new HelmError(
      'RepositoryUnavailable',
      `${what}${at}: the repository cannot be reached: ${text}; the fleet keeps its last good revision and retries on the next sync`,
    );
  }
  return new HelmError('HelmError', `${what}${at}: ${text}`);
}

/** Helm quotes neither credentials nor URLs with them as a rule, but a message must never carry one. */
export function redactSecret(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text;
}
