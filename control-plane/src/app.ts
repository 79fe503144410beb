// Builds the REST API as a Fastify app around a started ControlPlane. `server.ts` alone
// listens; tests build the app and use `inject`.
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { ControlPlane } from './control-plane.ts';
import { ApiError } from './errors.ts';
import { FleetError } from './fleet/index.ts';
import { registerAuth } from './routes/auth.ts';
import { clusterRoutes } from './routes/clusters.ts';
import { fleetRoutes } from './routes/fleets.ts';
import { promotionRoutes } from './routes/promotions.ts';
import { systemRoutes } from './routes/system.ts';
import { webhookRoutes } from './routes/webhooks.ts';

export async function buildApp(cp: ControlPlane): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: cp.logger.child({ component: 'api' }) as FastifyBaseLogger,
  });

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
      return reply.code(400).send({ code: 'InvalidRequest', message: `request ${fe.message}` });
    }
    if (fe.statusCode && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ code: 'InvalidRequest', message: fe.message });
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
  promotionRoutes(app, cp);
  webhookRoutes(app, cp);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
