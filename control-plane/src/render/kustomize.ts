// Kustomize overlays, built by the real kustomize inside kubectl (`kubectl kustomize`), from a
// copy of the fleet's directory written out of Git. Before building, every kustomization the
// overlay reaches is read, so that a remote base or a path leaving the fleet directory is an
// error naming the file, not a network fetch or a read of the control plane's own disk.

import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path/posix';
import { parse as parseYaml } from 'yaml';
import { type Problem, problem } from '../fleet/errors.ts';
import { runTool, type ToolLimits } from './tool.ts';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

// Remote references as kustomize accepts them: URLs, scp-like git, and host/org/repo paths.
const REMOTE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@|[a-z0-9-]+(?:\.[a-z0-9-]+)+\/)|\?ref=|\/\/.*\?/i;

export function isRemoteReference(ref: string): boolean {
  return REMOTE.test(ref.trim());
}

type Found = { dir: string; file: string };

async function kustomizationIn(dir: string): Promise<Found | null> {
  for (const name of KUSTOMIZATION_FILES) {
    try {
      if ((await stat(join(dir, name))).isFile()) return { dir, file: join(dir, name) };
    } catch {
      // try the next name
    }
  }
  return null;
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Walks the kustomizations reachable from `overlay` (absolute, inside `root`) and returns the
 * problems: remote resources/bases/components, paths outside `root`, helmCharts (rendering
 * charts is the helm source's job). `display` maps a path on disk to the path in the repository.
 */
export async function checkKustomization(
  root: string,
  overlay: string,
  display: (path: string) => string,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const inside = (p: string) => {
    const rel = relative(root, p);
    return rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'));
  };
  const visit = async (dir: string, from: string | null): Promise<void> => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const found = await kustomizationIn(dir);
    if (!found) {
      problems.push(
        problem(
          'KustomizationNotFound',
          display(dir),
          undefined,
          from
            ? `${from} refers to this directory, which has no kustomization.yaml`
            : 'the kustomize path has no kustomization.yaml; point kustomize.path at the overlay directory',
        ),
      );
      return;
    }
    let doc: Record<string, unknown>;
    try {
      doc = (parseYaml(await readFile(found.file, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch (err) {
      problems.push(
        problem('YamlSyntax', display(found.file), undefined, `does not parse: ${(err as Error).message}`),
      );
      return;
    }
    const where = display(found.file);
    if (doc.helmCharts !== undefined || doc.helmChartInflationGenerator !== undefined) {
      problems.push(
        problem(
          'HelmInKustomize',
          where,
          undefined,
          'helmCharts are not rendered inside kustomize; deploy the chart with a helm: source instead',
        ),
      );
    }
    const refs = [...list(doc.resources), ...list(doc.bases), ...list(doc.components)];
    const files = [
      ...list(doc.patchesStrategicMerge),
      ...list(doc.crds),
      ...(Array.isArray(doc.patches) ? doc.patches : [])
        .map((p) => (p as { path?: unknown })?.path)
        .filter((p): p is string => typeof p === 'string'),
      ...['configMapGenerator', 'secretGenerator'].flatMap((key) =>
        (Array.isArray(doc[key]) ? (doc[key] as unknown[]) : []).flatMap((g) => {
          const gen = g as { files?: unknown; envs?: unknown; env?: unknown };
          return [
            ...list(gen?.files).map((f) => f.replace(/^[^=]*=/, '')),
            ...list(gen?.envs),
            ...(typeof gen?.env === 'string' ? [gen.env] : []),
          ];
        }),
      ),
    ];
    for (const ref of refs) {
      if (isRemoteReference(ref)) {
        problems.push(
          problem(
            'RemoteBase',
            where,
            undefined,
            `'${ref}' is a remote base; gitfleet builds only what the fleet's own repository holds: copy it into the repository (or vendor it) and refer to it by a relative path`,
          ),
        );
        continue;
      }
      const target = resolve(dir, ref);
      if (!inside(target)) {
        problems.push(
          problem(
            'OutsideFleetPath',
            where,
            undefined,
            `'${ref}' is outside the fleet path; a fleet builds only files inside its own directory`,
          ),
        );
        continue;
      }
      let isDir = false;
      try {
        isDir = (await stat(target)).isDirectory();
      } catch {
        problems.push(
          problem(
            'ResourceNotFound',
            where,
            undefined,
            `'${ref}' does not exist in the repository at this commit`,
          ),
        );
        continue;
      }
      if (isDir) await visit(target, where);
    }
    for (const file of files) {
      if (isRemoteReference(file) || !inside(resolve(dir, file))) {
        problems.push(
          problem(
            'OutsideFleetPath',
            where,
            undefined,
            `'${file}' is outside the fleet path; a fleet builds only files inside its own directory`,
          ),
        );
      }
    }
  };
  await visit(overlay, null);
  return problems;
}

/**
 * `kubectl kustomize` of an overlay already checked by checkKustomization. Git and HTTP are
 * switched off for the child as a second line: nothing it builds may come from the network.
 */
export async function buildKustomization(
  kubectlPath: string,
  root: string,
  overlay: string,
  limits: ToolLimits,
  display: (path: string) => string,
): Promise<{ ok: true; yaml: string } | { ok: false; problem: Problem }> {
  const result = await runTool(
    kubectlPath,
    ['kustomize', overlay, '--load-restrictor', 'LoadRestrictionsRootOnly'],
    {
      cwd: dirname(overlay),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: overlay,
        GIT_ALLOW_PROTOCOL: 'none',
        HTTP_PROXY: 'http://127.0.0.1:9',
        HTTPS_PROXY: 'http://127.0.0.1:9',
        NO_PROXY: '',
      },
      limits,
      name: 'kustomize build',
    },
  );
  if (result.ok) return { ok: true, yaml: result.stdout };
  // kustomize names files by their path on disk; people know them by their path in Git.
  const message = (result.reason === 'exit' ? result.stderr : result.message)
    .replace(/^Error: /gm, '')
    .replaceAll(`${root}/`, '')
    .trim();
  return {
    ok: false,
    problem: problem('KustomizeError', display(overlay), undefined, `kustomize build: ${message}`),
  };
}
