// /api/v1/fleets: create (repository, branch, path, credentials), list, get (policy, head,
// per-stage revision and cluster counts by phase, conditions, errors), change, status per
// cluster and object, sync now, delete. The work is FleetService's (fleets/service.ts).
import { PHASES } from '@gitfleet/proto/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { notFound } from '../errors.ts';
import { type CreateFleetInput, FleetService, type UpdateFleetInput } from '../fleets/service.ts';
import { DNS_LABEL, httpUrlPattern, listOf, nameParam, REFUSAL } from './input.ts';

const when = { type: ['string', 'null'] } as const;
const revision = { type: ['string', 'null'], description: 'A commit id' } as const;

// What the server checks of a branch that JSON Schema can say (isBranchName says the rest).
const branch = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern:
    '^(?![-/.])(?!.*(\\.\\.|//|@\\{|\\.lock$|/$|\\.$|/\\.|\\.lock/))(?!@$)(?![0-9a-fA-F]{40}$)(?![0-9a-fA-F]{64}$)[^\\s\\x00-\\x1f\\x7f-\\x9f~^:?*[\\\\]+$',
  [REFUSAL]:
    "branch {value} is not a valid Git branch name (no spaces, '..', '~^:?*[\\', control characters, leading '-' or '/', trailing '/', '.' or '.lock', not a commit id)",
  description:
    "A Git branch name: no spaces, '..', '~^:?*[\\', control characters, leading '-' or '/', trailing '/', '.' or '.lock', not a commit id",
} as const;

const path = {
  type: 'string',
  maxLength: 4096,
  pattern: '^(?!/*(.*/)?\\.\\.(/|$))',
  [REFUSAL]: 'path {value} must stay inside the repository',
  description: "Directory of fleet.yaml in the repository ('' or '.' = its root); never '..'",
} as const;

const pollIntervalSeconds = {
  type: 'integer',
  minimum: 1,
  maximum: 86400,
  description:
    "Seconds between fetches when no webhook says so (default: the control plane's GITFLEET_POLL_INTERVAL_SECONDS)",
} as const;

const gitCredentials = {
  type: 'object',
  description: 'Basic-auth (username and password) or a token for the Git server; never returned',
  additionalProperties: false,
  properties: {
    username: { type: 'string', maxLength: 1024 },
    password: { type: 'string', maxLength: 16384 },
    token: { type: 'string', maxLength: 16384 },
  },
} as const;

const chartCredentials = {
  type: 'object',
  description:
    "Basic-auth credentials of the Helm repository or OCI registry the fleet's chart comes from; never returned",
  additionalProperties: false,
  properties: {
    username: { type: 'string', maxLength: 1024 },
    password: { type: 'string', maxLength: 16384 },
  },
} as const;

const problem = {
  type: 'object',
  required: ['code', 'file', 'message'],
  properties: {
    code: { type: 'string' },
    file: { type: 'string' },
    line: { type: 'integer' },
    message: { type: 'string', description: 'Starts with `file:line: `' },
  },
} as const;

const condition = {
  type: 'object',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: { type: 'string', enum: ['Ready', 'Fetched', 'Rendered', 'Stalled'] },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string' },
    message: { type: 'string' },
    lastTransitionTime: { type: 'string' },
  },
} as const;

const stage = {
  type: 'object',
  required: ['name', 'follows', 'revision', 'requires', 'clusters', 'phases', 'rollout'],
  properties: {
    name: { type: 'string' },
    follows: { type: 'string', enum: ['head', 'pinned'] },
    revision,
    chartVersion: {
      type: ['string', 'null'],
      description: 'Helm fleets: the chart version that revision renders',
    },
    requires: { type: ['string', 'null'] },
    clusters: { type: 'integer' },
    phases: {
      type: 'object',
      description: 'Clusters of the stage per phase (Unknown: never reported)',
      additionalProperties: { type: 'integer' },
    },
    rollout: {
      type: ['object', 'null'],
      required: ['state', 'revision', 'wave', 'waves', 'waveClusters', 'reason'],
      properties: {
        state: { type: 'string', enum: ['progressing', 'complete', 'halted'] },
        revision: { type: 'string' },
        previousRevision: revision,
        wave: { type: 'integer', description: 'The wave moving (1-based)' },
        waves: { type: 'integer' },
        waveClusters: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
        reason: { type: ['string', 'null'], description: 'Why a halted rollout halted' },
      },
    },
  },
} as const;

const fleetSchema = {
  $id: 'Fleet',
  type: 'object',
  required: [
    'name',
    'repo',
    'branch',
    'path',
    'project',
    'pollIntervalSeconds',
    'createdAt',
    'head',
    'lastGoodRevision',
    'source',
    'chartVersion',
    'lastSyncAt',
    'conditions',
    'fetchError',
    'errors',
    'stages',
    'policy',
  ],
  properties: {
    name: { type: 'string' },
    repo: { type: 'string' },
    branch: { type: 'string' },
    path: { type: 'string' },
    project: {
      type: ['string', 'null'],
      description: 'The project the fleet is in (none: installation admins only)',
    },
    pollIntervalSeconds: { type: 'integer' },
    createdAt: { type: 'string' },
    head: revision,
    lastGoodRevision: revision,
    source: { type: ['string', 'null'], enum: ['manifests', 'helm', 'kustomize', null] },
    chartVersion: { type: ['string', 'null'] },
    lastSyncAt: when,
    conditions: { type: 'array', items: condition },
    fetchError: { type: ['string', 'null'] },
    errors: { type: 'array', items: problem },
    stages: { type: 'array', items: stage },
    policy: {
      type: ['object', 'null'],
      additionalProperties: true,
      description: 'The fleet.yaml in force, as read (docs/concepts.md)',
    },
  },
} as const;

const objectResult = {
  type: 'object',
  required: ['apiVersion', 'kind', 'namespace', 'name', 'action', 'health', 'reason', 'message', 'drifted'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    namespace: { type: 'string' },
    name: { type: 'string' },
    action: {
      type: 'string',
      enum: ['created', 'configured', 'unchanged', 'deleted', 'failed', 'skipped', 'unknown'],
    },
    health: {
      type: 'string',
      enum: ['Current', 'InProgress', 'Failed', 'Terminating', 'NotFound', 'Unknown'],
    },
    reason: { type: 'string' },
    message: { type: 'string' },
    drifted: { type: 'boolean' },
    lastDrift: {
      type: 'object',
      description: 'The last drift correction: the fields that had changed, who changed them, when',
      properties: {
        changes: { type: 'array', items: { type: 'string' } },
        managers: { type: 'array', items: { type: 'string' } },
        correctedAt: { type: 'string' },
      },
    },
  },
} as const;

const clusterStatus = {
  type: 'object',
  required: [
    'cluster',
    'stage',
    'connected',
    'desiredRevision',
    'desiredDigest',
    'appliedRevision',
    'attemptedRevision',
    'phase',
    'message',
    'observedAt',
    'driftCorrections',
    'objects',
  ],
  properties: {
    cluster: { type: 'string' },
    stage: { type: ['string', 'null'] },
    connected: { type: 'boolean' },
    desiredRevision: revision,
    desiredDigest: { type: ['string', 'null'] },
    appliedRevision: revision,
    attemptedRevision: revision,
    phase: { type: 'string', enum: PHASES },
    message: { type: 'string' },
    observedAt: when,
    driftCorrections: { type: 'integer' },
    objects: { type: 'array', items: objectResult },
  },
} as const;

const fleet = { $ref: 'Fleet#' } as const;

/** The header with the newest event id in the history when a view was read (see EventLog.latestId). */
export const EVENT_MARK_HEADER = 'x-gitfleet-event-id';

export function fleetRoutes(app: FastifyInstance, cp: ControlPlane): void {
  const fleets = new FleetService(cp);
  app.addSchema(fleetSchema);
  // Read before the view: a live page applies the events after it on top of the view, and so
  // never shows an older state than an event it already showed.
  const markView = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header(EVENT_MARK_HEADER, await cp.history.latestId());
  };

  app.post<{ Body: CreateFleetInput }>(
    '/api/v1/fleets',
    {
      schema: {
        summary: 'Create a fleet from a Git repository, branch and path; fetches and plans it at once',
        tags: ['fleets'],
        body: {
          type: 'object',
          required: ['name', 'repo'],
          additionalProperties: false,
          properties: {
            name: {
              type: 'string',
              pattern: DNS_LABEL,
              description: "1-63 lowercase letters, digits and '-'",
              [REFUSAL]: "fleet name {value} is not valid: use 1-63 lowercase letters, digits and '-'",
            },
            repo: {
              type: 'string',
              maxLength: 2048,
              allOf: [
                {
                  // First: the sentence below quotes the URL, and a password in it must not come back.
                  // However the URL is written: the URL parser finds user info after any slashes.
                  not: {
                    type: 'string',
                    anyOf: [
                      { pattern: '//[^/]*@' },
                      { pattern: '^[A-Za-z][A-Za-z0-9+.-]*:[/\\\\]*[^/\\\\?#]*@' },
                    ],
                  },
                  [REFUSAL]:
                    'put credentials in the `credentials` field, not in the repo URL (URLs are shown by the API)',
                },
                {
                  [REFUSAL]:
                    'repo {value} is not an HTTP(S) Git URL, e.g. https://git.example.com/org/fleet.git',
                  pattern: httpUrlPattern({ userinfo: false }),
                },
              ],
              description:
                'An HTTP(S) Git URL without credentials in it (give them in `credentials`), e.g. https://git.example.com/org/fleet.git',
            },
            branch,
            path,
            pollIntervalSeconds,
            project: {
              type: 'string',
              pattern: DNS_LABEL,
              description: "The project to create it in: its name and repo must be the project's",
            },
            credentials: gitCredentials,
            chartCredentials,
          },
        },
        response: { 201: fleet },
      },
      config: {
        errors: ['FleetExists', 'Conflict', 'ProjectRefused', 'NotFound', 'Forbidden'],
        access: 'scoped',
      },
    },
    async (request, reply) => {
      const view = await fleets.create(request.body, request.access);
      reply.code(201);
      return view;
    },
  );

  app.get(
    '/api/v1/fleets',
    {
      schema: {
        summary: 'List fleets',
        tags: ['fleets'],
        response: {
          200: listOf(fleet),
        },
      },
      config: { access: 'scoped' },
    },
    async (request) => ({ items: await fleets.list(request.access) }),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/fleets/:name',
    {
      schema: {
        summary:
          'A fleet: policy, head revision, per-stage revision, rollout and cluster counts by phase, conditions, errors',
        tags: ['fleets'],
        params: nameParam,
        response: { 200: fleet },
      },
      config: { errors: ['FleetNotFound'], access: 'fleet-viewer' },
      preHandler: markView,
    },
    async (request) => fleets.get(request.params.name),
  );

  app.patch<{ Params: { name: string }; Body: UpdateFleetInput }>(
    '/api/v1/fleets/:name',
    {
      schema: {
        summary:
          'Change what a fleet follows or how it reaches it (branch, path, credentials, poll interval); a new branch, path or credentials fetch and re-plan at once, through the usual stages and gates',
        tags: ['fleets'],
        params: nameParam,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            branch,
            path,
            pollIntervalSeconds: {
              ...pollIntervalSeconds,
              type: ['integer', 'null'],
              description: `${pollIntervalSeconds.description}; null: back to the default`,
            },
            credentials: gitCredentials,
            chartCredentials,
          },
        },
        response: { 200: fleet },
      },
      config: { errors: ['FleetNotFound', 'Forbidden'], access: 'fleet-admin' },
    },
    async (request) => fleets.update(request.params.name, request.body),
  );

  app.get<{
    Params: { name: string };
    Querystring: { after?: string; limit?: string; stage?: string; phase?: (typeof PHASES)[number] };
  }>(
    '/api/v1/fleets/:name/status',
    {
      schema: {
        summary: 'Status of a fleet per cluster (desired, applied, attempted revision, phase) and per object',
        tags: ['fleets'],
        params: nameParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: {
              type: 'string',
              maxLength: 63,
              description: 'The cluster name the page starts after (`next` of the page before)',
            },
            limit: {
              type: 'string',
              pattern: '^([1-9][0-9]{0,3}|10000)$',
              description: '1 to 10000 clusters (default: all)',
            },
            stage: { type: 'string', maxLength: 63, description: 'Only the clusters of this stage' },
            phase: { type: 'string', enum: PHASES, description: 'Only the clusters in this phase' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['fleet', 'items', 'next'],
            properties: {
              fleet: { type: 'string' },
              items: { type: 'array', items: clusterStatus },
              next: {
                type: ['string', 'null'],
                description: 'Pass as `after` for the next page; null at the end',
              },
            },
          },
        },
      },
      config: { errors: ['FleetNotFound'], access: 'fleet-viewer' },
      preHandler: markView,
    },
    async (request) => {
      const { after, limit, stage, phase } = request.query;
      return fleets.status(
        request.params.name,
        {
          ...(after !== undefined ? { after } : {}),
          ...(limit !== undefined ? { limit: Number(limit) } : {}),
          ...(stage !== undefined ? { stage } : {}),
          ...(phase !== undefined ? { phase } : {}),
        },
        request.access,
      );
    },
  );

  app.get<{ Params: { name: string; cluster: string } }>(
    '/api/v1/fleets/:name/clusters/:cluster/reports',
    {
      schema: {
        summary:
          "A cluster's last reports for the fleet, newest first: phase, revisions, message, object counts",
        tags: ['fleets'],
        params: {
          type: 'object',
          required: ['name', 'cluster'],
          properties: { name: nameParam.properties.name, cluster: nameParam.properties.name },
        },
        response: {
          200: {
            type: 'object',
            required: ['fleet', 'cluster', 'items'],
            properties: {
              fleet: { type: 'string' },
              cluster: { type: 'string' },
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  required: [
                    'sequence',
                    'phase',
                    'desiredRevision',
                    'appliedRevision',
                    'attemptedRevision',
                    'message',
                    'observedAt',
                    'receivedAt',
                    'driftCorrections',
                    'objects',
                    'failedObjects',
                  ],
                  properties: {
                    sequence: { type: 'integer', description: "The agent's report sequence number" },
                    phase: { type: 'string', enum: PHASES },
                    desiredRevision: revision,
                    appliedRevision: revision,
                    attemptedRevision: revision,
                    message: { type: 'string' },
                    observedAt: {
                      type: 'string',
                      description: "When the agent observed it (the agent's clock)",
                    },
                    receivedAt: { type: 'string', description: 'When the control plane received it' },
                    driftCorrections: { type: 'integer' },
                    objects: { type: 'integer' },
                    failedObjects: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      },
      config: { errors: ['FleetNotFound', 'ClusterNotFound'], access: 'fleet-viewer' },
    },
    async (request) => {
      const { name, cluster } = request.params;
      // A cluster outside the caller's projects answers as one that is not registered.
      if (request.access && !request.access.global) {
        const found = await cp.registry.get(cluster).catch(() => undefined);
        if (!found || !request.access.seesCluster(found)) {
          throw notFound('ClusterNotFound', `cluster ${cluster} is not registered`);
        }
      }
      return fleets.reports(name, cluster);
    },
  );

  app.post<{ Params: { name: string } }>(
    '/api/v1/fleets/:name/sync',
    {
      schema: {
        summary: 'Fetch the repository now and re-plan the fleet',
        tags: ['fleets'],
        params: nameParam,
        response: { 200: fleet },
      },
      config: { errors: ['FleetNotFound', 'Forbidden'], access: 'fleet-operator' },
    },
    async (request) => fleets.sync(request.params.name),
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/fleets/:name',
    {
      schema: {
        summary: 'Delete a fleet: agents prune its objects (except those opted out)',
        tags: ['fleets'],
        params: nameParam,
        response: { 204: { type: 'null', description: 'Deleted' } },
      },
      config: { errors: ['FleetNotFound', 'Forbidden'], access: 'fleet-admin' },
    },
    async (request, reply) => {
      await fleets.delete(request.params.name);
      reply.code(204);
    },
  );
}
