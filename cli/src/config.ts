// Where the CLI finds its server and token: flags (--server, --token) win over the
// environment (GITFLEET_SERVER, GITFLEET_TOKEN), which wins over the file `gitfleet login`
// writes: $GITFLEET_CONFIG, else $XDG_CONFIG_HOME/gitfleet/config.json, else
// ~/.config/gitfleet/config.json. The file holds a token, so it is written with mode 0600.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConnectionError, UsageError } from './errors.ts';

export interface StoredConfig {
  server?: string;
  token?: string;
}

export interface Connection {
  server: string;
  token: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GITFLEET_CONFIG) return env.GITFLEET_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'gitfleet', 'config.json');
}

export function readConfig(file: string): StoredConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConnectionError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConnectionError(
      `${file} is not valid JSON (${(err as Error).message}); run \`gitfleet login\` again`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConnectionError(`${file} does not hold a JSON object; run \`gitfleet login\` again`);
  }
  const { server, token } = parsed as Record<string, unknown>;
  return {
    ...(typeof server === 'string' ? { server } : {}),
    ...(typeof token === 'string' ? { token } : {}),
  };
}

/** Writes atomically (temp file + rename) with mode 0600, in a directory only the user can read. */
export function writeConfig(file: string, config: StoredConfig): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

export function removeConfig(file: string): void {
  rmSync(file, { force: true });
}

/** `https://host[:port][/prefix]` without a trailing slash, or a usage error saying what is wrong. */
export function normalizeServer(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(
      `server ${JSON.stringify(server)} is not a URL: use e.g. https://gitfleet.example.com`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`server ${JSON.stringify(server)} must be an http:// or https:// URL`);
  }
  if (url.username || url.password) {
    throw new UsageError('put the token in --token, not in the server URL');
  }
  if (url.search || url.hash) {
    throw new UsageError(`server ${JSON.stringify(server)} must not have a query or fragment`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** The server and token to use, or a ConnectionError (exit 3) telling how to log in. */
export function resolveConnection(
  flags: { server?: string | undefined; token?: string | undefined },
  env: NodeJS.ProcessEnv,
  stored: StoredConfig,
): Connection {
  const server = flags.server ?? (env.GITFLEET_SERVER || undefined) ?? stored.server;
  const token = flags.token ?? (env.GITFLEET_TOKEN || undefined) ?? stored.token;
  if (!server || !token) {
    const missing = !server && !token ? 'server and token' : !server ? 'server' : 'token';
    throw new ConnectionError(
      `not logged in (no ${missing}): run \`gitfleet login --server URL --token TOKEN\` (or \`--sso\` to sign in at the identity provider), or set GITFLEET_SERVER and GITFLEET_TOKEN`,
    );
  }
  return { server: normalizeServer(server), token };
}
