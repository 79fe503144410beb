import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { configPath, normalizeServer, readConfig, resolveConnection, writeConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'gitfleet-cli-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('config file', () => {
  it('lives at $GITFLEET_CONFIG, else under XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(configPath({ GITFLEET_CONFIG: '/x/c.json', HOME: '/h' }), '/x/c.json');
    assert.equal(configPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/h' }), '/xdg/gitfleet/config.json');
    assert.equal(configPath({ HOME: '/h' }), '/h/.config/gitfleet/config.json');
  });

  it('is written with mode 0600 in a new directory, and read back', () => {
    const file = join(dir, 'new', 'config.json');
    writeConfig(file, { server: 'https://a', token: 't' });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'new')).mode & 0o777, 0o700);
    assert.deepEqual(readConfig(file), { server: 'https://a', token: 't' });
    writeConfig(file, { server: 'https://b' });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { server: 'https://b' });
  });

  it('reads a missing file as empty and refuses a broken one (exit 3)', () => {
    assert.deepEqual(readConfig(join(dir, 'absent.json')), {});
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{nope');
    assert.throws(() => readConfig(broken), { name: 'ConnectionError', message: /not valid JSON/ });
    writeFileSync(broken, '[]');
    assert.throws(() => readConfig(broken), { message: /JSON object/ });
  });
});

describe('resolveConnection', () => {
  const stored = { server: 'https://saved', token: 'saved-token' };

  it('prefers flags, then environment, then the file', () => {
    assert.deepEqual(resolveConnection({}, {}, stored), { server: 'https://saved', token: 'saved-token' });
    assert.deepEqual(resolveConnection({}, { GITFLEET_SERVER: 'https://env', GITFLEET_TOKEN: 'e' }, stored), {
      server: 'https://env',
      token: 'e',
    });
    assert.deepEqual(
      resolveConnection({ server: 'https://flag/', token: 'f' }, { GITFLEET_SERVER: 'https://env' }, stored),
      { server: 'https://flag', token: 'f' },
    );
    assert.equal(resolveConnection({}, { GITFLEET_TOKEN: '' }, stored).token, 'saved-token', 'empty = unset');
  });

  it('says what is missing and how to log in (exit 3)', () => {
    assert.throws(() => resolveConnection({}, {}, {}), {
      name: 'ConnectionError',
      message: /not logged in \(no server and token\): run `gitfleet login/,
    });
    assert.throws(() => resolveConnection({}, {}, { server: 'https://a' }), { message: /\(no token\)/ });
  });
});

describe('normalizeServer', () => {
  it('accepts http(s) URLs, keeps a path prefix, drops the trailing slash', () => {
    assert.equal(normalizeServer('https://gitfleet.example.com/'), 'https://gitfleet.example.com');
    assert.equal(normalizeServer('http://127.0.0.1:8080/gitfleet/'), 'http://127.0.0.1:8080/gitfleet');
  });

  it('refuses other things as usage errors', () => {
    for (const bad of ['gitfleet.example.com', 'ftp://x', 'https://u:p@x', 'https://x/?a=b']) {
      assert.throws(() => normalizeServer(bad), { name: 'UsageError' }, bad);
    }
  });
});
