// Probes, metrics and the version (events: routes/events.ts).
import { GITFLEET_VERSION } from '@gitfleet/proto';
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';

export function systemRoutes(app: FastifyInstance, cp: ControlPlane): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  // Open, like the probes: which release answers says nothing about what it holds.
  app.get(
    '/version',
    {
      schema: {
        summary:
          'The version of the control plane (one for the whole project: agent, charts and CLI carry the same)',
        tags: ['system'],
        response: {
          200: { type: 'object', required: ['version'], properties: { version: { type: 'string' } } },
        },
      },
    },
    async () => ({ version: GITFLEET_VERSION }),
  );

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      // Not connected: say so at once (a probe has a timeout of a second or so) rather than
      // after the client's reconnect attempts.
      if (cp.redis.status !== 'ready') throw new Error(`connection ${cp.redis.status}`);
      await cp.redis.ping();
      return { status: 'ready' };
    } catch (err) {
      reply.code(503);
      return { status: 'not ready', reason: `redis: ${(err as Error).message}` };
    }
  });

  // Prometheus text format, computed on scrape from what Redis and this replica hold.
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const clusters = await cp.registry.list();
    const backlog = await cp.ingestion.backlog();
    const mem = process.memoryUsage();
    reply.type('text/plain; version=0.0.4');
    return [
      '# HELP gitfleet_clusters Registered clusters.',
      '# TYPE gitfleet_clusters gauge',
      `gitfleet_clusters ${clusters.length}`,
      '# HELP gitfleet_clusters_connected Clusters whose agent holds a stream (any replica).',
      '# TYPE gitfleet_clusters_connected gauge',
      `gitfleet_clusters_connected ${clusters.filter((c) => c.connected).length}`,
      '# HELP gitfleet_agent_streams Agent streams held by this replica.',
      '# TYPE gitfleet_agent_streams gauge',
      `gitfleet_agent_streams ${cp.connections.size}`,
      '# HELP gitfleet_status_backlog Status reports queued and not yet ingested.',
      '# TYPE gitfleet_status_backlog gauge',
      `gitfleet_status_backlog ${backlog}`,
      '# HELP gitfleet_renders_total Tool runs this replica made to render Helm and Kustomize sources.',
      '# TYPE gitfleet_renders_total counter',
      `gitfleet_renders_total{tool="helm"} ${cp.renderer.stats.helmTemplates}`,
      `gitfleet_renders_total{tool="kustomize"} ${cp.renderer.stats.kustomizeBuilds}`,
      '# HELP gitfleet_render_cache_hits_total Renders this replica took from a cache instead of a tool run.',
      '# TYPE gitfleet_render_cache_hits_total counter',
      `gitfleet_render_cache_hits_total{cache="replica"} ${cp.renderer.stats.cacheHits}`,
      `gitfleet_render_cache_hits_total{cache="shared"} ${cp.renderer.stats.sharedHits}`,
      '# HELP process_resident_memory_bytes Resident memory.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${mem.rss}`,
      '',
    ].join('\n');
  });
}
