// /api/v1/fleets/{name}/promotions (POST: promote a revision into a stage by a commit; GET:
// the history, read from Git) and /api/v1/fleets/{name}/rollbacks (POST: a commit restoring
// a stage's previous revision). See promotions/service.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { PromotionService } from '../promotions/service.ts';
import { listOf, nameParam, REFUSAL } from './input.ts';

const reason = { type: 'string', maxLength: 4000 } as const;

const revision = {
  type: 'string',
  pattern: '^\\s*([0-9a-fA-F]{7,40}|[0-9a-fA-F]{64})\\s*$',
  [REFUSAL]:
    'revision {value} is not a commit id; give the full hex commit id (or at least its first 7 digits)',
  description: 'A commit id, full or abbreviated to at least 7 hex digits',
} as const;

const stage = { type: 'string', minLength: 1, maxLength: 63 } as const;

const record = {
  type: 'object',
  required: ['stage', 'revision'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['promotion', 'rollback'] },
    stage: { type: 'string' },
    revision: { type: 'string' },
    commit: { type: 'string' },
    author: {
      type: 'object',
      properties: { name: { type: 'string' }, email: { type: 'string' } },
    },
    time: { type: 'string' },
    message: { type: 'string' },
    rollbackOf: { type: ['string', 'null'] },
    from: { type: ['string', 'null'] },
  },
} as const;

export function promotionRoutes(app: FastifyInstance, cp: ControlPlane): void {
  const promotions = new PromotionService(cp, { emailDomain: cp.config.commitEmailDomain });
  // The auth hook has run: every request here has a caller, and writes need an admin.
  const caller = (request: FastifyRequest) => request.caller?.name ?? 'unknown';

  app.post<{ Params: { name: string }; Body: { stage: string; revision?: string; reason?: string } }>(
    '/api/v1/fleets/:name/promotions',
    {
      schema: {
        summary:
          "Promote a revision into a stage: a commit rewriting the stage's revision in fleet.yaml, pushed to the branch. Without `revision`, the one the stage before runs; refused (409) unless every cluster of the required stage is Ready at it",
        tags: ['promotions'],
        params: nameParam,
        body: {
          type: 'object',
          required: ['stage'],
          additionalProperties: false,
          properties: { stage, revision, reason },
        },
        response: { 201: record },
      },
      config: {
        errors: [
          'FleetNotFound',
          'StageNotFound',
          'PromotionRefused',
          'Conflict',
          'GitError',
          'RevisionNotOnBranch',
          'GitUnavailable',
          'Forbidden',
        ],
        access: 'fleet-operator',
      },
    },
    async (request, reply) => {
      const result = await promotions.promote(request.params.name, request.body, caller(request));
      reply.code(201);
      return result;
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/fleets/:name/promotions',
    {
      schema: {
        summary:
          'Promotions and rollbacks of a fleet, newest first: the commits of fleet.yaml that made them',
        tags: ['promotions'],
        params: nameParam,
        response: {
          200: listOf(record),
        },
      },
      config: { errors: ['FleetNotFound', 'GitError', 'GitUnavailable'], access: 'fleet-viewer' },
    },
    async (request) => ({ items: await promotions.history(request.params.name) }),
  );

  app.post<{ Params: { name: string }; Body: { stage: string; reason?: string } }>(
    '/api/v1/fleets/:name/rollbacks',
    {
      schema: {
        summary:
          'Roll a stage back to the revision it had before its last promotion: a new commit (never a history rewrite); 409 when there is nothing to roll back to',
        tags: ['promotions'],
        params: nameParam,
        body: {
          type: 'object',
          required: ['stage'],
          additionalProperties: false,
          properties: { stage, reason },
        },
        response: { 201: record },
      },
      config: {
        errors: [
          'FleetNotFound',
          'StageNotFound',
          'RollbackRefused',
          'Conflict',
          'GitError',
          'GitUnavailable',
          'Forbidden',
        ],
        access: 'fleet-operator',
      },
    },
    async (request, reply) => {
      const result = await promotions.rollback(request.params.name, request.body, caller(request));
      reply.code(201);
      return result;
    },
  );
}
