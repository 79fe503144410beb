// /api/v1/clusters: register (→ bootstrap token and the helm command), list with a label
// selector, get, relabel, delete (→ credential revoked, stream closed).
import { PHASES } from '@gitfleet/proto/core';
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { DomainError, notFound } from '../errors.ts';
import {
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  matchesSelector,
  parseSelector,
  SELECTOR_PATTERN,
} from '../fleet/labels.ts';
import { type Registration, validateClusterName, validateLabels } from '../registry/clusters.ts';
import { DNS_LABEL, listOf, nameParam, REFUSAL } from './input.ts';

const labels = {
  type: 'object',
  description: 'Kubernetes labels: keys name or prefix/name, values up to 63 characters',
  propertyNames: {
    pattern: LABEL_KEY_PATTERN,
    [REFUSAL]:
      "label key {value} is not a valid Kubernetes label key: use name or prefix/name, the name up to 63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit, the prefix a DNS subdomain",
  },
  additionalProperties: {
    type: 'string',
    pattern: LABEL_VALUE_PATTERN,
    [REFUSAL]:
      "label {key}: value {value} is not valid: use a string of up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
  },
} as const;

const clusterFields = {
  type: 'object',
  required: [
    'name',
    'labels',
    'createdAt',
    'registered',
    'connected',
    'lastSeen',
    'agentVersion',
    'kubernetesVersion',
  ],
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

const clusterSchema = { $ref: 'Cluster#' } as const;

const registrationSchema = {
  type: 'object',
  required: ['cluster', 'bootstrapToken', 'expiresAt', 'helmInstall'],
  properties: {
    cluster: clusterSchema,
    bootstrapToken: { type: 'string' },
    expiresAt: { type: 'string' },
    helmInstall: { type: 'string' },
  },
} as const;

const clusterDetailSchema = {
  type: 'object',
  required: [...clusterFields.required, 'fleets'],
  properties: {
    ...clusterFields.properties,
    fleets: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'fleet',
          'phase',
          'desiredRevision',
          'appliedRevision',
          'attemptedRevision',
          'message',
          'objectCount',
        ],
        properties: {
          cluster: { type: 'string' },
          fleet: { type: 'string' },
          phase: {
            type: 'string',
            enum: PHASES,
          },
          desiredRevision: { type: 'string' },
          desiredDigest: { type: 'string' },
          appliedRevision: { type: 'string' },
          attemptedRevision: { type: 'string' },
          message: { type: 'string' },
          objectCount: { type: 'integer' },
          observedAt: { type: 'string' },
          receivedAt: { type: 'string' },
          sequence: { type: 'integer' },
          driftCorrections: { type: 'integer' },
        },
      },
    },
  },
} as const;

function selectorOf(text: string): ReturnType<typeof parseSelector> {
  try {
    return parseSelector(text);
  } catch (err) {
    throw new DomainError('InvalidSelector', (err as Error).message);
  }
}

export function clusterRoutes(app: FastifyInstance, cp: ControlPlane): void {
  app.addSchema({ $id: 'Cluster', ...clusterFields });
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
            name: {
              type: 'string',
              pattern: DNS_LABEL,
              [REFUSAL]:
                "cluster name {value} is not valid: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit",
            },
            labels,
          },
          additionalProperties: false,
        },
        response: { 201: registrationSchema },
      },
      config: { errors: ['ClusterExists', 'Conflict'] },
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
      config: { errors: ['ClusterNotFound'] },
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
        querystring: {
          type: 'object',
          properties: {
            selector: {
              type: 'string',
              maxLength: 4096,
              pattern: SELECTOR_PATTERN,
              description:
                'Requirements separated by commas: k=v, k==v, k!=v, k in (a,b), k notin (a), k, !k',
            },
          },
        },
        response: {
          200: listOf(clusterSchema),
        },
      },
      config: { errors: ['InvalidSelector'], access: 'scoped' },
      // Before the schema's pattern (which accepts exactly what the parser does): the parser's
      // refusal says at which column the selector goes wrong.
      preValidation: async (request) => {
        const { selector } = request.query as { selector?: unknown };
        if (typeof selector === 'string' && selector) selectorOf(selector);
      },
    },
    async (request) => {
      const clusters = (await cp.registry.list()).filter(
        (c) => !request.access || request.access.seesCluster(c),
      );
      const { selector } = request.query;
      return {
        items: selector ? clusters.filter((c) => matchesSelector(c.labels, selectorOf(selector))) : clusters,
      };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/clusters/:name',
    {
      schema: {
        summary: 'Get a cluster with its connection state and the status of each fleet on it',
        tags: ['clusters'],
        params: nameParam,
        response: { 200: clusterDetailSchema },
      },
      config: { errors: ['ClusterNotFound'], access: 'scoped' },
    },
    async (request) => {
      const cluster = await cp.registry.get(request.params.name);
      // A cluster outside the caller's projects answers as one that is not registered.
      if (request.access && !request.access.seesCluster(cluster)) {
        throw notFound('ClusterNotFound', `cluster ${cluster.name} is not registered`);
      }
      const access = request.access;
      let fleets = await cp.ingestion.ofCluster(cluster.name);
      // Only a caller that does not see everything needs the fleets' projects.
      if (access && !access.global) {
        const specs = new Map((await cp.fleets.specs()).map((f) => [f.name, f]));
        fleets = fleets.filter((f) => {
          const spec = specs.get(f.fleet);
          return !spec || access.fleetRole(spec);
        });
      }
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
          properties: { labels },
          additionalProperties: false,
        },
        response: { 200: clusterSchema },
      },
      config: { errors: ['ClusterNotFound'] },
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
        response: { 204: { type: 'null', description: 'Deleted' } },
      },
      config: { errors: ['ClusterNotFound'] },
    },
    async (request, reply) => {
      await cp.registry.delete(request.params.name);
      reply.code(204);
    },
  );
}
