// node scripts/set-version.ts <version> — cuts a gitfleet version.
//
// The root package.json's "version" is the one source: the control plane and the agent read
// it when they run (proto/src/version.ts). The places below cannot read it and carry it
// literally (Helm reads Chart.yaml, npm the manifests and the lockfile, the image tag is the
// chart's appVersion): this writes them, and scripts/version.test.ts fails when one disagrees.
// It also records the protocol contract of the new version (proto/releases/v<version>.binpb),
// which `npm run proto:check` holds every later change to.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { releaseImage } from '../proto/scripts/releases.ts';

export const ROOT = new URL('..', import.meta.url).pathname;

// A Helm chart version and an image tag both take it, so no build metadata (`+`).
export const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;

export interface Place {
  /** Relative to the repository root. */
  file: string;
  /** Every version the file states; empty when the file no longer has the expected shape. */
  read(text: string): string[];
  write(text: string, version: string): string;
}

/** A workspace manifest; only its version line changes, so its formatting stays as it is. */
function manifest(file: string): Place {
  const line = /^( {2}"version": )"[^"]*"/m;
  return {
    file,
    read: (text) => {
      const version = (JSON.parse(text) as { version?: unknown }).version;
      return typeof version === 'string' && line.test(text) ? [version] : [];
    },
    write: (text, version) => text.replace(line, `$1${JSON.stringify(version)}`),
  };
}

interface Lockfile {
  version?: string;
  packages: Record<string, { version?: string }>;
}

/** package-lock.json: its own version and each workspace's entry, as `npm install` writes them. */
function lockfile(workspaces: string[]): Place {
  const entries = ['', ...workspaces];
  return {
    file: 'package-lock.json',
    read: (text) => {
      const lock = JSON.parse(text) as Lockfile;
      return [lock.version, ...entries.map((e) => lock.packages[e]?.version)].filter(
        (v): v is string => typeof v === 'string',
      );
    },
    write: (text, version) => {
      const lock = JSON.parse(text) as Lockfile;
      lock.version = version;
      for (const e of entries) {
        const entry = lock.packages[e];
        if (entry) entry.version = version;
      }
      return `${JSON.stringify(lock, null, 2)}\n`;
    },
  };
}

/** A chart's own version and the image tag it installs by default (appVersion). */
function chart(file: string): Place {
  const version = /^version: *(\S+)$/m;
  const appVersion = /^appVersion: *"([^"\n]*)"$/m;
  return {
    file,
    read: (text) => [version.exec(text)?.[1], appVersion.exec(text)?.[1]].filter((v) => v !== undefined),
    write: (text, v) => text.replace(version, `version: ${v}`).replace(appVersion, `appVersion: "${v}"`),
  };
}

/** Every occurrence of `pattern`'s one group, e.g. an image tag in examples. */
function literal(file: string, pattern: RegExp, replacement: (v: string) => string): Place {
  const all = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
  return {
    file,
    read: (text) => [...text.matchAll(all)].map((m) => m[1] ?? ''),
    write: (text, v) => text.replace(all, replacement(v)),
  };
}

export function places(root: string = ROOT): Place[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  return [
    manifest('package.json'),
    ...workspaces.map((w) => manifest(`${w}/package.json`)),
    lockfile(workspaces),
    chart('charts/gitfleet-agent/Chart.yaml'),
    chart('charts/gitfleet-control-plane/Chart.yaml'),
    // Generated from /openapi.json, whose info.version is the source: kept in step here so that
    // its staleness test does not need `npm run docs:api` (and a Redis) for a version alone.
    literal('docs/api.md', /\(gitfleet ([^)\s]+)\)/, (v) => `(gitfleet ${v})`),
    literal('Dockerfile', /ghcr\.io\/gitfleet\/gitfleet:(\S+)/, (v) => `ghcr.io/gitfleet/gitfleet:${v}`),
  ];
}

/** The version every place must state. */
export function sourceVersion(root: string = ROOT): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Writes `version` into every place; returns the files that changed. */
export function writeVersion(version: string, root: string = ROOT): string[] {
  if (!SEMVER.test(version)) throw new Error(`not a version (MAJOR.MINOR.PATCH[-PRERELEASE]): ${version}`);
  const changed: string[] = [];
  for (const place of places(root)) {
    const path = join(root, place.file);
    const text = readFileSync(path, 'utf8');
    if (place.read(text).length === 0) {
      throw new Error(`${place.file}: no version where one is expected; update scripts/set-version.ts`);
    }
    const next = place.write(text, version);
    if (next !== text) {
      writeFileSync(path, next);
      changed.push(place.file);
    }
  }
  return changed;
}

/**
 * Records the current .proto files as the contract of `version`. An existing image is kept:
 * it is what that release's agents speak, whatever the sources say since.
 */
export function recordContract(version: string, root: string = ROOT): { image: string; created: boolean } {
  const dir = join(root, 'proto', 'releases');
  const image = join(dir, releaseImage(version));
  if (existsSync(image)) return { image, created: false };
  mkdirSync(dir, { recursive: true });
  // Without source info: comments and line numbers do not make a contract, and buf names the
  // current file's lines in its findings.
  execFileSync(join(root, 'node_modules/.bin/buf'), ['build', '--exclude-source-info', '-o', image], {
    cwd: join(root, 'proto'),
    stdio: 'inherit',
  });
  return { image, created: true };
}

if (import.meta.main) {
  const version = process.argv[2] ?? '';
  if (!SEMVER.test(version)) {
    console.error('usage: node scripts/set-version.ts MAJOR.MINOR.PATCH[-PRERELEASE]');
    process.exit(2);
  }
  for (const file of writeVersion(version)) console.log(`wrote ${file}`);
  const { image, created } = recordContract(version);
  console.log(`${created ? 'recorded' : 'kept'} the protocol contract ${relative(ROOT, image)}`);
}
