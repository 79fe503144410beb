// gitfleet fleet create | list | get | update | status | sync | delete

import type { Fleet, FleetStatus, StageView } from '../api.ts';
import type { CommandSpec, Group, Input } from '../args.ts';
import { path } from '../client.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import { UsageError } from '../errors.ts';
import { formatAge, formatPhases, indent, renderFields, renderTable, shortRevision } from '../output.ts';
import { emit, readSecret } from './common.ts';

export type CredentialMode = { kind: 'none' } | { kind: 'password'; username: string } | { kind: 'token' };

/** Which repository credentials `fleet create` reads from stdin, or what is wrong with the flags. */
export function credentialMode(
  input: Pick<Input, 'string' | 'bool'>,
  command = 'fleet create',
): CredentialMode {
  const username = input.string('username');
  const password = input.bool('password-stdin');
  const token = input.bool('token-stdin');
  if (password && token) throw new UsageError('use --password-stdin or --token-stdin, not both', command);
  if (token && username !== undefined) {
    throw new UsageError('--username goes with --password-stdin, not --token-stdin', command);
  }
  if (password && !username) throw new UsageError('--password-stdin needs --username', command);
  if (username !== undefined && !password) {
    throw new UsageError(
      '--username needs --password-stdin (the password is read from stdin, never from the command line)',
      command,
    );
  }
  if (password) return { kind: 'password', username: username! };
  if (token) return { kind: 'token' };
  return { kind: 'none' };
}

function rolloutText(stage: StageView): string {
  const r = stage.rollout;
  if (!r) return '-';
  if (r.state === 'progressing') return `progressing ${shortRevision(r.revision)}, wave ${r.wave}/${r.waves}`;
  if (r.state === 'halted') return `halted ${shortRevision(r.revision)}: ${r.reason ?? 'no reason given'}`;
  return `complete ${shortRevision(r.revision)}`;
}

function readyCount(f: Fleet): string {
  const total = f.stages.reduce((n, s) => n + s.clusters, 0);
  const ready = f.stages.reduce((n, s) => n + (s.phases.Ready ?? 0), 0);
  return `${ready}/${total}`;
}

export function fleetDetail(f: Fleet, now = Date.now()): string {
  const fields = renderFields([
    ['Name', f.name],
    ['Repository', f.repo],
    ['Branch', f.branch],
    ['Path', f.path],
    ['Poll interval', formatDuration(f.pollIntervalSeconds * 1000)],
    ['Head', shortRevision(f.head)],
    ['Last good', shortRevision(f.lastGoodRevision)],
    ...(f.source ? [['Source', f.source] as [string, string]] : []),
    ...(f.chartVersion ? [['Chart version', f.chartVersion] as [string, string]] : []),
    ['Last sync', f.lastSyncAt ? `${f.lastSyncAt} (${formatAge(f.lastSyncAt, now)} ago)` : null],
    ...(f.fetchError ? [['Fetch error', f.fetchError] as [string, string]] : []),
    ['Errors', f.errors.length ? f.errors.map((e) => e.message).join('\n') : 'none'],
    ...(f.stages.length === 0 ? [['Stages', 'none (no good revision yet)'] as [string, string]] : []),
  ]);
  if (f.stages.length === 0) return fields;
  const stages = renderTable(
    ['STAGE', 'FOLLOWS', 'REVISION', 'REQUIRES', 'CLUSTERS', 'PHASES', 'ROLLOUT'],
    f.stages.map((s) => [
      s.name,
      s.follows,
      // A Helm fleet's revision is its commit and the chart version that commit resolved to.
      s.chartVersion ? `${shortRevision(s.revision)} (chart ${s.chartVersion})` : shortRevision(s.revision),
      s.requires,
      s.clusters,
      formatPhases(s.phases),
      rolloutText(s),
    ]),
  );
  return `${fields}Stages:\n${indent(stages)}`;
}

type Context = Parameters<CommandSpec['run']>[0];

/**
 * Checks the credential flags at once (before anything is asked of the server), and returns
 * what reads the Git and chart credentials they ask for from stdin (one secret at most).
 */
function credentialReader(input: Input, command: string) {
  const mode = credentialMode(input, command);
  const chartUser = input.string('chart-username');
  const chartPassword = input.bool('chart-password-stdin');
  if (Boolean(chartUser) !== chartPassword) {
    throw new UsageError('--chart-username and --chart-password-stdin go together', command);
  }
  if (chartPassword && mode.kind !== 'none') {
    // stdin holds one secret; a fleet needing both can be given them over the API.
    throw new UsageError(
      'stdin can carry the Git secret or the chart password, not both; give both with the API (POST or PATCH /api/v1/fleets)',
      command,
    );
  }
  return async (ctx: Context) => {
    let credentials: Record<string, string> | undefined;
    if (mode.kind === 'password') {
      credentials = { username: mode.username, password: await readSecret(ctx.io, 'Password', command) };
    } else if (mode.kind === 'token') {
      credentials = { token: await readSecret(ctx.io, 'Token', command) };
    }
    const chartCredentials = chartPassword
      ? { username: chartUser!, password: await readSecret(ctx.io, 'Chart password', command) }
      : undefined;
    return { credentials, chartCredentials };
  };
}

const CREDENTIAL_OPTIONS = {
  username: { type: 'string', value: 'USER', description: 'Git user name (with --password-stdin)' },
  'password-stdin': { type: 'boolean', description: 'read the Git password from stdin' },
  'token-stdin': { type: 'boolean', description: 'read a Git access token from stdin' },
  'chart-username': {
    type: 'string',
    value: 'USER',
    description: 'user name of the Helm repository or OCI registry (with --chart-password-stdin)',
  },
  'chart-password-stdin': {
    type: 'boolean',
    description: 'read the Helm repository or registry password from stdin',
  },
} as const;

const create: CommandSpec = {
  name: 'fleet create',
  summary: 'Create a fleet from a Git repository (fetched and planned at once)',
  usage:
    'NAME --repo URL [--branch B] [--path P] [--username U --password-stdin | --token-stdin | --chart-username U --chart-password-stdin]',
  description: [
    'The repository holds fleet.yaml at --path. Credentials for a private repository are read',
    'from stdin (piped, or typed at a hidden prompt), never from the command line.',
  ].join('\n'),
  options: {
    repo: { type: 'string', value: 'URL', description: 'HTTP(S) Git URL of the repository (required)' },
    branch: { type: 'string', value: 'BRANCH', description: 'branch to follow (default main)' },
    path: { type: 'string', value: 'PATH', description: 'directory of fleet.yaml (default: the root)' },
    'poll-interval': {
      type: 'string',
      value: 'DURATION',
      description: "how often to fetch when no webhook says so, e.g. 5m (default: the control plane's)",
    },
    ...CREDENTIAL_OPTIONS,
  },
  examples: [
    'gitfleet fleet create shop --repo https://git.example.com/org/shop.git --path deploy',
    'gitfleet fleet create shop --repo https://git.example.com/org/shop.git --token-stdin < git-token',
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const repo = input.string('repo');
    if (!repo) throw new UsageError('give the repository with --repo URL', 'fleet create');
    const read = credentialReader(input, 'fleet create');
    const client = ctx.client();
    const { credentials, chartCredentials } = await read(ctx);
    const branch = input.string('branch');
    const dir = input.string('path');
    const interval = input.string('poll-interval');
    const fleet = await client.post<Fleet>('/api/v1/fleets', {
      name: input.args[0],
      repo,
      ...(branch !== undefined ? { branch } : {}),
      ...(dir !== undefined ? { path: dir } : {}),
      ...(interval !== undefined ? { pollIntervalSeconds: pollSeconds(interval, 'fleet create') } : {}),
      ...(credentials ? { credentials } : {}),
      ...(chartCredentials ? { chartCredentials } : {}),
    });
    emit(ctx, fleet, () => `fleet ${fleet.name} created\n\n${fleetDetail(fleet)}`);
    return 0;
  },
};

/** --poll-interval in whole seconds, as the API takes it. */
function pollSeconds(text: string, command: string): number {
  const seconds = parseDuration(text, '--poll-interval') / 1000;
  if (!Number.isInteger(seconds) || seconds > 86_400) {
    throw new UsageError('--poll-interval must be whole seconds, at most 24h (e.g. 30s, 5m, 1h)', command);
  }
  return seconds;
}

const update: CommandSpec = {
  name: 'fleet update',
  summary:
    'Change what a fleet follows or how it reaches it; a new branch, path or credentials re-plan at once',
  usage:
    'NAME [--branch B] [--path P] [--poll-interval D|default] [--username U --password-stdin | --token-stdin | --chart-username U --chart-password-stdin]',
  description: [
    'The repository stays (a new repository is a new fleet). A new branch, path or credentials',
    'fetch and re-plan the fleet at once: the revision found there goes through the stages,',
    'gates and waves like any new commit. Secrets are read from stdin, never from the command line.',
  ].join('\n'),
  options: {
    branch: { type: 'string', value: 'BRANCH', description: 'branch to follow' },
    path: { type: 'string', value: 'PATH', description: 'directory of fleet.yaml' },
    'poll-interval': {
      type: 'string',
      value: 'DURATION',
      description: "how often to fetch, e.g. 5m; 'default' for the control plane's",
    },
    ...CREDENTIAL_OPTIONS,
  },
  examples: [
    'gitfleet fleet update shop --branch release-2',
    'gitfleet fleet update shop --token-stdin < new-git-token',
    'gitfleet fleet update shop --poll-interval 5m',
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const read = credentialReader(input, 'fleet update');
    const interval = input.string('poll-interval');
    const seconds =
      interval === undefined || interval === 'default' ? null : pollSeconds(interval, 'fleet update');
    const secrets = ['password-stdin', 'token-stdin', 'chart-password-stdin'].some((f) => input.bool(f));
    if (input.string('branch') === undefined && input.string('path') === undefined && !interval && !secrets) {
      throw new UsageError(
        'nothing to change: give --branch, --path, --poll-interval or credentials',
        'fleet update',
      );
    }
    const client = ctx.client();
    const { credentials, chartCredentials } = await read(ctx);
    const branch = input.string('branch');
    const dir = input.string('path');
    const change = {
      ...(branch !== undefined ? { branch } : {}),
      ...(dir !== undefined ? { path: dir } : {}),
      ...(interval !== undefined ? { pollIntervalSeconds: seconds } : {}),
      ...(credentials ? { credentials } : {}),
      ...(chartCredentials ? { chartCredentials } : {}),
    };
    const fleet = await client.patch<Fleet>(path`/api/v1/fleets/${input.args[0]!}`, change);
    emit(ctx, fleet, () => `fleet ${fleet.name} updated\n\n${fleetDetail(fleet)}`);
    return 0;
  },
};

const list: CommandSpec = {
  name: 'fleet list',
  summary: 'List fleets with their head revision, stages and how many clusters are Ready',
  usage: '',
  minArgs: 0,
  maxArgs: 0,
  async run(ctx) {
    const { items } = await ctx.client().get<{ items: Fleet[] }>('/api/v1/fleets');
    emit(ctx, items, () => {
      if (items.length === 0) {
        ctx.io.err('No fleets.\n');
        return '';
      }
      const now = Date.now();
      return renderTable(
        ['NAME', 'REPO', 'BRANCH', 'PATH', 'HEAD', 'STAGES', 'READY', 'ERRORS', 'LAST SYNC'],
        items.map((f) => [
          f.name,
          f.repo,
          f.branch,
          f.path,
          shortRevision(f.head),
          f.stages.map((s) => s.name).join(','),
          readyCount(f),
          f.errors.length + (f.fetchError ? 1 : 0),
          formatAge(f.lastSyncAt, now),
        ]),
      );
    });
    return 0;
  },
};

const get: CommandSpec = {
  name: 'fleet get',
  summary: 'Show a fleet: repository, head and last good revision, errors, stages and rollouts',
  usage: 'NAME',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const fleet = await ctx.client().get<Fleet>(path`/api/v1/fleets/${input.args[0]!}`);
    emit(ctx, fleet, () => fleetDetail(fleet));
    return 0;
  },
};

const status: CommandSpec = {
  name: 'fleet status',
  summary: 'Status of a fleet on each cluster (and with --objects, of each object)',
  usage: 'NAME [--objects]',
  options: { objects: { type: 'boolean', description: 'also list the result of every object' } },
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const name = input.args[0]!;
    const s = await ctx.client().get<FleetStatus>(path`/api/v1/fleets/${name}/status`);
    emit(ctx, s, () => {
      if (s.items.length === 0) {
        ctx.io.err(`No clusters are in the stages of fleet ${name}.\n`);
        return '';
      }
      const clusters = renderTable(
        ['CLUSTER', 'STAGE', 'PHASE', 'APPLIED', 'DESIRED', 'MESSAGE'],
        s.items.map((i) => [
          i.cluster,
          i.stage,
          i.phase,
          shortRevision(i.appliedRevision),
          shortRevision(i.desiredRevision),
          i.message,
        ]),
      );
      if (!input.bool('objects')) return clusters;
      const rows = s.items.flatMap((i) =>
        i.objects.map((o) => [
          i.cluster,
          o.kind,
          o.namespace,
          o.name,
          o.action,
          o.health,
          o.drifted ? 'yes' : 'no',
          [o.reason, o.message].filter(Boolean).join(': '),
        ]),
      );
      const objects =
        rows.length === 0
          ? 'No object results reported yet.\n'
          : renderTable(
              ['CLUSTER', 'KIND', 'NAMESPACE', 'NAME', 'ACTION', 'HEALTH', 'DRIFTED', 'MESSAGE'],
              rows,
            );
      return `${clusters}\n${objects}`;
    });
    return 0;
  },
};

const sync: CommandSpec = {
  name: 'fleet sync',
  summary: 'Fetch the repository now and re-plan the fleet',
  usage: 'NAME',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const fleet = await ctx.client().post<Fleet>(path`/api/v1/fleets/${input.args[0]!}/sync`);
    emit(ctx, fleet, () => `fleet ${fleet.name} synced\n\n${fleetDetail(fleet)}`);
    return 0;
  },
};

const remove: CommandSpec = {
  name: 'fleet delete',
  summary: 'Delete a fleet: agents prune its objects (except those opted out)',
  usage: 'NAME',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const name = input.args[0]!;
    await ctx.client().delete(path`/api/v1/fleets/${name}`);
    emit(ctx, { name, deleted: true }, () => `fleet ${name} deleted\n`);
    return 0;
  },
};

export const fleetGroup: Group = {
  name: 'fleet',
  summary: 'Create fleets from Git, change them, inspect their status, sync and delete them',
  commands: [create, list, get, update, status, sync, remove],
};
