// GET /api/v1/fleets/{name}/diff: what a revision or branch would change in each cluster,
// compared by the clusters' agents (previews/service.ts). For a pull request's CI job ("what
// does this do to prod") and for a promotion before it is made.
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { nameParam } from './input.ts';

const objectSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'namespace', 'name', 'change', 'diff', 'message', 'changedKeys'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    namespace: { type: 'string' },
    name: { type: 'string' },
    change: { type: 'string', enum: ['created', 'changed', 'deleted', 'unchanged', 'failed'] },
    diff: {
      type: 'string',
      description: 'Unified diff of the live object against the dry-run result (YAML)',
    },
    message: { type: 'string' },
    changedKeys: {
      type: 'array',
      items: { type: 'string' },
      description: "A Secret's keys whose values would change; values are never shown",
    },
  },
} as const;

const clusterSchema = {
  type: 'object',
  required: ['cluster', 'stage', 'outcome', 'message', 'summary', 'objects'],
  properties: {
    cluster: { type: 'string' },
    stage: { type: 'string' },
    outcome: { type: 'string', enum: ['compared', 'not-connected', 'timed-out', 'render-failed', 'failed'] },
    message: { type: 'string' },
    summary: {
      type: 'object',
      required: ['created', 'changed', 'deleted', 'unchanged', 'failed'],
      properties: {
        created: { type: 'integer' },
        changed: { type: 'integer' },
        deleted: { type: 'integer' },
        unchanged: { type: 'integer' },
        failed: { type: 'integer' },
      },
    },
    objects: { type: 'array', items: objectSchema },
  },
} as const;

interface DiffQuery {
  revision?: string;
  stage?: string;
  cluster?: string;
  timeoutSeconds?: string;
}

export function diffRoutes(app: FastifyInstance, cp: ControlPlane): void {
  app.get<{ Params: { name: string }; Querystring: DiffQuery }>(
    '/api/v1/fleets/:name/diff',
    {
      schema: {
        summary:
          'Preview: what a commit or branch would change in each cluster (a server-side dry-run by each connected agent)',
        tags: ['fleets'],
        params: nameParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            revision: {
              type: 'string',
              minLength: 1,
              maxLength: 255,
              description: "A commit (full or abbreviated) or a branch; default: the fleet's branch",
            },
            stage: { type: 'string', minLength: 1, maxLength: 63 },
            cluster: { type: 'string', minLength: 1, maxLength: 63 },
            timeoutSeconds: {
              type: 'string',
              pattern: '^([1-9]|[1-9][0-9]|1[01][0-9]|120)$',
              description: 'How long agents have to answer: 1 to 120 (default 15)',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['fleet', 'revision', 'changed', 'clusters'],
            properties: {
              fleet: { type: 'string' },
              revision: { type: 'string' },
              changed: {
                type: 'boolean',
                description: 'Some cluster would change, or could not be compared',
              },
              clusters: { type: 'array', items: clusterSchema },
            },
          },
        },
      },
      config: {
        errors: [
          'FleetNotFound',
          'RevisionNotFound',
          'ClusterNotFound',
          'StageNotFound',
          'InvalidRevision',
          'GitError',
          'GitUnavailable',
        ],
        access: 'fleet-viewer',
      },
    },
    async (request) => {
      const { spec } = await cp.fleets.get(request.params.name);
      const { revision, stage, cluster, timeoutSeconds = '15' } = request.query;
      return cp.previews.diff(spec.name, revision ?? spec.branch, {
        ...(stage ? { stage } : {}),
        ...(cluster ? { cluster } : {}),
        timeoutMs: Number(timeoutSeconds) * 1000,
      });
    },
  );
}
