// /api/v1/fleets: create (repository, branch, path, credentials), list, get (policy, head,
// per-stage revision and cluster counts by phase, errors), status per cluster and object,
// sync now, delete.
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { invalid } from '../errors.ts';
import { assignStages, conditions } from '../fleet/index.ts';
import type { RepoCredentials } from '../git/mirror.ts';
import type { FleetSpec, FleetState } from '../reconcile/fleet-store.ts';
import type { FleetPhase } from '../status/types.ts';
import { nameParam } from './input.ts';

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface CreateFleetBody {
  name: string;
  repo: string;
  branch?: string;
  path?: string;
  credentials?: { username?: string; password?: string; token?: string };
  chartCredentials?: { username?: string; password?: string };
}

/** Git's rules for a branch name (git check-ref-format --branch), for the ones users can get wrong. */
export function isBranchName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    !/[\p{Cc}\s~^:?*[\\]/u.test(name) &&
    !/^[-/]|\/$|\.$|\.lock$|\.\.|\/\/|@\{|^@$/.test(name) &&
    !name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock')) &&
    // A full commit id is taken as that commit, not as a branch, by Git clients.
    !/^[0-9a-f]{40}$|^[0-9a-f]{64}$/i.test(name)
  );
}

export async function fleetView(cp: ControlPlane, spec: FleetSpec, state: FleetState) {
  const clusters = await cp.registry.list();
  const statuses = await cp.ingestion.ofFleet(
    spec.name,
    clusters.map((c) => c.name),
  );
  const stageOf = state.policy ? assignStages(state.policy, clusters).stageOf : {};
  const stages = (state.policy?.stages ?? []).map((stage) => {
    const members = clusters.filter((c) => stageOf[c.name] === stage.name).map((c) => c.name);
    const phases: Partial<Record<FleetPhase | 'Unknown', number>> = {};
    for (const m of members) {
      const phase = statuses.get(m)?.phase ?? 'Unknown';
      phases[phase] = (phases[phase] ?? 0) + 1;
    }
    const rollout = state.rollouts[stage.name];
    return {
      name: stage.name,
      follows: stage.revision ? 'pinned' : 'head',
      revision: rollout?.revision ?? stage.revision ?? state.lastGoodRevision,
      chartVersion:
        state.chartVersions[rollout?.revision ?? stage.revision ?? state.lastGoodRevision ?? ''] ?? null,
      requires: stage.requires ?? null,
      clusters: members.length,
      phases,
      rollout: rollout
        ? {
            state: rollout.state,
            revision: rollout.revision,
            previousRevision: rollout.previousRevision,
            wave: rollout.currentWave + 1,
            waves: rollout.waves.length,
            /** The clusters of each wave, in order (the dashboard shows which wave is moving). */
            waveClusters: rollout.waves,
            reason: rollout.reason ?? null,
          }
        : null,
    };
  });
  return {
    name: spec.name,
    repo: spec.repo,
    branch: spec.branch,
    path: spec.path,
    createdAt: spec.createdAt,
    head: state.head,
    lastGoodRevision: state.lastGoodRevision,
    source: state.policy?.source ?? null,
    chartVersion: state.chartVersions[state.lastGoodRevision ?? ''] ?? null,
    lastSyncAt: state.lastSyncAt,
    // States stored before conditions existed get theirs from the fields they have.
    conditions: state.conditions?.length ? state.conditions : conditions(state, [], Date.now()),
    fetchError: state.fetchError,
    errors: [...state.errors, ...state.planErrors],
    stages,
    policy: state.policy,
  };
}

export function fleetRoutes(app: FastifyInstance, cp: ControlPlane): void {
  app.post<{ Body: CreateFleetBody }>(
    '/api/v1/fleets',
    {
      schema: {
        summary: 'Create a fleet from a Git repository, branch and path; fetches and plans it at once',
        tags: ['fleets'],
        body: {
          type: 'object',
          required: ['name', 'repo'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            repo: { type: 'string' },
            branch: { type: 'string' },
            path: { type: 'string' },
            credentials: {
              type: 'object',
              additionalProperties: false,
              properties: {
                username: { type: 'string' },
                password: { type: 'string' },
                token: { type: 'string' },
              },
            },
            chartCredentials: {
              type: 'object',
              description:
                "Basic-auth credentials of the Helm repository or OCI registry the fleet's chart comes from; never returned",
              additionalProperties: false,
              properties: {
                username: { type: 'string' },
                password: { type: 'string' },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!NAME.test(body.name)) {
        throw invalid(
          `fleet name ${JSON.stringify(body.name)} is not valid: use 1-63 lowercase letters, digits and '-'`,
        );
      }
      // Checked first: the messages below quote the URL, and a password in it must not come back.
      const url = URL.parse(body.repo);
      if (/\/\/[^/]*@/.test(body.repo) || url?.username || url?.password) {
        throw invalid(
          'put credentials in the `credentials` field, not in the repo URL (URLs are shown by the API)',
        );
      }
      if (!/^https?:\/\//.test(body.repo) || !url) {
        throw invalid(
          `repo ${JSON.stringify(body.repo)} is not an HTTP(S) Git URL, e.g. https://git.example.com/org/fleet.git`,
        );
      }
      if (body.branch !== undefined && !isBranchName(body.branch)) {
        throw invalid(
          `branch ${JSON.stringify(body.branch)} is not a valid Git branch name (no spaces, '..', '~^:?*[\\', control characters, leading '-' or '/', trailing '/', '.' or '.lock', not a commit id)`,
        );
      }
      const path = (body.path ?? '.').replace(/^\/+/, '');
      if (path.split('/').includes('..'))
        throw invalid(`path ${JSON.stringify(body.path)} must stay inside the repository`);
      const spec: FleetSpec = {
        name: body.name,
        repo: body.repo,
        branch: body.branch ?? 'main',
        path,
        createdAt: new Date().toISOString(),
      };
      const credentials: RepoCredentials = { ...body.credentials };
      await cp.fleets.create(spec, credentials, { ...body.chartCredentials });
      await cp.events.publish({ type: 'FleetCreated', fleet: spec.name });
      // Polling starts after this first sync (its scheduler runs once at once): a poll racing
      // with it would only fetch the same commit again.
      let state: Awaited<ReturnType<typeof cp.reconciler.sync>>;
      try {
        state = await cp.reconciler.sync(spec.name, { fetch: true });
      } finally {
        await cp.schedulePolling(spec.name);
      }
      reply.code(201);
      return fleetView(cp, spec, state);
    },
  );

  app.get('/api/v1/fleets', { schema: { summary: 'List fleets', tags: ['fleets'] } }, async () => {
    const fleets = await cp.fleets.list();
    return { items: await Promise.all(fleets.map(({ spec, state }) => fleetView(cp, spec, state))) };
  });

  app.get<{ Params: { name: string } }>(
    '/api/v1/fleets/:name',
    {
      schema: {
        summary:
          'A fleet: policy, head revision, per-stage revision, rollout and cluster counts by phase, errors',
        tags: ['fleets'],
        params: nameParam,
      },
    },
    async (request) => {
      const { spec, state } = await cp.fleets.get(request.params.name);
      return fleetView(cp, spec, state);
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/fleets/:name/status',
    {
      schema: {
        summary: 'Status of a fleet per cluster (desired, applied, attempted revision, phase) and per object',
        tags: ['fleets'],
        params: nameParam,
      },
    },
    async (request) => {
      const { spec, state } = await cp.fleets.get(request.params.name);
      const clusters = await cp.registry.list();
      const stageOf = state.policy ? assignStages(state.policy, clusters).stageOf : {};
      const statuses = await cp.ingestion.ofFleet(
        spec.name,
        clusters.map((c) => c.name),
      );
      // All in flight at once: ten thousand sequential round trips would take seconds.
      const desiredOf = await Promise.all(clusters.map((c) => cp.desired.getOne(c.name, spec.name)));
      const items = [];
      for (const [i, cluster] of clusters.entries()) {
        const desired = desiredOf[i];
        const status = statuses.get(cluster.name);
        if (!desired && !status && !stageOf[cluster.name]) continue;
        items.push({
          cluster: cluster.name,
          stage: desired?.stage ?? stageOf[cluster.name] ?? null,
          connected: cluster.connected,
          desiredRevision: desired?.revision ?? null,
          desiredDigest: desired?.digest ?? null,
          appliedRevision: status?.appliedRevision || null,
          attemptedRevision: status?.attemptedRevision || null,
          phase: status?.phase ?? 'Pending',
          message: status?.message ?? '',
          observedAt: status?.observedAt ?? null,
          driftCorrections: status?.driftCorrections ?? 0,
          objects: status?.objects ?? [],
        });
      }
      return { fleet: spec.name, items };
    },
  );

  app.post<{ Params: { name: string } }>(
    '/api/v1/fleets/:name/sync',
    {
      schema: {
        summary: 'Fetch the repository now and re-plan the fleet',
        tags: ['fleets'],
        params: nameParam,
      },
    },
    async (request) => {
      const { spec } = await cp.fleets.get(request.params.name);
      const state = await cp.reconciler.sync(spec.name, { fetch: true });
      return fleetView(cp, spec, state);
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/fleets/:name',
    {
      schema: {
        summary: 'Delete a fleet: agents prune its objects (except those opted out)',
        tags: ['fleets'],
        params: nameParam,
      },
    },
    async (request, reply) => {
      const name = request.params.name;
      await cp.fleets.delete(name);
      await cp.unschedulePolling(name);
      const clusters = await cp.registry.list();
      await cp.desired.setMany(
        name,
        clusters.map((c) => ({ cluster: c.name, entry: null })),
      );
      await cp.events.publish({ type: 'FleetDeleted', fleet: name });
      reply.code(204);
    },
  );
}
