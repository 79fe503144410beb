// CI checks for the protocol contract, run with `npm run proto:check`:
//   1. buf lint
//   2. buf breaking against the contract of the latest release, the buf image in releases/
//      that scripts/set-version.ts records when a version is cut. Comparing with a branch
//      would compare main with itself on main; a release is what deployed agents speak.
//   3. the committed generated code in gen/ is what `buf generate` produces now
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { latestRelease } from './releases.ts';

const protoDir = new URL('..', import.meta.url).pathname;

function run(cmd: string, args: string[]): void {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: protoDir, stdio: 'inherit' });
}

run('buf', ['lint']);

const latest = latestRelease(join(protoDir, 'releases'));
if (!latest) {
  // No silent pass: without a released contract there is nothing the check could refuse.
  console.error(
    'buf breaking: no released contract in proto/releases (node scripts/set-version.ts records one)',
  );
  process.exit(1);
}
run('buf', ['breaking', '--against', relative(protoDir, latest)]);

const out = mkdtempSync(join(tmpdir(), 'gitfleet-proto-'));
try {
  run('buf', ['generate', '--output', out]);
  const file = 'gen/gitfleet/v1/agent.ts';
  const fresh = readFileSync(join(out, file), 'utf8');
  const committed = readFileSync(join(protoDir, file), 'utf8');
  if (fresh !== committed) {
    console.error(`${file} is stale: run \`npm run generate\` and commit the result`);
    process.exit(1);
  }
  console.log('generated code is up to date');
} finally {
  rmSync(out, { recursive: true, force: true });
}
