import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CommandSpec,
  commandHelp,
  type Group,
  groupHelp,
  parseInput,
  resolve,
  rootHelp,
} from './args.ts';

const noop = async () => 0;
const list: CommandSpec = {
  name: 'cluster list',
  summary: 'List clusters',
  usage: '[-l SELECTOR]',
  options: { selector: { type: 'string', short: 'l', value: 'SELECTOR', description: 'label selector' } },
  minArgs: 0,
  maxArgs: 0,
  run: noop,
};
const register: CommandSpec = {
  name: 'cluster register',
  summary: 'Register a cluster',
  usage: 'NAME [-l key=value ...]',
  options: { label: { type: 'string', short: 'l', multiple: true, description: 'a label' } },
  minArgs: 1,
  maxArgs: 1,
  run: noop,
};
const promote: CommandSpec = {
  name: 'promote',
  summary: 'Promote',
  usage: 'FLEET STAGE [--wait]',
  options: { wait: { type: 'boolean', description: 'wait' } },
  minArgs: 2,
  maxArgs: 2,
  run: noop,
};
const cluster: Group = { name: 'cluster', summary: 'Clusters', commands: [register, list] };
const tree = [cluster, promote];

describe('resolve', () => {
  it('finds commands and groups by their words', () => {
    const r = resolve(['cluster', 'list', '-l', 'env=prod'], tree);
    assert.equal(r.kind, 'command');
    assert.equal(r.kind === 'command' && r.command, list);
    assert.deepEqual(r.rest, ['-l', 'env=prod']);
    const p = resolve(['promote', 'shop', 'prod', '--wait'], tree);
    assert.equal(p.kind === 'command' && p.command, promote);
    assert.deepEqual(p.rest, ['shop', 'prod', '--wait']);
    assert.equal(resolve(['cluster'], tree).kind, 'group');
    assert.equal(resolve([], tree).kind, 'root');
  });

  it('lets global options come before the command, with their values', () => {
    const r = resolve(['--server', 'http://x', '-o', 'json', 'cluster', '--token', 't', 'list'], tree);
    assert.equal(r.kind === 'command' && r.command, list);
    assert.deepEqual(r.rest, ['--server', 'http://x', '-o', 'json', '--token', 't']);
  });

  it('notices --help anywhere and --version before a command', () => {
    const r = resolve(['cluster', 'register', '--help'], tree);
    assert.ok(r.kind === 'command' && r.help);
    assert.ok(resolve(['cluster', '-h'], tree).help);
    const v = resolve(['--version'], tree);
    assert.ok(v.kind === 'root' && v.version);
  });

  it('names unknown commands and the help to read', () => {
    assert.throws(() => resolve(['clusters'], tree), {
      name: 'UsageError',
      message: 'unknown command "clusters"',
    });
    assert.throws(
      () => resolve(['cluster', 'frob'], tree),
      (err: { message: string; command?: string }) =>
        err.message === 'unknown command "cluster frob"' && err.command === 'cluster',
    );
  });

  it('passes words after -- through as arguments', () => {
    const r = resolve(['cluster', 'register', '--', '-odd'], tree);
    assert.deepEqual(r.rest, ['--', '-odd']);
  });
});

describe('parseInput', () => {
  it('reads command and global options', () => {
    const input = parseInput(register, ['a', '-l', 'env=prod', '--label', 'x=y', '-o', 'json']);
    assert.deepEqual(input.args, ['a']);
    assert.deepEqual(input.list('label'), ['env=prod', 'x=y']);
    assert.equal(input.string('output'), 'json');
    assert.equal(input.bool('help'), false);
    assert.equal(input.string('server'), undefined);
  });

  it('is strict about options and argument counts', () => {
    assert.throws(() => parseInput(list, ['--wait']), {
      name: 'UsageError',
      message: /Unknown option '--wait'/,
    });
    assert.throws(() => parseInput(list, ['-l']), { name: 'UsageError', message: /argument missing/ });
    assert.throws(() => parseInput(register, []), { message: 'missing NAME' });
    assert.throws(() => parseInput(promote, ['shop']), { message: 'missing STAGE' });
    assert.throws(() => parseInput(register, ['a', 'b', 'c']), { message: 'unexpected arguments: b c' });
    assert.throws(
      () => parseInput(list, ['x']),
      (err: { command?: string }) => err.command === 'cluster list',
    );
  });
});

describe('help', () => {
  it('shows usage, options and global options of a command', () => {
    const text = commandHelp(register);
    assert.match(text, /^Usage: gitfleet cluster register NAME \[-l key=value \.\.\.\]\n/);
    assert.match(text, /-l, --label\s+a label/);
    assert.match(text, /-o, --output FORMAT\s+table \(default\), json or yaml/);
  });

  it('lists the commands of a group and of the root', () => {
    assert.match(groupHelp(cluster), /register\s+Register a cluster\n\s+list\s+List clusters/);
    const root = rootHelp(tree, 'Exit codes: ...');
    assert.match(root, /cluster\s+Clusters/);
    assert.match(root, /Exit codes: \.\.\./);
  });
});
