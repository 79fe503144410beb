// /api/v1/notification-targets: where notifications go (a Slack incoming webhook, or a JSON
// webhook signed with HMAC-SHA256). Admins create and delete them; viewers read them. The URL
// and the secret are sealed and never shown again: a target is shown with its URL's host and
// its health. Who is told of what is not here but in Git, in each fleet.yaml's `notify:`.
// A Fastify plugin, registered by app.ts with `{ cp }`.
import type { FastifyPluginAsync } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { DomainError } from '../errors.ts';
import { TARGET_TYPES, type TargetType } from '../notifications/targets.ts';
import { DNS_LABEL, httpUrlPattern, listOf, nameParam, REFUSAL } from './input.ts';

const when = { type: ['string', 'null'] } as const;

const targetSchema = {
  type: 'object',
  required: ['name', 'type', 'host', 'createdAt', 'health'],
  properties: {
    name: { type: 'string' },
    type: { type: 'string', enum: [...TARGET_TYPES] },
    host: { type: 'string', description: "The URL's host: the rest of the URL is a secret and is not shown" },
    createdAt: { type: 'string' },
    health: {
      type: 'object',
      properties: {
        state: {
          type: 'string',
          enum: ['unknown', 'ok', 'failing'],
          description: 'unknown until the first notification; failing: the last one was given up on',
        },
        status: { type: ['integer', 'null'], description: "The last answer's HTTP status" },
        message: { type: ['string', 'null'], description: 'Why it is failing (secret-free)' },
        failingSince: when,
        lastDeliveryAt: when,
        lastAttemptAt: when,
        retrying: {
          type: ['object', 'null'],
          description: 'The last failed attempt that will be retried',
          properties: {
            status: { type: ['integer', 'null'] },
            message: { type: 'string' },
            at: { type: 'string' },
          },
        },
      },
    },
    usedBy: {
      type: 'array',
      description: 'Fleets whose fleet.yaml in force has a notify rule naming this target',
      items: {
        type: 'object',
        properties: {
          fleet: { type: 'string' },
          file: { type: 'string' },
          line: { type: ['integer', 'null'] },
        },
      },
    },
  },
} as const;

interface CreateBody {
  name: string;
  type: TargetType;
  url: string;
  secret?: string;
}

const notificationRoutes: FastifyPluginAsync<{ cp: ControlPlane }> = async (app, { cp }) => {
  const targets = cp.notifications.targets;

  /** The fleets whose rules in force name `target`, with each rule's line. */
  const usedBy = async (target: string) => {
    const out: { fleet: string; file: string; line: number | null }[] = [];
    for (const { spec, state } of await cp.fleets.list()) {
      const base = spec.path.replace(/^\.?\/?/, '').replace(/\/$/, '');
      const file = base ? `${base}/fleet.yaml` : 'fleet.yaml';
      for (const rule of state.policy?.notify ?? []) {
        if (rule.target === target) out.push({ fleet: spec.name, file, line: rule.line ?? null });
      }
    }
    return out;
  };

  app.post<{ Body: CreateBody }>(
    '/api/v1/notification-targets',
    {
      schema: {
        summary:
          'Create a notification target: a Slack incoming webhook (`slack`: the URL is the secret) or a JSON webhook signed with HMAC-SHA256 (`webhook`: a secret is generated and returned once when none is given). URL and secret are sealed and never shown again',
        tags: ['notifications'],
        body: {
          type: 'object',
          required: ['name', 'type', 'url'],
          additionalProperties: false,
          properties: {
            name: {
              type: 'string',
              pattern: DNS_LABEL,
              description: "1-63 lowercase letters, digits and '-'",
              [REFUSAL]: "target name {value} is not valid: use 1-63 lowercase letters, digits and '-'",
            },
            type: {
              type: 'string',
              enum: [...TARGET_TYPES],
              [REFUSAL]: `type must be one of ${TARGET_TYPES.join(', ')}`,
            },
            url: {
              type: 'string',
              maxLength: 2048,
              pattern: httpUrlPattern({ userinfo: true }),
              // Not quoted: the URL is a secret.
              [REFUSAL]:
                'url is not an absolute http:// or https:// URL without a #fragment: give the URL the notifications are POSTed to',
              description: 'http(s) URL the notifications are POSTed to, without a #fragment',
            },
            secret: {
              type: 'string',
              minLength: 16,
              maxLength: 256,
              [REFUSAL]: 'secret must have 16 to 256 characters (or leave it out and one is generated)',
              description: 'webhook only: the HMAC key (16-256 characters); default: generated',
            },
          },
          // A slack target has no secret: only a webhook may carry one.
          anyOf: [
            {
              properties: {
                type: {
                  const: 'webhook',
                  [REFUSAL]:
                    'a slack target takes no secret: its incoming-webhook URL is the secret (Slack does not verify signatures)',
                },
              },
            },
            { not: { required: ['secret'] } },
          ],
        },
        response: {
          201: {
            ...targetSchema,
            properties: {
              ...targetSchema.properties,
              secret: {
                type: 'string',
                description: 'The generated webhook secret, shown this once (absent when one was given)',
              },
            },
          },
        },
      },
      config: { errors: ['Conflict'] },
    },
    async (request, reply) => {
      const created = await targets.create(request.body);
      request.log.info({ target: created.name, type: created.type }, 'notification target created');
      reply.code(201);
      return created;
    },
  );

  app.get(
    '/api/v1/notification-targets',
    {
      schema: {
        summary: 'List notification targets with their health (never their URL or secret)',
        tags: ['notifications'],
        response: {
          200: listOf(targetSchema),
        },
      },
    },
    async () => ({ items: await targets.list() }),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/notification-targets/:name',
    {
      schema: {
        summary:
          "Get a notification target: its host, health (ok, or failing with the last answer's status and message) and the fleets whose rules name it",
        tags: ['notifications'],
        params: nameParam,
        response: { 200: targetSchema },
      },
      config: { errors: ['NotFound'] },
    },
    async (request) => {
      const target = await targets.get(request.params.name);
      return { ...target, usedBy: await usedBy(target.name) };
    },
  );

  app.delete<{ Params: { name: string }; Querystring: { force?: 'true' | 'false' } }>(
    '/api/v1/notification-targets/:name',
    {
      schema: {
        summary:
          "Delete a notification target. Refused (409) while a fleet's notify rules name it, unless force=true (those rules then make the fleet's head a bad commit)",
        tags: ['notifications'],
        params: nameParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { force: { type: 'string', enum: ['true', 'false'] } },
        },
        response: { 204: { type: 'null', description: 'Deleted' } },
      },
      config: { errors: ['NotFound', 'Conflict'] },
    },
    async (request, reply) => {
      const { name } = request.params;
      await targets.get(name);
      if (request.query.force !== 'true') {
        const users = await usedBy(name);
        if (users.length > 0) {
          throw new DomainError(
            'Conflict',
            `notification target ${name} is named by the notify rules of ${users.map((u) => `fleet ${u.fleet} (${u.file}${u.line ? `:${u.line}` : ''})`).join(', ')}: remove those rules in Git first, or delete with ?force=true`,
            { usedBy: users },
          );
        }
      }
      await targets.delete(name);
      request.log.info({ target: name }, 'notification target deleted');
      reply.code(204);
    },
  );
};

export default notificationRoutes;
