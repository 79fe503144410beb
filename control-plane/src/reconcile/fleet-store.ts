// Fleets in Redis: what people registered (repository, branch, path, credentials) and what
// the reconciler learned (head, last good revision, errors, rollout state per stage).
// Credentials live in fields of their own that no read path returns to the API, sealed with
// the installation's secret key (store/secrets.ts), so Redis and its backups hold no password.
import { DomainError, notFound } from '../errors.ts';
import type { Events } from '../events.ts';
import { EMPTY_STATE, type FleetState } from '../fleet/index.ts';
import type { RepoCredentials } from '../git/mirror.ts';
import { OUTBOX_LUA } from '../history/outbox.ts';
import type { ChartCredentials } from '../render/helm.ts';
import type { RedisClient } from '../store/connect.ts';
import type { Keys } from '../store/keys.ts';
import { script } from '../store/script.ts';
import { SealedSecretError, SecretBox } from '../store/secrets.ts';

export type { FleetState };

export interface FleetSpec {
  name: string;
  repo: string;
  branch: string;
  /** Directory of fleet.yaml in the repository ('' or '.' = root). */
  path: string;
  /** How often the repository is fetched when no webhook says so; the installation's default when absent. */
  pollIntervalSeconds?: number;
  /** The project it is in (auth/projects.ts), which bounds its clusters and objects; absent: none. */
  project?: string;
  createdAt: string;
}

/** What a fleet update may change: the repository stays, a new one is a new fleet. */
export interface FleetChange {
  branch?: string;
  path?: string;
  pollIntervalSeconds?: number | null;
  credentials?: RepoCredentials;
  chartCredentials?: ChartCredentials;
}

// KEYS: fleet hash, its outbox. ARGV: token, state, events channel, events… Returns 0 (no such
// fleet), -1 (lease lost) or {1, the outbox's entries before it}.
const commitPass = script(`${OUTBOX_LUA}
if redis.call('HEXISTS', KEYS[1], 'spec') == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'served', redis.call('HGET', KEYS[1], 'serving') or '0')
redis.call('HINCRBY', KEYS[1], 'passes', 1)
local reply = outbox_found(KEYS[2], {1})
for i = 4, #ARGV do outbox_publish(KEYS[2], ARGV[3], ARGV[i]) end
return reply
`);

/** The fields of a fleet's hash that hold sealed credentials, and what they are called in errors. */
const SEALED_FIELDS = { credentials: 'Git credentials', chartCredentials: 'chart credentials' } as const;
type SealedField = keyof typeof SEALED_FIELDS;

// Authenticated with the sealed value: it opens only in the fleet and field it was sealed for.
function sealContext(name: string, field: SealedField): string {
  return `fleet/${name}/${field}`;
}

// KEYS: fleet hash. ARGV: field, value read, new value. Sets the field only while it still
// holds the value read: re-sealing never overwrites the credentials of a fleet deleted and
// created again in the meantime.
const replaceIfUnchanged = script(`
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`);

// KEYS: fleet hash. ARGV: spec, sealed credentials, sealed chart credentials, state. The whole
// hash at once, or nothing when the name is taken: a reader never finds a spec without the rest.
const createFleet = script(`
if redis.call('HEXISTS', KEYS[1], 'spec') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[1], 'credentials', ARGV[2], 'chartCredentials', ARGV[3], 'state', ARGV[4])
return 1
`);

// KEYS: fleet hash. ARGV: spec read, new spec, then field/value pairs to set with it. Only
// while the spec is still the one read: two updates at once never lose one's change.
const updateFleet = script(`
if redis.call('HGET', KEYS[1], 'spec') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`);

export class FleetStore {
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #secrets: SecretBox;

  constructor(redis: RedisClient, keys: Keys, secrets: SecretBox) {
    this.#redis = redis;
    this.#keys = keys;
    this.#secrets = secrets;
  }

  async create(
    spec: FleetSpec,
    credentials: RepoCredentials,
    chartCredentials: ChartCredentials = {},
  ): Promise<void> {
    const created = await createFleet(
      this.#redis,
      [this.#keys.fleet(spec.name)],
      [
        JSON.stringify(spec),
        this.#seal(spec.name, 'credentials', JSON.stringify(credentials)),
        this.#seal(spec.name, 'chartCredentials', JSON.stringify(chartCredentials)),
        JSON.stringify(EMPTY_STATE),
      ],
    );
    if (!created)
      throw new DomainError(
        'FleetExists',
        `fleet ${spec.name} already exists; delete it first or pick another name`,
      );
    // Listed only once whole (the hash above is, in one script). The list is another key, in
    // another Redis Cluster slot, so not in the same script or MULTI: a crash in between leaves
    // a fleet that is not listed (nor polled) but is found by name; DELETE removes it, and
    // creating it again says it exists.
    await this.#redis.sadd(this.#keys.fleets(), spec.name);
  }

  async get(name: string): Promise<{ spec: FleetSpec; state: FleetState }> {
    const [spec, state] = await this.#redis.hmget(this.#keys.fleet(name), 'spec', 'state');
    if (!spec) throw notFound('FleetNotFound', `fleet ${name} does not exist`);
    return {
      spec: JSON.parse(spec) as FleetSpec,
      state: { ...EMPTY_STATE, ...(state ? (JSON.parse(state) as FleetState) : {}) },
    };
  }

  /** Applies `change` to the stored spec and credentials at once; returns the spec before and after. */
  async update(name: string, change: FleetChange): Promise<{ before: FleetSpec; after: FleetSpec }> {
    const key = this.#keys.fleet(name);
    for (;;) {
      const stored = await this.#redis.hget(key, 'spec');
      if (!stored) throw notFound('FleetNotFound', `fleet ${name} does not exist`);
      const before = JSON.parse(stored) as FleetSpec;
      const { pollIntervalSeconds, ...rest } = before;
      const after: FleetSpec = {
        ...rest,
        ...(change.branch !== undefined ? { branch: change.branch } : {}),
        ...(change.path !== undefined ? { path: change.path } : {}),
      };
      const interval =
        change.pollIntervalSeconds === undefined ? pollIntervalSeconds : change.pollIntervalSeconds;
      if (interval !== undefined && interval !== null) after.pollIntervalSeconds = interval;
      const sealed: string[] = [];
      if (change.credentials)
        sealed.push('credentials', this.#seal(name, 'credentials', JSON.stringify(change.credentials)));
      if (change.chartCredentials) {
        sealed.push(
          'chartCredentials',
          this.#seal(name, 'chartCredentials', JSON.stringify(change.chartCredentials)),
        );
      }
      if (await updateFleet(this.#redis, [key], [stored, JSON.stringify(after), ...sealed])) {
        return { before, after };
      }
    }
  }

  async credentials(name: string): Promise<RepoCredentials> {
    const stored = await this.#redis.hget(this.#keys.fleet(name), 'credentials');
    return stored ? (JSON.parse(this.#open(name, 'credentials', stored)) as RepoCredentials) : {};
  }

  /** Credentials of the fleet's Helm repository or OCI registry; like Git's, never returned by the API. */
  async chartCredentials(name: string): Promise<ChartCredentials> {
    const stored = await this.#redis.hget(this.#keys.fleet(name), 'chartCredentials');
    return stored ? (JSON.parse(this.#open(name, 'chartCredentials', stored)) as ChartCredentials) : {};
  }

  /**
   * Seals the fleet's credentials again with the primary key, after a rotation or when they
   * were stored in clear before sealing existed. Returns how many fields it re-sealed: 0 when
   * they already were (or the fleet is gone), so running it again changes nothing.
   */
  async reseal(name: string): Promise<number> {
    const key = this.#keys.fleet(name);
    let resealed = 0;
    for (const field of Object.keys(SEALED_FIELDS) as SealedField[]) {
      const stored = await this.#redis.hget(key, field);
      if (stored === null || SecretBox.keyIdOf(stored) === this.#secrets.keyId) continue;
      const sealed = this.#seal(name, field, this.#open(name, field, stored));
      if (await replaceIfUnchanged(this.#redis, [key], [field, stored, sealed])) resealed++;
    }
    return resealed;
  }

  #seal(name: string, field: SealedField, plaintext: string): string {
    return this.#secrets.seal(plaintext, sealContext(name, field));
  }

  #open(name: string, field: SealedField, stored: string): string {
    // Stored in clear before credentials were sealed: still read, until `reencrypt` seals them.
    if (stored.startsWith('{')) return stored;
    try {
      return this.#secrets.open(stored, sealContext(name, field));
    } catch (err) {
      if (!(err instanceof SealedSecretError)) throw err;
      throw new DomainError(
        'CredentialsUnreadable',
        `the ${SEALED_FIELDS[field]} of fleet ${name} are ${err.message}`,
      );
    }
  }

  /**
   * Writes a pass's outcome and publishes its events (encodeEvent's), in one script, only while
   * `token` holds the fleet's lease (FleetLeases): a pass that lost its lease writes nothing and
   * announces nothing, so each event goes out once, from the pass that owned the fleet. The
   * events reach the history through the fleet's outbox. Returns false when the lease was lost;
   * a fleet deleted meanwhile stays deleted (and true is returned: there is nothing left to
   * fight over; its events were neither published nor recorded).
   */
  async commit(
    name: string,
    token: number,
    state: FleetState,
    encoded: string[],
    events: Events,
  ): Promise<boolean> {
    const outbox = this.#keys.fleetOutbox(name);
    // A pass with nothing to announce puts nothing in the outbox: no need to index it.
    const r = await events.outbox.write(
      encoded.length > 0 ? [outbox] : [],
      () =>
        commitPass(
          this.#redis,
          [this.#keys.fleet(name), outbox],
          [String(token), JSON.stringify(state), events.channelName, ...encoded],
        ) as Promise<0 | -1 | [1, ...string[]]>,
      (reply) =>
        Array.isArray(reply) ? [{ key: outbox, events: encoded, found: reply.slice(1) as string[] }] : [],
    );
    return r !== -1;
  }

  async names(): Promise<string[]> {
    return (await this.#redis.smembers(this.#keys.fleets())).sort();
  }

  /** Every fleet's spec, without its state (which holds whole rollouts): one round trip. */
  async specs(): Promise<FleetSpec[]> {
    const names = await this.names();
    if (names.length === 0) return [];
    // Not a pipeline: fleets' keys are in many Redis Cluster slots. Auto-pipelining sends these
    // in one write per node all the same.
    const specs = await Promise.all(names.map((name) => this.#redis.hget(this.#keys.fleet(name), 'spec')));
    return specs.flatMap((json) => (typeof json === 'string' ? [JSON.parse(json) as FleetSpec] : []));
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
