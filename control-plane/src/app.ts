// Builds the REST API as a Fastify app around a started ControlPlane. `server.ts` alone
// listens; tests build the app and use `inject`.
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import { GITFLEET_VERSION } from '@gitfleet/proto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { ControlPlane } from './control-plane.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { registerAudit } from './routes/audit.ts';
import { isOpenPath, registerAuth } from './routes/auth.ts';
import { clusterRoutes } from './routes/clusters.ts';
import { diffRoutes } from './routes/diff.ts';
import { eventRoutes } from './routes/events.ts';
import { registerFleetAccess } from './routes/fleet-access.ts';
import { fleetRoutes } from './routes/fleets.ts';
import { documentErrors, errorHandler, sharedErrorSchema } from './routes/http-errors.ts';
import {
  ajvOptions,
  BODY_LIMIT,
  fastifyInputError,
  HttpRefusal,
  jsonBodyError,
  MAX_PARAM_LENGTH,
} from './routes/input.ts';
import { projectRoutes } from './routes/projects.ts';
import { promotionRoutes } from './routes/promotions.ts';
import { ssoRoutes } from './routes/sso.ts';
import { systemRoutes } from './routes/system.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { webhookRoutes } from './routes/webhooks.ts';

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
      const refusal = fastifyInputError(err, BODY_LIMIT) ?? new HttpRefusal(400, err.message);
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

  // Shared schemas are components named by their $id (the error body, the fleet, the cluster).
  app.addSchema(sharedErrorSchema);
  await app.register(swagger, {
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      // 3.1: its schemas are JSON Schema, so clients and the contract test read them as the server does.
      openapi: '3.1.0',
      info: {
        title: 'gitfleet',
        version: GITFLEET_VERSION,
        description: 'GitOps control plane for fleets of Kubernetes clusters',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler(errorHandler(cp.redis));
  // Before any route: every documented route lists every error it can answer.
  app.addHook('onRoute', (route) => documentErrors(route, isOpenPath(route.url)));
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ code: 'NotFound', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  registerAuth(app, {
    tokens: cp.config.apiTokens,
    apiTokens: cp.apiTokens,
    oidc: cp.oidc,
    projects: cp.projects,
  });
  registerFleetAccess(app, cp);
  registerAudit(app, cp.events);
  systemRoutes(app, cp);
  clusterRoutes(app, cp);
  fleetRoutes(app, cp);
  diffRoutes(app, cp);
  eventRoutes(app, cp);
  promotionRoutes(app, cp);
  tokenRoutes(app, cp);
  ssoRoutes(app, cp);
  projectRoutes(app, cp);
  webhookRoutes(app, cp);
  await app.register(import('./routes/notifications.ts'), { cp });
  await app.register(dashboardRoutes, { sso: cp.config.sso });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
