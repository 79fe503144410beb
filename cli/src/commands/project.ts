// gitfleet project apply | list | get | delete: the projects teams work in (installation admins
// change them; members see theirs). A project is written in a file (YAML or JSON) and applied,
// so it can be reviewed like any other change.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Project } from '../api.ts';
import type { CommandSpec, Group } from '../args.ts';
import { ApiError, path } from '../client.ts';
import { UsageError } from '../errors.ts';
import { renderFields, renderTable } from '../output.ts';
import { emit } from './common.ts';

function members(p: Project): string {
  return (['admin', 'operator', 'viewer'] as const)
    .map((role) => {
      const m = p.roles[role];
      const who = [...m.groups.map((g) => `group ${g}`), ...m.tokens.map((t) => `token ${t}`)];
      return who.length ? `${role}: ${who.join(', ')}` : '';
    })
    .filter(Boolean)
    .join('\n');
}

const apply: CommandSpec = {
  name: 'project apply',
  summary: 'Create a project from a file, or replace it when it exists (its fleets plan again)',
  usage: '-f FILE',
  description: [
    'FILE (YAML or JSON) holds name, fleets, clusters, namespaces, repos and optionally',
    'description, clusterScoped, deniedKinds and roles (see docs/concepts.md, Projects).',
  ].join('\n'),
  options: {
    file: { type: 'string', short: 'f', value: 'FILE', description: 'the project, YAML or JSON (required)' },
  },
  examples: ['gitfleet project apply -f projects/shop.yaml'],
  minArgs: 0,
  maxArgs: 0,
  async run(ctx, input) {
    const file = input.string('file');
    if (!file) throw new UsageError('give the project file with -f FILE', 'project apply');
    let body: unknown;
    try {
      body = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`${file}: ${(err as Error).message}`, 'project apply');
    }
    if (!body || typeof body !== 'object' || typeof (body as { name?: unknown }).name !== 'string') {
      throw new UsageError(`${file}: a project is an object with a name`, 'project apply');
    }
    const { name, ...rules } = body as { name: string };
    const client = ctx.client();
    let verb = 'created';
    let project: Project;
    try {
      project = await client.post<Project>('/api/v1/projects', body);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) throw err;
      verb = 'replaced';
      project = await client.request<Project>('PUT', path`/api/v1/projects/${name}`, rules);
    }
    emit(ctx, project, () => `project ${project.name} ${verb}\n`);
    return 0;
  },
};

const list: CommandSpec = {
  name: 'project list',
  summary: 'List the projects you have a role in (all, with an installation-wide role)',
  usage: '',
  minArgs: 0,
  maxArgs: 0,
  async run(ctx) {
    const { items } = await ctx.client().get<{ items: Project[] }>('/api/v1/projects');
    emit(ctx, items, () => {
      if (items.length === 0) {
        ctx.io.err('No projects.\n');
        return '';
      }
      return renderTable(
        ['NAME', 'FLEETS', 'CLUSTERS', 'NAMESPACES', 'REPOS'],
        items.map((p) => [p.name, p.fleets.join(','), p.clusters, p.namespaces.join(','), p.repos.join(',')]),
      );
    });
    return 0;
  },
};

const get: CommandSpec = {
  name: 'project get',
  summary: 'Show a project: its fleets, clusters, namespaces, kinds, repositories and who has which role',
  usage: 'NAME',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const p = await ctx.client().get<Project>(path`/api/v1/projects/${input.args[0]!}`);
    emit(ctx, p, () =>
      renderFields([
        ['Name', p.name],
        ...(p.description ? [['Description', p.description] as [string, string]] : []),
        ['Fleets', p.fleets.join(', ')],
        ['Clusters', p.clusters],
        ['Namespaces', p.namespaces.join(', ')],
        ['Cluster-scoped', p.clusterScoped ? 'allowed' : 'refused'],
        ['Denied kinds', p.deniedKinds.join(', ') || 'none'],
        ['Repositories', p.repos.join('\n')],
        ['Roles', members(p) || 'none'],
      ]),
    );
    return 0;
  },
};

const remove: CommandSpec = {
  name: 'project delete',
  summary: 'Delete a project (refused while fleets are in it)',
  usage: 'NAME',
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const name = input.args[0]!;
    await ctx.client().delete(path`/api/v1/projects/${name}`);
    emit(ctx, { name, deleted: true }, () => `project ${name} deleted\n`);
    return 0;
  },
};

export const projectGroup: Group = {
  name: 'project',
  summary: "Projects: what each team's fleets may touch, and who may do what in them",
  commands: [apply, list, get, remove],
};
