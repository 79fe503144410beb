// The README's first command, as a new user runs it: `make up` runs scripts/quickstart.ts,
// which must bring up the control plane, local clusters with agents and the example fleet,
// Ready everywhere, and print how to reach it. --once makes it stop by itself afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('the quick start brings up a working fleet and stops cleanly', async () => {
  const script = new URL('../../scripts/quickstart.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, '--once', '--clusters', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /gitfleet is running/);
  assert.match(out, /cluster +dev-1 \{"env":"dev"\}/);
  assert.match(out, /cluster +prod-1 \{"env":"prod"\}/);
  assert.match(out, /REST API +http:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /stopping everything/);
});
