// gitfleet token create | list | revoke: API tokens for automation (admins only).

import type { ApiToken, CreatedApiToken } from '../api.ts';
import type { CommandSpec, Group } from '../args.ts';
import { path } from '../client.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import { UsageError } from '../errors.ts';
import { formatAge, renderFields, renderTable } from '../output.ts';
import { emit } from './common.ts';

const create: CommandSpec = {
  name: 'token create',
  summary: 'Create an API token with a role and an expiry; it is printed this once',
  usage: 'NAME --role admin|viewer [--expires 30d]',
  description: [
    'The control plane keeps only a hash of the token: store it where it is used (a CI secret),',
    'it cannot be shown again. Revoke it with `gitfleet token revoke NAME`.',
  ].join('\n'),
  options: {
    role: {
      type: 'string',
      value: 'ROLE',
      description: 'admin (may write) or viewer (reads only); required',
    },
    expires: {
      type: 'string',
      value: 'DURATION',
      description: 'how long it works, e.g. 90d, 12h (default 30d)',
    },
  },
  examples: ['gitfleet token create ci-deploy --role admin --expires 90d'],
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const role = input.string('role');
    if (role !== 'admin' && role !== 'viewer') {
      throw new UsageError('give the role with --role admin or --role viewer', 'token create');
    }
    const expires = input.string('expires');
    const seconds = expires === undefined ? undefined : parseDuration(expires, '--expires') / 1000;
    if (seconds !== undefined && !Number.isInteger(seconds)) {
      throw new UsageError('--expires must be whole seconds (e.g. 12h, 90d)', 'token create');
    }
    const created = await ctx.client().post<CreatedApiToken>('/api/v1/tokens', {
      name: input.args[0],
      role,
      ...(seconds !== undefined ? { expiresInSeconds: seconds } : {}),
    });
    emit(ctx, created, () =>
      [
        `API token ${created.name} created (role ${created.role}).`,
        '',
        renderFields([
          ['Token', created.token],
          [
            'Expires',
            `${created.expiresAt} (in ${formatDuration(Date.parse(created.expiresAt) - Date.now())})`,
          ],
        ]).trimEnd(),
        'It is shown this once: the control plane keeps only its hash.',
        '',
      ].join('\n'),
    );
    return 0;
  },
};

const list: CommandSpec = {
  name: 'token list',
  summary: 'List API tokens: name, role, who created them, when they expire (never the tokens)',
  usage: '',
  minArgs: 0,
  maxArgs: 0,
  async run(ctx) {
    const { items } = await ctx.client().get<{ items: ApiToken[] }>('/api/v1/tokens');
    emit(ctx, items, () => {
      if (items.length === 0) {
        ctx.io.err('No API tokens.\n');
        return '';
      }
      const now = Date.now();
      return renderTable(
        ['NAME', 'ROLE', 'CREATED BY', 'AGE', 'EXPIRES'],
        items.map((t) => [
          t.name,
          t.role,
          t.createdBy,
          formatAge(t.createdAt, now),
          Date.parse(t.expiresAt) <= now ? 'expired' : `in ${formatDuration(Date.parse(t.expiresAt) - now)}`,
        ]),
      );
    });
    return 0;
  },
};

const revoke: CommandSpec = {
  name: 'token revoke',
  summary: 'Revoke an API token: refused from its next request on',
  usage: 'NAME',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const name = input.args[0]!;
    await ctx.client().delete(path`/api/v1/tokens/${name}`);
    emit(ctx, { name, revoked: true }, () => `API token ${name} revoked\n`);
    return 0;
  },
};

export const tokenGroup: Group = {
  name: 'token',
  summary: 'API tokens for automation: create (shown once), list, revoke',
  commands: [create, list, revoke],
};
