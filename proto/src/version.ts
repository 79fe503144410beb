// gitfleet's version, one for every package, chart and image. The root package.json holds it
// and nothing else does by hand: scripts/set-version.ts writes the copies that cannot read it
// when they run (charts, workspace manifests, the lockfile) and scripts/version.test.ts fails
// when one disagrees. Imported rather than read from disk, so that the agent's bundle carries
// it and no path has to exist beside the bundle at run time.
import root from '../../package.json' with { type: 'json' };

export const GITFLEET_VERSION: string = root.version;
