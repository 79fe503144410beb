// Fleets in Redis: what people registered (repository, branch, path, credentials) and what
// the reconciler learned (head, last good revision, errors, rollout state per stage).
// Credentials live in a field of their own that no read path returns to the API.
import type { Redis } from 'ioredis';
import { ApiError, notFound } from '../errors.ts';
import type { FleetPolicy, Problem, RolloutState } from '../fleet/index.ts';
import type { RepoCredentials } from '../git/mirror.ts';
import type { ChartCredentials } from '../render/helm.ts';
import type { Keys } from '../store/keys.ts';

export interface FleetSpec {
  name: string;
  repo: string;
  branch: string;
  /** Directory of fleet.yaml in the repository ('' or '.' = root). */
  path: string;
  createdAt: string;
}

export interface FleetState {
  /** Branch head at the last fetch. */
  head: string | null;
  /** The newest commit that parsed and rendered cleanly; stages following the head run it. */
  lastGoodRevision: string | null;
  /** The policy at lastGoodRevision. */
  policy: FleetPolicy | null;
  /** Problems of the head commit (empty when the head is good). */
  errors: Problem[];
  /** Problems found while planning (e.g. a cluster matched by two stages). */
  planErrors: Problem[];
  rollouts: Record<string, RolloutState | undefined>;
  lastSyncAt: string | null;
  /** Why the last fetch failed (network, auth), if it did. */
  fetchError: string | null;
  /** Helm fleets: the exact chart version each commit in use resolved to (a range resolves once per commit). */
  chartVersions: Record<string, string>;
}

const EMPTY_STATE: FleetState = {
  head: null,
  lastGoodRevision: null,
  policy: null,
  errors: [],
  planErrors: [],
  rollouts: {},
  lastSyncAt: null,
  fetchError: null,
  chartVersions: {},
};

export class FleetStore {
  readonly #redis: Redis;
  readonly #keys: Keys;

  constructor(redis: Redis, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async create(
    spec: FleetSpec,
    credentials: RepoCredentials,
    chartCredentials: ChartCredentials = {},
  ): Promise<void> {
    const created = await this.#redis.hsetnx(this.#keys.fleet(spec.name), 'spec', JSON.stringify(spec));
    if (!created)
      throw new ApiError(
        409,
        'FleetExists',
        `fleet ${spec.name} already exists; delete it first or pick another name`,
      );
    await this.#redis
      .multi()
      .hset(this.#keys.fleet(spec.name), {
        credentials: JSON.stringify(credentials),
        chartCredentials: JSON.stringify(chartCredentials),
        state: JSON.stringify(EMPTY_STATE),
      })
      .sadd(this.#keys.fleets(), spec.name)
      .exec();
  }

  async get(name: string): Promise<{ spec: FleetSpec; state: FleetState }> {
    const [spec, state] = await this.#redis.hmget(this.#keys.fleet(name), 'spec', 'state');
    if (!spec) throw notFound('FleetNotFound', `fleet ${name} does not exist`);
    return {
      spec: JSON.parse(spec) as FleetSpec,
      state: { ...EMPTY_STATE, ...(state ? (JSON.parse(state) as FleetState) : {}) },
    };
  }

  async credentials(name: string): Promise<RepoCredentials> {
    const json = await this.#redis.hget(this.#keys.fleet(name), 'credentials');
    return json ? (JSON.parse(json) as RepoCredentials) : {};
  }

  /** Credentials of the fleet's Helm repository or OCI registry; like Git's, never returned by the API. */
  async chartCredentials(name: string): Promise<ChartCredentials> {
    const json = await this.#redis.hget(this.#keys.fleet(name), 'chartCredentials');
    return json ? (JSON.parse(json) as ChartCredentials) : {};
  }

  async saveState(name: string, state: FleetState): Promise<void> {
    // A fleet deleted while it was being synced stays deleted.
    if (!(await this.#redis.hexists(this.#keys.fleet(name), 'spec'))) return;
    await this.#redis.hset(this.#keys.fleet(name), 'state', JSON.stringify(state));
  }

  async names(): Promise<string[]> {
    return (await this.#redis.smembers(this.#keys.fleets())).sort();
  }

  async list(): Promise<{ spec: FleetSpec; state: FleetState }[]> {
    const out = [];
    for (const name of await this.names()) {
      try {
        out.push(await this.get(name));
      } catch {
        // deleted between the two reads
      }
    }
    return out;
  }

  async delete(name: string): Promise<void> {
    const removed = await this.#redis.del(this.#keys.fleet(name));
    await this.#redis.srem(this.#keys.fleets(), name);
    if (!removed) throw notFound('FleetNotFound', `fleet ${name} does not exist`);
  }
}
