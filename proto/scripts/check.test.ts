// `npm run proto:check` has to be able to fail: run on a copy of proto/, it passes with the
// contract as it is and refuses a change that breaks the latest release's contract.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { latestRelease } from './releases.ts';

const protoDir = new URL('..', import.meta.url).pathname;
// buf and the ts-proto plugin come from npm (@bufbuild/buf, ts-proto), as `npm run` finds them.
const bin = new URL('../../node_modules/.bin', import.meta.url).pathname;
const PROTO_FILE = 'gitfleet/v1/agent.proto';

function check(dir: string): { code: number | null; output: string } {
  const result = spawnSync(process.execPath, [join(dir, 'scripts/check.ts')], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` },
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('proto:check', () => {
  let work: string;
  const copy = (name: string): string => {
    const dir = join(work, name);
    cpSync(protoDir, dir, {
      recursive: true,
      filter: (src) => !/[\\/](node_modules|\.turbo)$/.test(src),
    });
    return dir;
  };
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'gitfleet-proto-check-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('passes on the contract as it is', () => {
    const { code, output } = check(copy('same'));
    assert.equal(code, 0, output);
    assert.match(output, /buf breaking --against releases\/v[^ ]+\.binpb/);
  });

  it("fails when a field's number changes, with buf's reason", () => {
    const dir = copy('renumbered');
    const file = join(dir, PROTO_FILE);
    const source = readFileSync(file, 'utf8');
    const changed = source.replace(/(message AgentInfo \{[^}]*?string version = )1;/, '$199;');
    assert.notEqual(changed, source, 'AgentInfo.version = 1 is in the contract');
    writeFileSync(file, changed);
    const { code, output } = check(dir);
    assert.notEqual(code, 0, output);
    assert.match(
      output,
      /Previously present field "1" with name "version" on message "AgentInfo" was deleted/,
    );
  });

  it('fails without a released contract to compare against', () => {
    const dir = copy('unreleased');
    rmSync(join(dir, 'releases'), { recursive: true });
    const { code, output } = check(dir);
    assert.equal(code, 1, output);
    assert.match(output, /no released contract in proto\/releases/);
  });

  it('compares against the highest version', () => {
    const dir = join(work, 'order');
    cpSync(join(protoDir, 'releases'), dir, { recursive: true });
    for (const name of [
      'v0.9.0.binpb',
      'v0.10.0-rc.2.binpb',
      'v0.10.0-rc.10.binpb',
      'v0.2.0.binpb',
      'notes.txt',
    ]) {
      writeFileSync(join(dir, name), '');
    }
    assert.equal(latestRelease(dir), join(dir, 'v0.10.0-rc.10.binpb'));
    writeFileSync(join(dir, 'v0.10.0.binpb'), '');
    assert.equal(latestRelease(dir), join(dir, 'v0.10.0.binpb'));
  });
});
