// /api/v1/events: the event history, paged (JSON), or as server-sent events (Accept:
// text/event-stream) that resume after Last-Event-ID — on any replica, since the history is in
// Redis (history/event-log.ts).
import type { FastifyInstance } from 'fastify';
import type { Access } from '../auth/access.ts';
import type { ControlPlane } from '../control-plane.ts';
import { invalid } from '../errors.ts';
import { type EventQuery, matches, type RecordedEvent, startOf } from '../history/event-log.ts';
import { REFUSAL } from './input.ts';

interface EventsQuery {
  since?: string;
  fleet?: string;
  cluster?: string;
  type?: string;
  actor?: string;
  limit?: string;
}

const eventSchema = {
  type: 'object',
  required: ['id', 'type', 'time'],
  additionalProperties: true,
  properties: {
    id: { type: 'string', description: 'Stream id: orders events; pass it as `since` or Last-Event-ID' },
    type: { type: 'string' },
    time: { type: 'string' },
    cluster: { type: 'string' },
    fleet: { type: 'string' },
    stage: { type: 'string' },
    revision: { type: 'string' },
    phase: { type: 'string' },
    reason: { type: 'string' },
    actor: { type: 'string', description: 'ApiAction: who called' },
    via: {
      type: 'string',
      enum: ['installation-token', 'api-token', 'oidc', 'anonymous', 'webhook-signature'],
    },
    action: { type: 'string', description: 'ApiAction: method and route, e.g. PATCH /api/v1/fleets/{name}' },
    status: { type: 'integer', description: "ApiAction: the answer's HTTP status" },
    object: { type: 'string', description: 'ApiAction: the name in the path, when not a fleet or a cluster' },
  },
} as const;

function filterOf(q: EventsQuery): Omit<EventQuery, 'limit'> {
  if (q.since !== undefined && !startOf(q.since)) {
    throw invalid(
      `since=${q.since} is neither an event id (as in an event's "id") nor an ISO time such as 2026-12-04T10:00:00Z`,
    );
  }
  return {
    ...(q.since !== undefined ? { since: q.since } : {}),
    ...(q.fleet !== undefined ? { fleet: q.fleet } : {}),
    ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
    ...(q.actor !== undefined ? { actor: q.actor } : {}),
    ...(q.type
      ? {
          types: q.type
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
        }
      : {}),
  };
}

/**
 * Which events a caller with project roles only may read: those of its fleets and of the
 * clusters its projects may select (undefined: all). Refreshed by the caller for long streams.
 */
async function visibleTo(
  cp: ControlPlane,
  access: Access | undefined,
): Promise<((e: RecordedEvent) => boolean) | undefined> {
  if (!access || access.global) return undefined;
  const fleets = new Set((await cp.fleets.specs()).filter((f) => access.fleetRole(f)).map((f) => f.name));
  const clusters = new Set(
    (await cp.registry.list()).filter((c) => access.seesCluster(c)).map((c) => c.name),
  );
  return (e) =>
    (e.fleet !== undefined && fleets.has(e.fleet)) ||
    (e.fleet === undefined && e.cluster !== undefined && clusters.has(e.cluster));
}

export function eventRoutes(app: FastifyInstance, cp: ControlPlane): void {
  app.get<{ Querystring: EventsQuery }>(
    '/api/v1/events',
    {
      schema: {
        summary:
          'Event history, oldest first, paged with `since` (an id or ISO time); with Accept: text/event-stream, server-sent events that resume after Last-Event-ID',
        tags: ['events'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: {
              type: 'string',
              maxLength: 64,
              pattern:
                '^([0-9]{1,16}-[0-9]{1,16}|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,3})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?)$',
              [REFUSAL]:
                'since={raw} is neither an event id (as in an event\'s "id") nor an ISO time such as 2026-12-04T10:00:00Z',
              description: "An event's id (the page starts after it) or an ISO time (at or after it)",
            },
            fleet: { type: 'string', maxLength: 63 },
            cluster: { type: 'string', maxLength: 63 },
            type: { type: 'string', maxLength: 1024, description: 'Comma-separated event types' },
            actor: { type: 'string', maxLength: 256, description: 'ApiAction events of this caller' },
            limit: {
              type: 'string',
              pattern: '^([1-9][0-9]{0,2}|1000)$',
              description: '1 to 1000 (default 100)',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['items', 'next'],
            properties: {
              items: { type: 'array', items: eventSchema },
              next: {
                type: ['string', 'null'],
                description: 'Pass as `since` for the next page; null at the end',
              },
            },
          },
        },
      },
      config: { access: 'scoped' },
    },
    async (request, reply) => {
      const filter = filterOf(request.query);
      let visible = await visibleTo(cp, request.access);
      if (!(request.headers.accept ?? '').includes('text/event-stream')) {
        const page = await cp.history.page({ ...filter, limit: Number(request.query.limit ?? 100) });
        // Fewer items than the limit, then: `next` still pages on through the rest.
        return visible ? { ...page, items: page.items.filter(visible) } : page;
      }
      const lastEventId = request.headers['last-event-id'];
      const after = typeof lastEventId === 'string' && startOf(lastEventId) ? lastEventId : filter.since;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.write(': connected\n\n');
      const send = (e: RecordedEvent) => {
        if (matches(e, filter) && (!visible || visible(e))) {
          res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        }
      };
      // An ISO `since` replays from that time; an id (Last-Event-ID) after that event.
      const from = after ? startOf(after) : null;
      const stop = await cp.history.follow(
        send,
        from ? (from.exclusive ? from.id : previousId(from.id)) : undefined,
      );
      const keepalive = setInterval(() => {
        res.write(': keepalive\n\n');
        // Fleets and clusters come and go: what a project caller may see is looked at again.
        if (visible) {
          visibleTo(cp, request.access).then(
            (v) => {
              visible = v;
            },
            () => {},
          );
        }
      }, 15_000);
      request.raw.on('close', () => {
        clearInterval(keepalive);
        stop();
      });
    },
  );
}

/** The id just before `ms-0`, so that following "after" it includes that millisecond. */
function previousId(id: string): string {
  const ms = Number(id.split('-')[0]);
  return ms > 0 ? `${ms - 1}-${Number.MAX_SAFE_INTEGER}` : '0-0';
}
