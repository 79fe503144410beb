// A fleet is registered with the directory of its fleet.yaml in its repository. Whoever reads
// that directory (the API taking it, the reconciler reading fleet.yaml and the manifests,
// promotions committing to fleet.yaml) goes through normaliseFleetPath, so they all mean the
// same directory and refuse the same paths.

/**
 * The fleet path as Git names a directory: no leading or trailing '/', no empty or '.'
 * segments; '' is the repository's root. Null when it has a '..' segment: resolved, one could
 * reach outside the repository, and no fleet needs one.
 */
export function normaliseFleetPath(path: string): string | null {
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  return segments.includes('..') ? null : segments.join('/');
}
