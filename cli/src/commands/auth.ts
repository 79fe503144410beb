// login / logout: the server and token kept in the config file (see config.ts).

import type { Cluster } from '../api.ts';
import type { CommandSpec } from '../args.ts';
import { Client } from '../client.ts';
import { normalizeServer, readConfig, removeConfig, writeConfig } from '../config.ts';
import { UsageError } from '../errors.ts';
import { renderFields } from '../output.ts';
import { emit, readSecret } from './common.ts';

const login: CommandSpec = {
  name: 'login',
  summary: 'Check a server URL and API token and save them for the next commands',
  usage: '--server URL (--token TOKEN | --token-stdin)',
  description: [
    'Calls the API with the token first, so a wrong URL or token is not saved. The config file',
    'is $GITFLEET_CONFIG, else ~/.config/gitfleet/config.json (mode 0600). GITFLEET_SERVER and',
    'GITFLEET_TOKEN, and --server/--token on any command, override what it holds. Without',
    '--server, login keeps the server saved before.',
  ].join('\n'),
  options: {
    'token-stdin': { type: 'boolean', description: 'read the token from stdin (keeps it out of `ps`)' },
  },
  examples: [
    'gitfleet login --server https://gitfleet.example.com --token "$TOKEN"',
    'gitfleet login --server https://gitfleet.example.com --token-stdin < token.txt',
  ],
  minArgs: 0,
  maxArgs: 0,
  async run(ctx, input) {
    const stored = readConfig(ctx.configFile);
    const serverArg = ctx.flags.server ?? (ctx.env.GITFLEET_SERVER || undefined) ?? stored.server;
    if (!serverArg) throw new UsageError('give the control plane URL with --server URL', 'login');
    if (input.bool('token-stdin') && ctx.flags.token) {
      throw new UsageError('give the token with --token or --token-stdin, not both', 'login');
    }
    const token = input.bool('token-stdin')
      ? await readSecret(ctx.io, 'Token', 'login')
      : (ctx.flags.token ?? (ctx.env.GITFLEET_TOKEN || undefined));
    if (!token) throw new UsageError('give the API token with --token TOKEN or --token-stdin', 'login');
    const server = normalizeServer(serverArg);
    const clusters = await new Client({ server, token }).get<{ items: Cluster[] }>('/api/v1/clusters');
    writeConfig(ctx.configFile, { server, token });
    const result = { server, config: ctx.configFile, clusters: clusters.items.length };
    emit(ctx, result, () =>
      renderFields([
        ['Logged in to', server],
        ['Clusters', clusters.items.length],
        ['Saved in', ctx.configFile],
      ]),
    );
    return 0;
  },
};

const logout: CommandSpec = {
  name: 'logout',
  summary: 'Forget the saved token (the server URL is kept for the next login)',
  usage: '',
  minArgs: 0,
  maxArgs: 0,
  async run(ctx) {
    const stored = readConfig(ctx.configFile);
    if (stored.server) writeConfig(ctx.configFile, { server: stored.server });
    else removeConfig(ctx.configFile);
    ctx.io.err(
      stored.token
        ? `Logged out${stored.server ? ` of ${stored.server}` : ''}: the token is removed from ${ctx.configFile}\n`
        : `Not logged in: ${ctx.configFile} holds no token\n`,
    );
    if (ctx.env.GITFLEET_TOKEN) ctx.io.err('Note: GITFLEET_TOKEN is set and still applies\n');
    return 0;
  },
};

export const authCommands: CommandSpec[] = [login, logout];
