// The check of a caller's role on the fleet named in the path, for routes that declare
// `config.access: 'fleet-<role>'` (routes/auth.ts): before the handler, so that a fleet the
// caller may not see answers exactly as one that does not exist.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import type { ProjectRole } from '../fleet/index.ts';

const NEEDS: Record<string, ProjectRole> = {
  'fleet-viewer': 'viewer',
  'fleet-operator': 'operator',
  'fleet-admin': 'admin',
};

export function registerFleetAccess(app: FastifyInstance, cp: ControlPlane): void {
  app.addHook('preHandler', async (request: FastifyRequest) => {
    const need = NEEDS[request.routeOptions.config?.access ?? ''];
    const name = (request.params as { name?: string } | undefined)?.name;
    if (!need || !name || !request.access) return;
    const { spec } = await cp.fleets.get(name);
    request.access.requireFleet(spec, need);
  });
}
