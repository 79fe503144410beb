// /api/v1/tokens: API tokens for automation (CI jobs, scripts), each with a name, a role and
// an expiry, created by an admin and shown once, listed without their secret, revoked at once.
// Admins only, reading included: names and creators say who automates what.
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { DNS_LABEL, listOf, nameParam, REFUSAL } from './input.ts';

const DAY = 86_400;

const tokenSchema = {
  type: 'object',
  required: ['name', 'role', 'createdAt', 'expiresAt', 'createdBy'],
  properties: {
    name: { type: 'string' },
    role: { type: 'string', enum: ['admin', 'viewer', 'none'] },
    createdAt: { type: 'string' },
    expiresAt: { type: 'string' },
    createdBy: { type: 'string', description: 'The caller that created it' },
  },
} as const;

interface CreateBody {
  name: string;
  role: 'admin' | 'viewer' | 'none';
  expiresInSeconds?: number;
}

export function tokenRoutes(app: FastifyInstance, cp: ControlPlane): void {
  app.post<{ Body: CreateBody }>(
    '/api/v1/tokens',
    {
      schema: {
        summary:
          'Create an API token with a name, a role and an expiry; the token is in this answer only (it is stored hashed)',
        tags: ['auth'],
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: {
            name: {
              type: 'string',
              pattern: DNS_LABEL,
              [REFUSAL]: "token name {value} is not valid: use 1-63 lowercase letters, digits and '-'",
            },
            role: {
              type: 'string',
              enum: ['admin', 'viewer', 'none'],
              description: "Installation-wide; 'none': only the roles projects give it (by its name)",
            },
            expiresInSeconds: {
              type: 'integer',
              minimum: 5,
              maximum: 365 * DAY,
              description: 'Seconds until it expires: 5 to one year (default 30 days)',
            },
          },
        },
        response: {
          201: {
            ...tokenSchema,
            required: [...tokenSchema.required, 'token'],
            properties: {
              ...tokenSchema.properties,
              token: { type: 'string', description: 'The bearer token, shown this once' },
            },
          },
        },
      },
      config: { errors: ['Conflict'] },
    },
    async (request, reply) => {
      const created = await cp.apiTokens.create({
        name: request.body.name,
        role: request.body.role,
        expiresInSeconds: request.body.expiresInSeconds ?? 30 * DAY,
        createdBy: request.caller?.name ?? 'unknown',
      });
      request.log.info({ token: created.name, role: created.role }, 'API token created');
      reply.code(201);
      return created;
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      schema: {
        summary: 'List API tokens (never the tokens themselves)',
        tags: ['auth'],
        response: { 200: listOf(tokenSchema) },
      },
      config: { adminOnly: true, errors: ['Forbidden'] },
    },
    async () => ({ items: await cp.apiTokens.list() }),
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/tokens/:name',
    {
      schema: {
        summary: 'Revoke an API token: refused from the next request on',
        tags: ['auth'],
        params: nameParam,
        response: { 204: { type: 'null', description: 'Revoked' } },
      },
      config: { errors: ['NotFound'] },
    },
    async (request, reply) => {
      await cp.apiTokens.revoke(request.params.name);
      reply.code(204);
    },
  );
}
