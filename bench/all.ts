// `npm run bench`: every scenario, one after the other, each in a process of its own (they
// start servers and child processes and must not share a heap or an event loop). Arguments
// are passed to each, e.g. `npm run bench -- --quick` for small N on a busy machine.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const SCENARIOS = [
  'apply',
  'ingest',
  'fanout',
  'reconnect',
  'agent-footprint',
  'git',
  'helm-fanout',
  'dashboard',
];
const args = process.argv.slice(2);
const failed: string[] = [];
for (const scenario of SCENARIOS) {
  console.log(`\n===== ${scenario} =====`);
  const run = spawnSync(process.execPath, [join(import.meta.dirname, `${scenario}.ts`), ...args], {
    stdio: 'inherit',
  });
  if (run.status !== 0) failed.push(`${scenario} (${run.signal ?? `exit code ${run.status}`})`);
}
if (failed.length) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
