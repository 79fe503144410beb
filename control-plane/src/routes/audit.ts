// The audit: every API request that would change something, answered or refused, becomes an
// ApiAction event in the history (who, how they were known, what, on which name, the answer),
// queryable like any event (GET /api/v1/events?type=ApiAction&actor=…). Bodies are never
// recorded: they may hold credentials.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Events, GitfleetEvent } from '../events.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The event for an answered request, or undefined for reads and unrouted paths. */
export function auditEvent(request: FastifyRequest, reply: FastifyReply): GitfleetEvent | undefined {
  const route = request.routeOptions.url;
  if (READS.has(request.method) || !route?.startsWith('/api/')) return undefined;
  const name = (request.params as { name?: unknown } | undefined)?.name;
  const subject =
    typeof name !== 'string'
      ? {}
      : route.startsWith('/api/v1/fleets/')
        ? { fleet: name }
        : route.startsWith('/api/v1/clusters/')
          ? { cluster: name }
          : { object: name };
  const webhook = route === '/api/v1/webhooks/git';
  return {
    type: 'ApiAction',
    actor: request.caller?.name ?? (webhook ? 'git webhook' : 'anonymous'),
    via: request.caller?.by ?? (webhook ? 'webhook-signature' : 'anonymous'),
    action: `${request.method} ${route.replace(/:(\w+)/g, '{$1}')}`,
    ...subject,
    status: reply.statusCode,
    // The error's code (set by the error handler): the status alone says less.
    ...(reply.statusCode >= 400 ? { reason: request.failure ?? `HTTP ${reply.statusCode}` } : {}),
  };
}

export function registerAudit(app: FastifyInstance, events: Events): void {
  // Before the answer goes out: whoever reads the history after an answer finds the action in
  // it. The action is done by then, so an audit write that fails is logged, not answered.
  app.addHook('onSend', async (request, reply, payload) => {
    const event = auditEvent(request, reply);
    if (event)
      await events.publish(event).catch((err) => request.log.warn({ err }, 'audit event not recorded'));
    return payload;
  });
}
