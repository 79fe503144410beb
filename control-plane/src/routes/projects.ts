// /api/v1/projects: what each team's fleets may touch and who may do what in them
// (fleet/project.ts). Installation admins create, change and delete projects; a caller sees
// the projects it has a role in (all, with an installation-wide role).
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { conflict, notFound } from '../errors.ts';
import type { Project } from '../fleet/index.ts';
import { SELECTOR_PATTERN } from '../fleet/labels.ts';
import { DNS_LABEL, listOf, nameParam, REFUSAL } from './input.ts';

const patterns = (description: string, pattern: string) =>
  ({
    type: 'array',
    maxItems: 100,
    description,
    items: { type: 'string', minLength: 1, maxLength: 512, pattern },
  }) as const;
const members = {
  type: 'object',
  additionalProperties: false,
  properties: {
    groups: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 256 } },
    tokens: { type: 'array', maxItems: 100, items: { type: 'string', pattern: DNS_LABEL } },
  },
} as const;

const fields = {
  description: { type: 'string', maxLength: 1000 },
  fleets: patterns(
    'Fleet names it may hold; * is any run of characters',
    '^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$',
  ),
  clusters: {
    type: 'string',
    minLength: 1,
    maxLength: 4096,
    pattern: SELECTOR_PATTERN,
    [REFUSAL]:
      'clusters {value} is not a label selector: write requirements separated by commas, e.g. team=shop,env in (dev,prod)',
    description: 'The clusters its fleets may select: a label selector',
  },
  namespaces: patterns(
    'Namespaces its objects may be in; * is any run of characters',
    '^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$',
  ),
  clusterScoped: {
    type: 'boolean',
    description: 'Whether its objects may be cluster-scoped (default false)',
  },
  deniedKinds: patterns(
    'Kinds refused: Kind or group/Kind, * as a pattern (rbac.authorization.k8s.io/*)',
    '^[A-Za-z0-9.*/-]+$',
  ),
  repos: patterns('Repositories its fleets may come from; * is any run of characters', '^https?://\\S+$'),
  roles: {
    type: 'object',
    additionalProperties: false,
    description:
      'Who may read (viewer), sync, promote and roll back (operator), create and delete fleets (admin)',
    properties: { viewer: members, operator: members, admin: members },
  },
} as const;

// As stored and answered: every field and every role is there (an absent one is empty).
const storedMembers = { ...members, required: ['groups', 'tokens'] } as const;
const projectSchema = {
  type: 'object',
  required: [
    'name',
    'description',
    'fleets',
    'clusters',
    'namespaces',
    'clusterScoped',
    'deniedKinds',
    'repos',
    'roles',
  ],
  properties: {
    name: { type: 'string' },
    ...fields,
    roles: {
      ...fields.roles,
      required: ['viewer', 'operator', 'admin'],
      properties: { viewer: storedMembers, operator: storedMembers, admin: storedMembers },
    },
  },
} as const;

type ProjectBody = Partial<Omit<Project, 'roles'>> & {
  name?: string;
  roles?: Partial<Record<keyof Project['roles'], Partial<Project['roles']['viewer']>>>;
};

function projectOf(name: string, body: ProjectBody): Project {
  const m = (r?: Partial<Project['roles']['viewer']>) => ({
    groups: r?.groups ?? [],
    tokens: r?.tokens ?? [],
  });
  return {
    name,
    description: body.description ?? '',
    fleets: body.fleets ?? [],
    clusters: body.clusters ?? '',
    namespaces: body.namespaces ?? [],
    clusterScoped: body.clusterScoped ?? false,
    deniedKinds: body.deniedKinds ?? [],
    repos: body.repos ?? [],
    roles: { viewer: m(body.roles?.viewer), operator: m(body.roles?.operator), admin: m(body.roles?.admin) },
  };
}

export function projectRoutes(app: FastifyInstance, cp: ControlPlane): void {
  /** Its fleets plan again: their clusters and objects are held to the project's new rules. */
  const replan = async (project: string) => {
    for (const spec of await cp.fleets.specs()) {
      if (spec.project === project) await cp.reconciler.request(spec.name, { fetch: false });
    }
  };

  app.post<{ Body: ProjectBody & { name: string } }>(
    '/api/v1/projects',
    {
      schema: {
        summary:
          'Create a project: the fleets, clusters, namespaces, kinds and repositories of a team, and who may do what',
        tags: ['projects'],
        body: {
          type: 'object',
          required: ['name', 'fleets', 'clusters', 'namespaces', 'repos'],
          additionalProperties: false,
          properties: {
            name: {
              type: 'string',
              pattern: DNS_LABEL,
              [REFUSAL]: "project name {value} is not valid: use 1-63 lowercase letters, digits and '-'",
            },
            ...fields,
          },
        },
        response: { 201: projectSchema },
      },
      config: { errors: ['Conflict'] },
    },
    async (request, reply) => {
      const created = await cp.projects.create(projectOf(request.body.name, request.body));
      reply.code(201);
      return created;
    },
  );

  app.get(
    '/api/v1/projects',
    {
      schema: {
        summary: 'List the projects the caller has a role in (all, with an installation-wide role)',
        tags: ['projects'],
        response: { 200: listOf(projectSchema) },
      },
      config: { access: 'scoped' },
    },
    async (request) => ({
      items: (await cp.projects.list()).filter((p) => !request.access || request.access.seesProject(p.name)),
    }),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/projects/:name',
    {
      schema: {
        summary: 'A project',
        tags: ['projects'],
        params: nameParam,
        response: { 200: projectSchema },
      },
      config: { errors: ['NotFound'], access: 'scoped' },
    },
    async (request) => {
      const { name } = request.params;
      if (request.access && !request.access.seesProject(name))
        throw notFound('NotFound', `project ${name} does not exist`);
      return cp.projects.get(name);
    },
  );

  app.put<{ Params: { name: string }; Body: ProjectBody }>(
    '/api/v1/projects/:name',
    {
      schema: {
        summary: "Replace a project's rules and roles; its fleets plan again under them",
        tags: ['projects'],
        params: nameParam,
        body: {
          type: 'object',
          required: ['fleets', 'clusters', 'namespaces', 'repos'],
          additionalProperties: false,
          properties: fields,
        },
        response: { 200: projectSchema },
      },
      config: { errors: ['NotFound'] },
    },
    async (request) => {
      const project = await cp.projects.replace(projectOf(request.params.name, request.body));
      await replan(project.name);
      return project;
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/projects/:name',
    {
      schema: {
        summary: 'Delete a project; refused while fleets are in it',
        tags: ['projects'],
        params: nameParam,
        response: { 204: { type: 'null', description: 'Deleted' } },
      },
      config: { errors: ['NotFound', 'Conflict'] },
    },
    async (request, reply) => {
      const { name } = request.params;
      const inIt = (await cp.fleets.specs()).filter((f) => f.project === name).map((f) => f.name);
      if (inIt.length > 0) {
        throw conflict(
          'Conflict',
          `project ${name} still holds fleets ${inIt.join(', ')}: delete them first`,
        );
      }
      await cp.projects.delete(name);
      reply.code(204);
    },
  );
}
