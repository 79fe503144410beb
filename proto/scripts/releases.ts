// The released contracts: one buf image per version in proto/releases, written when a version
// is cut (scripts/set-version.ts) and compared against by `npm run proto:check`.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const RELEASES_DIR = new URL('../releases', import.meta.url).pathname;

/** The image file of one version, relative to its releases directory. */
export function releaseImage(version: string): string {
  return `v${version}.binpb`;
}

/** The image of the highest version in `dir`, by semver precedence; undefined when there is none. */
export function latestRelease(dir: string = RELEASES_DIR): string | undefined {
  if (!existsSync(dir)) return undefined;
  const releases = readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const m = /^v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?\.binpb$/.exec(entry.name);
    return entry.isFile() && m ? [{ name: entry.name, core: [m[1], m[2], m[3]].map(Number), pre: m[4] }] : [];
  });
  releases.sort((a, b) => {
    for (let i = 0; i < 3; i++) {
      const d = (a.core[i] ?? 0) - (b.core[i] ?? 0);
      if (d !== 0) return d;
    }
    // A pre-release sorts before the release it leads to.
    if (a.pre === undefined || b.pre === undefined) return a.pre === b.pre ? 0 : a.pre === undefined ? 1 : -1;
    return a.pre.localeCompare(b.pre, 'en', { numeric: true });
  });
  const latest = releases.at(-1);
  return latest && join(dir, latest.name);
}
