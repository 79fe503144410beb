// CI checks for the protocol contract, run with `npm run proto:check`:
//   1. buf lint
//   2. buf breaking against the main branch (skipped only when main has no proto/ yet)
//   3. the committed generated code in gen/ is what `buf generate` produces now
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const protoDir = new URL('..', import.meta.url).pathname;

function run(cmd: string, args: string[]): void {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: protoDir, stdio: 'inherit' });
}

function mainHasProto(): boolean {
  try {
    execFileSync('git', ['cat-file', '-e', 'main:proto/buf.yaml'], { cwd: protoDir, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

run('buf', ['lint']);

if (mainHasProto()) {
  const gitDir = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: protoDir }).toString().trim();
  run('buf', ['breaking', '--against', `${join(gitDir, '.git')}#branch=main,subdir=proto`]);
} else {
  console.log('buf breaking: main has no proto/ yet, nothing to compare against');
}

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
