// gitfleet cluster register | list | get | label | token | delete

import type { Cluster, ClusterDetail, Registration } from '../api.ts';
import type { CommandSpec, Context, Group } from '../args.ts';
import { path } from '../client.ts';
import { formatDuration } from '../duration.ts';
import { applyLabelChanges, parseLabelChanges, parseLabels } from '../labels.ts';
import { formatAge, formatLabels, indent, renderFields, renderTable, shortRevision } from '../output.ts';
import { emit } from './common.ts';

export function clusterState(c: Cluster): string {
  if (!c.registered) return 'AwaitingAgent';
  return c.connected ? 'Connected' : 'Disconnected';
}

function printRegistration(ctx: Context, r: Registration, verb: string): void {
  emit(ctx, r, () => {
    const labels = formatLabels(r.cluster.labels);
    const left = Date.parse(r.expiresAt) - Date.now();
    return [
      `Cluster ${r.cluster.name} ${verb}${labels ? ` (labels ${labels})` : ''}.`,
      '',
      renderFields([
        ['Bootstrap token', r.bootstrapToken],
        ['Expires', `${r.expiresAt}${left > 0 ? ` (in ${formatDuration(left)})` : ''}`],
      ]).trimEnd(),
      'The token works once: the agent trades it for a credential of its own.',
      '',
      'Install the agent in the cluster with:',
      '',
      indent(r.helmInstall),
      '',
    ].join('\n');
  });
}

const register: CommandSpec = {
  name: 'cluster register',
  summary: 'Register a cluster: prints its one-time bootstrap token and the helm command for its agent',
  usage: 'NAME [-l key=value ...]',
  options: {
    label: {
      type: 'string',
      short: 'l',
      multiple: true,
      value: 'key=value',
      description: 'a label (repeat)',
    },
  },
  examples: ['gitfleet cluster register prod-eu-1 -l env=prod -l region=eu'],
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const labels = parseLabels(input.list('label'));
    const r = await ctx.client().post<Registration>('/api/v1/clusters', { name: input.args[0], labels });
    printRegistration(ctx, r, 'registered');
    return 0;
  },
};

const token: CommandSpec = {
  name: 'cluster token',
  summary: 'Issue a new bootstrap token for a registered cluster (to reinstall its agent)',
  usage: 'NAME',
  description: 'The previous bootstrap token stops working.',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const r = await ctx.client().post<Registration>(path`/api/v1/clusters/${input.args[0]!}/bootstrap-token`);
    printRegistration(ctx, r, 'has a new bootstrap token');
    return 0;
  },
};

const list: CommandSpec = {
  name: 'cluster list',
  summary: 'List clusters, optionally those matching a label selector',
  usage: '[-l SELECTOR]',
  options: {
    selector: {
      type: 'string',
      short: 'l',
      value: 'SELECTOR',
      description: "label selector, e.g. 'env=prod,region in (eu,us)'",
    },
  },
  examples: ["gitfleet cluster list -l 'env=prod'", 'gitfleet cluster list -o json'],
  minArgs: 0,
  maxArgs: 0,
  async run(ctx, input) {
    const selector = input.string('selector');
    const { items } = await ctx.client().get<{ items: Cluster[] }>('/api/v1/clusters', { selector });
    emit(ctx, items, () => {
      if (items.length === 0) {
        ctx.io.err(selector ? `No clusters match ${selector}.\n` : 'No clusters registered.\n');
        return '';
      }
      const now = Date.now();
      return renderTable(
        ['NAME', 'STATE', 'LABELS', 'AGENT', 'KUBERNETES', 'LAST SEEN', 'AGE'],
        items.map((c) => [
          c.name,
          clusterState(c),
          formatLabels(c.labels),
          c.agentVersion,
          c.kubernetesVersion,
          c.lastSeen ? formatAge(c.lastSeen, now) : null,
          formatAge(c.createdAt, now),
        ]),
      );
    });
    return 0;
  },
};

const get: CommandSpec = {
  name: 'cluster get',
  summary: 'Show a cluster: labels, connection, and the status of each fleet on it',
  usage: 'NAME',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const c = await ctx.client().get<ClusterDetail>(path`/api/v1/clusters/${input.args[0]!}`);
    emit(ctx, c, () => {
      const now = Date.now();
      const fleets = c.fleets ?? [];
      const fields = renderFields([
        ['Name', c.name],
        ['Labels', formatLabels(c.labels)],
        ['State', clusterState(c)],
        ['Agent', c.agentVersion],
        ['Kubernetes', c.kubernetesVersion],
        ['Last seen', c.lastSeen ? `${c.lastSeen} (${formatAge(c.lastSeen, now)} ago)` : null],
        ['Created', c.createdAt],
        ...(fleets.length === 0 ? [['Fleets', 'none reported'] as [string, string]] : []),
      ]);
      if (fleets.length === 0) return fields;
      const table = renderTable(
        ['FLEET', 'PHASE', 'APPLIED', 'DESIRED', 'OBJECTS', 'MESSAGE'],
        fleets.map((f) => [
          f.fleet,
          f.phase,
          shortRevision(f.appliedRevision),
          shortRevision(f.desiredRevision),
          f.objectCount,
          f.message,
        ]),
      );
      return `${fields}Fleets:\n${indent(table)}`;
    });
    return 0;
  },
};

const label: CommandSpec = {
  name: 'cluster label',
  summary: 'Set (key=value) or remove (key-) labels of a cluster; other labels stay',
  usage: 'NAME key=value ... [key-]',
  description: 'Labels decide which stage of each fleet a cluster belongs to, so relabelling moves it.',
  examples: ['gitfleet cluster label prod-eu-1 env=staging tier-'],
  minArgs: 1,
  maxArgs: Number.POSITIVE_INFINITY,
  async run(ctx, input) {
    const [name, ...args] = input.args as [string, ...string[]];
    const changes = parseLabelChanges(args);
    const client = ctx.client();
    const current = await client.get<Cluster>(path`/api/v1/clusters/${name}`);
    const diff = applyLabelChanges(current.labels ?? {}, changes);
    for (const key of diff.missing) ctx.io.err(`label "${key}" not found on ${name}\n`);
    const changed = diff.added.length + diff.changed.length + diff.removed.length > 0;
    const cluster = changed
      ? await client.patch<Cluster>(path`/api/v1/clusters/${name}`, { labels: diff.labels })
      : current;
    emit(ctx, cluster, () => {
      if (!changed) return `cluster ${name} not labelled (no changes)\n`;
      const parts = [
        ...diff.added.map((k) => `+${k}=${diff.labels[k]}`),
        ...diff.changed.map((k) => `${k}: ${current.labels[k]} → ${diff.labels[k]}`),
        ...diff.removed.map((k) => `-${k}`),
      ];
      return `cluster ${name} labelled: ${parts.join(', ')}\n`;
    });
    return 0;
  },
};

const remove: CommandSpec = {
  name: 'cluster delete',
  summary: "Delete a cluster: revokes its agent's credential and closes its stream",
  usage: 'NAME',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const name = input.args[0]!;
    await ctx.client().delete(path`/api/v1/clusters/${name}`);
    emit(ctx, { name, deleted: true }, () => `cluster ${name} deleted\n`);
    return 0;
  },
};

export const clusterGroup: Group = {
  name: 'cluster',
  summary: 'Register, list, inspect, label and delete clusters',
  commands: [register, list, get, label, token, remove],
};
