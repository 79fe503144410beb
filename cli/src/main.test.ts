// The command line end to end in-process, for what needs no server: help, usage errors and
// their exit codes, not being logged in.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { main } from './main.ts';

async function run(
  argv: string[],
  env: NodeJS.ProcessEnv = { GITFLEET_CONFIG: '/nonexistent/gitfleet.json' },
) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), stdin: Readable.from([]) };
  const code = await main(argv, io, env);
  return { code, out: out.join(''), err: err.join('') };
}

describe('gitfleet', () => {
  it('documents the exit codes in --help', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const line of [
      /^ {2}0 +success/m,
      /^ {2}1 +the API refused/m,
      /^ {2}2 +usage error/m,
      /^ {2}3 +cannot reach/m,
      /^ {2}4 +rollout halted/m,
      /^ {2}5 +timed out/m,
    ]) {
      assert.match(r.out, line);
    }
    assert.equal((await run(['help'])).code, 0);
  });

  it('has help for every group and command', async () => {
    for (const argv of [
      ['cluster', '--help'],
      ['help', 'fleet'],
      ['fleet', 'create', '-h'],
      ['promote', '--help'],
      ['events', '--help'],
      ['cluster', 'label', '--help'],
    ]) {
      const r = await run(argv);
      assert.equal(r.code, 0, argv.join(' '));
      assert.match(r.out, /^Usage: gitfleet /, argv.join(' '));
    }
    assert.match((await run(['promote', '--help'])).out, /--timeout DURATION/);
  });

  it('exits 2 on usage errors, pointing at the help to read', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^Usage: gitfleet COMMAND/],
      [['cluster'], /needs a command/],
      [['nope'], /unknown command "nope"\nSee 'gitfleet --help'/],
      [['cluster', 'list', '--wat'], /Unknown option '--wat'[\s\S]*See 'gitfleet cluster list --help'/],
      [['cluster', 'register'], /missing NAME/],
      [['cluster', 'label', 'a', 'oops'], /key=value to set a label or key- to remove one/],
      [['promote', 'shop', 'prod', '--timeout', '5m'], /--timeout and --interval go with --wait/],
      [['promote', 'shop', 'prod', '--wait', '--timeout', '10'], /is not a duration/],
      [['fleet', 'create', 'shop'], /--repo URL/],
      [
        ['fleet', 'create', 'shop', '--repo', 'https://x', '--username', 'u'],
        /--username needs --password-stdin/,
      ],
      [['cluster', 'list', '-o', 'wide'], /-o wide: use one of table, json, yaml/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, message, argv.join(' '));
      assert.equal(r.out, '', argv.join(' '));
    }
  });

  it('exits 3 when not logged in', async () => {
    const r = await run(['cluster', 'list']);
    assert.equal(r.code, 3);
    assert.match(r.err, /^error: not logged in .*gitfleet login --server URL --token TOKEN/);
  });

  it('prints its version without a server', async () => {
    const r = await run(['version', '-o', 'json']);
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.out).server, null);
    assert.match((await run(['--version'])).out, /^gitfleet \d+\.\d+\.\d+\n$/);
  });
});
