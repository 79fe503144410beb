// /api/v1/clusters: register (→ bootstrap token and the helm command), list with a label
// selector, get, relabel, delete (→ credential revoked, stream closed).
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { ApiError } from '../errors.ts';
import { matchesSelector, parseSelector } from '../fleet/labels.ts';
import {
  type Cluster,
  type Registration,
  validateClusterName,
  validateLabels,
} from '../registry/clusters.ts';
import { nameParam } from './input.ts';

const clusterSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    createdAt: { type: 'string' },
    registered: { type: 'boolean' },
    connected: { type: 'boolean' },
    lastSeen: { type: ['string', 'null'] },
    agentVersion: { type: ['string', 'null'] },
    kubernetesVersion: { type: ['string', 'null'] },
  },
} as const;

const registrationSchema = {
  type: 'object',
  properties: {
    cluster: clusterSchema,
    bootstrapToken: { type: 'string' },
    expiresAt: { type: 'string' },
    helmInstall: { type: 'string' },
  },
} as const;

export function clusterRoutes(app: FastifyInstance, cp: ControlPlane): void {
  const withHelm = (r: Registration) => ({
    ...r,
    helmInstall: cp.helmInstallCommand(r.cluster.name, r.bootstrapToken),
  });

  app.post<{ Body: { name: string; labels?: Record<string, string> } }>(
    '/api/v1/clusters',
    {
      schema: {
        summary:
          'Register a cluster: returns a one-time bootstrap token and the helm command that installs its agent',
        tags: ['clusters'],
        body: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
          },
          additionalProperties: false,
        },
        response: { 201: registrationSchema },
      },
    },
    async (request, reply) => {
      const name = validateClusterName(request.body.name);
      const labels = validateLabels(request.body.labels);
      const registration = await cp.registry.register(name, labels);
      await cp.reconcileAll('cluster registered');
      reply.code(201);
      return withHelm(registration);
    },
  );

  app.post<{ Params: { name: string } }>(
    '/api/v1/clusters/:name/bootstrap-token',
    {
      schema: {
        summary:
          'Issue a new bootstrap token for an existing cluster (reinstalling its agent); the previous one dies',
        tags: ['clusters'],
        params: nameParam,
        response: { 201: registrationSchema },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return withHelm(await cp.registry.renewBootstrapToken(request.params.name));
    },
  );

  app.get<{ Querystring: { selector?: string } }>(
    '/api/v1/clusters',
    {
      schema: {
        summary: 'List clusters, optionally filtered by a label selector (e.g. env=prod,region in (eu,us))',
        tags: ['clusters'],
        querystring: { type: 'object', properties: { selector: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: clusterSchema } } } },
      },
    },
    async (request) => {
      let clusters: Cluster[] = await cp.registry.list();
      if (request.query.selector) {
        let selector: ReturnType<typeof parseSelector>;
        try {
          selector = parseSelector(request.query.selector);
        } catch (err) {
          throw new ApiError(400, 'InvalidSelector', (err as Error).message);
        }
        clusters = clusters.filter((c) => matchesSelector(c.labels, selector));
      }
      return { items: clusters };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/clusters/:name',
    {
      schema: {
        summary: 'Get a cluster with its connection state and the status of each fleet on it',
        tags: ['clusters'],
        params: nameParam,
      },
    },
    async (request) => {
      const cluster = await cp.registry.get(request.params.name);
      const fleets = await cp.ingestion.ofCluster(cluster.name);
      return {
        ...cluster,
        fleets: fleets.map(({ objects, ...summary }) => ({ ...summary, objectCount: objects.length })),
      };
    },
  );

  app.patch<{ Params: { name: string }; Body: { labels: Record<string, string> } }>(
    '/api/v1/clusters/:name',
    {
      schema: {
        summary: "Replace a cluster's labels (moves it between stages)",
        tags: ['clusters'],
        params: nameParam,
        body: {
          type: 'object',
          required: ['labels'],
          properties: { labels: { type: 'object', additionalProperties: { type: 'string' } } },
          additionalProperties: false,
        },
        response: { 200: clusterSchema },
      },
    },
    async (request) => {
      const cluster = await cp.registry.setLabels(request.params.name, validateLabels(request.body.labels));
      await cp.reconcileAll('cluster relabelled');
      return cluster;
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/clusters/:name',
    {
      schema: {
        summary: 'Delete a cluster: revokes its credential and closes its agent stream',
        tags: ['clusters'],
        params: nameParam,
      },
    },
    async (request, reply) => {
      await cp.registry.delete(request.params.name);
      reply.code(204);
    },
  );
}
