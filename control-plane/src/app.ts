// Builds the REST API as a Fastify app around a started ControlPlane. `server.ts` alone
// listens; tests build the app and use `inject`.
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import type { ControlPlane } from './control-plane.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { ApiError, storeUnavailable } from './errors.ts';
import { FleetError } from './fleet/index.ts';
import { registerAuth } from './routes/auth.ts';
import { clusterRoutes } from './routes/clusters.ts';
import { diffRoutes } from './routes/diff.ts';
import { eventRoutes } from './routes/events.ts';
import { fleetRoutes } from './routes/fleets.ts';
import {
  ajvOptions,
  BODY_LIMIT,
  fastifyInputError,
  jsonBodyError,
  MAX_PARAM_LENGTH,
  validationMessage,
} from './routes/input.ts';
import { promotionRoutes } from './routes/promotions.ts';
import { systemRoutes } from './routes/system.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { isRedisUnavailable } from './store/availability.ts';

export async function buildApp(cp: ControlPlane): Promise<FastifyInstance> {
  const { apiTlsCertFile, apiTlsKeyFile } = cp.config;
  // HTTPS when a certificate is configured; otherwise plain HTTP, for a TLS-terminating proxy or
  // Ingress in front (docs/operations.md). Typed as the plain instance: routes do not care.
  const app = Fastify({
    ...(apiTlsCertFile && apiTlsKeyFile
      ? { https: { cert: readFileSync(apiTlsCertFile), key: readFileSync(apiTlsKeyFile) } }
      : {}),
    loggerInstance: cp.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: ajvOptions },
    // A malformed or overlong URL is refused before routing; answer it like any other error.
    frameworkErrors: (err, _request, reply) => {
      const refusal = fastifyInputError(err, BODY_LIMIT) ?? new ApiError(400, 'InvalidRequest', err.message);
      return (reply as FastifyReply)
        .code(refusal.status)
        .send({ code: refusal.code, message: refusal.message });
    },
  });

  // Fastify's JSON parser (which refuses prototype-poisoning keys) with a message that says
  // where the JSON is broken.
  const secureJson = app.getDefaultJsonParser('error', 'error');
  // Bodies are JSON only: a text/plain body is refused as such (415), not read as a string.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    secureJson(request, String(body), (err, value) => done(err ? jsonBodyError(String(body)) : null, value)),
  );

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'gitfleet',
        version: '0.1.0',
        description: 'GitOps control plane for fleets of Kubernetes clusters',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((err: FastifyError | ApiError | FleetError | Error, request, reply) => {
    if (err instanceof ApiError) {
      return reply
        .code(err.status)
        .send({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
    }
    if (err instanceof FleetError) {
      return reply.code(422).send({ code: err.code, message: err.message, details: err.problems });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      return reply.code(400).send({
        code: 'InvalidRequest',
        message: validationMessage(fe.validation, fe.validationContext ?? 'request'),
      });
    }
    const refusal = fastifyInputError(fe, request.routeOptions.bodyLimit ?? BODY_LIMIT);
    if (refusal) return reply.code(refusal.status).send({ code: refusal.code, message: refusal.message });
    if (fe.statusCode && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ code: 'InvalidRequest', message: fe.message });
    }
    // Redis down or reconnecting: a 503 the caller can retry, not an internal error.
    if (isRedisUnavailable(err, cp.redis)) {
      const unavailable = storeUnavailable();
      return reply
        .code(unavailable.status)
        .header('retry-after', '5')
        .send({ code: unavailable.code, message: unavailable.message });
    }
    request.log.error({ err }, 'request failed');
    return reply
      .code(500)
      .send({ code: 'Internal', message: 'internal error; the control plane log has the details' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ code: 'NotFound', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  registerAuth(app, cp.config.apiTokens);
  systemRoutes(app, cp);
  clusterRoutes(app, cp);
  fleetRoutes(app, cp);
  diffRoutes(app, cp);
  eventRoutes(app, cp);
  promotionRoutes(app, cp);
  webhookRoutes(app, cp);
  await app.register(import('./routes/notifications.ts'), { cp });
  await app.register(dashboardRoutes);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
