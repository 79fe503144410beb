import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Fleet } from '../api.ts';
import { Input } from '../args.ts';
import { credentialMode, fleetDetail } from './fleet.ts';

const flags = (values: Record<string, string | boolean>) => new Input([], values);

describe('credentialMode (fleet create)', () => {
  it('reads a password or a token from stdin, or nothing', () => {
    assert.deepEqual(credentialMode(flags({})), { kind: 'none' });
    assert.deepEqual(credentialMode(flags({ username: 'git', 'password-stdin': true })), {
      kind: 'password',
      username: 'git',
    });
    assert.deepEqual(credentialMode(flags({ 'token-stdin': true })), { kind: 'token' });
  });

  it('refuses combinations that make no sense', () => {
    assert.throws(() => credentialMode(flags({ 'password-stdin': true })), { message: /needs --username/ });
    assert.throws(() => credentialMode(flags({ username: 'git' })), {
      name: 'UsageError',
      message: /--username needs --password-stdin/,
    });
    assert.throws(
      () => credentialMode(flags({ username: 'git', 'password-stdin': true, 'token-stdin': true })),
      {
        message: /not both/,
      },
    );
    assert.throws(() => credentialMode(flags({ username: 'git', 'token-stdin': true })), {
      message: /--username goes with --password-stdin/,
    });
  });
});

describe('fleetDetail', () => {
  const fleet: Fleet = {
    name: 'shop',
    repo: 'https://git.example.com/shop.git',
    branch: 'main',
    path: '.',
    project: null,
    pollIntervalSeconds: 60,
    source: 'manifests',
    chartVersion: null,
    conditions: [],
    policy: null,
    createdAt: '2026-01-02T11:00:00Z',
    head: 'aaaaaaa111',
    lastGoodRevision: 'bbbbbbb222',
    lastSyncAt: '2026-01-02T11:59:00Z',
    fetchError: null,
    errors: [{ code: 'BadYaml', file: 'manifests/x.yaml', message: 'manifests/x.yaml:3: bad indentation' }],
    stages: [
      {
        name: 'dev',
        follows: 'head',
        revision: 'bbbbbbb222',
        requires: null,
        clusters: 2,
        phases: { Ready: 2 },
        rollout: null,
      },
      {
        name: 'prod',
        follows: 'pinned',
        revision: 'ccccccc333',
        requires: 'dev',
        clusters: 3,
        phases: { Ready: 1, Progressing: 2 },
        rollout: {
          state: 'halted',
          revision: 'ccccccc333',
          wave: 1,
          waves: 2,
          waveClusters: [],
          reason: 'prod-1 is Failed',
        },
      },
    ],
  };

  it('shows revisions short, errors, and a stage table', () => {
    const text = fleetDetail(fleet, Date.parse('2026-01-02T12:00:00Z'));
    assert.match(text, /^Name: +shop$/m);
    assert.match(text, /^Head: +aaaaaaa$/m);
    assert.match(text, /^Last good: +bbbbbbb$/m);
    assert.match(text, /\(1m ago\)/);
    assert.match(text, /^Errors: +manifests\/x\.yaml:3: bad indentation$/m);
    assert.match(text, /^ {2}STAGE +FOLLOWS +REVISION +REQUIRES +CLUSTERS +PHASES +ROLLOUT$/m);
    assert.match(
      text,
      /^ {2}prod +pinned +ccccccc +dev +3 +Ready=1 Progressing=2 +halted ccccccc: prod-1 is Failed$/m,
    );
  });
});
