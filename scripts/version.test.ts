// One version for the whole project: every place that carries it literally states the root
// package.json's, the running code reads that one, and the contract of that version is recorded.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AGENT_VERSION } from '../agent/src/agent.ts';
import { CLI_VERSION } from '../cli/src/commands/version.ts';
import { releaseImage } from '../proto/scripts/releases.ts';
import { GITFLEET_VERSION } from '../proto/src/version.ts';
import { places, ROOT, SEMVER, sourceVersion, writeVersion } from './set-version.ts';

const version = sourceVersion();

describe('the version', () => {
  it('is a version a chart and an image tag accept', () => {
    assert.match(version, SEMVER);
  });

  for (const place of places()) {
    it(`${place.file} states it`, () => {
      const found = place.read(readFileSync(join(ROOT, place.file), 'utf8'));
      assert.ok(found.length > 0, `${place.file} states no version: update scripts/set-version.ts`);
      for (const v of found) {
        assert.equal(v, version, `${place.file} says ${v}: run \`node scripts/set-version.ts ${version}\``);
      }
    });
  }

  it('is what the control plane, the agent and the CLI report', () => {
    assert.equal(GITFLEET_VERSION, version);
    assert.equal(AGENT_VERSION, version);
    assert.equal(CLI_VERSION, version);
  });

  it("has its protocol contract recorded for proto:check's breaking check", () => {
    const image = join(ROOT, 'proto', 'releases', releaseImage(version));
    assert.ok(existsSync(image), `${image} is missing: run \`node scripts/set-version.ts ${version}\``);
  });

  it('set-version rewrites only the versions, in every place', () => {
    const work = mkdtempSync(join(tmpdir(), 'gitfleet-version-'));
    try {
      const files = places().map((p) => p.file);
      for (const file of files) {
        cpSync(join(ROOT, file), join(work, file));
      }
      const before = new Map(files.map((f) => [f, readFileSync(join(work, f), 'utf8')]));
      assert.deepEqual(writeVersion('12.3.4-rc.1', work).sort(), [...files].sort());
      for (const place of places(work)) {
        const found = place.read(readFileSync(join(work, place.file), 'utf8'));
        assert.ok(found.length > 0, place.file);
        for (const v of found) assert.equal(v, '12.3.4-rc.1', place.file);
      }
      // Back to the current version: byte for byte what was there.
      writeVersion(version, work);
      for (const file of files) {
        assert.equal(readFileSync(join(work, file), 'utf8'), before.get(file), file);
      }
      assert.throws(() => writeVersion('1.2', work), /not a version/);
      assert.throws(() => writeVersion('1.2.3+build.5', work), /not a version/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
