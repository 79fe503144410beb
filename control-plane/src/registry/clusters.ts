// The cluster registry in Redis: registration with a one-time bootstrap token, the exchange
// of that token for a per-cluster credential, authentication, labels, connection state and
// deletion (which revokes the credential and tells every replica to close the live stream).
import { DomainError, invalid, notFound } from '../errors.ts';
import type { Events } from '../events.ts';
import { apiVersionsDigest } from '../fleet/helm.ts';
import { isValidLabelKey, isValidLabelValue } from '../fleet/labels.ts';
import type { RedisClient } from '../store/connect.ts';
import type { Keys } from '../store/keys.ts';
import { script } from '../store/script.ts';
import { clusterOfCredential, hashesEqual, hashToken, newBootstrapToken, newCredential } from './tokens.ts';

export interface Cluster {
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  /** True once the agent exchanged its bootstrap token for a credential. */
  registered: boolean;
  connected: boolean;
  lastSeen: string | null;
  agentVersion: string | null;
  kubernetesVersion: string | null;
  /** Names the API versions the cluster serves (see capabilities); null until an agent said. */
  apiVersionsDigest: string | null;
}

export interface Registration {
  cluster: Cluster;
  bootstrapToken: string;
  expiresAt: string;
}

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function validateClusterName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalid(
      `cluster name ${JSON.stringify(name)} is not valid: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function validateLabels(labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw invalid('labels must be an object of string keys to string values, for example {"env": "prod"}');
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (!isValidLabelKey(key))
      throw invalid(
        `label key ${JSON.stringify(key)} is not a valid Kubernetes label key: use name or prefix/name, the name up to 63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit, the prefix a DNS subdomain`,
      );
    if (typeof value !== 'string') {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      throw invalid(`label ${key}: the value must be a string, like "prod", not ${kind}`);
    }
    if (!isValidLabelValue(value)) {
      throw invalid(
        `label ${key}: value ${JSON.stringify(value)} is not valid: use a string of up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      );
    }
    out[key] = value;
  }
  return out;
}

export interface AgentInfo {
  version: string;
  kubernetesVersion: string;
  /** Empty when the agent could not tell: what was known is kept. */
  apiVersions: readonly string[];
}

const TOUCH_INTERVAL_MS = 5000;
const TOUCH_IF_EXISTS = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastSeen', ARGV[1]) end`;

// KEYS: cluster record. ARGV: name, labels, createdAt. The whole record at once, or nothing when
// the name is taken: a reader never finds a half-registered cluster.
const createCluster = script(`
if redis.call('HEXISTS', KEYS[1], 'name') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'labels', ARGV[2], 'createdAt', ARGV[3], 'connected', '0')
return 1
`);

export class ClusterRegistry {
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #events: Events;
  readonly #bootstrapTtlSeconds: number;
  /** When this replica last wrote each cluster's lastSeen (see touch). */
  readonly #touched = new Map<string, number>();
  /** Lists of API versions by digest: content-addressed, so never stale. */
  readonly #capabilities = new Map<string, Promise<readonly string[]>>();

  constructor(redis: RedisClient, keys: Keys, events: Events, options: { bootstrapTtlSeconds: number }) {
    this.#redis = redis;
    this.#keys = keys;
    this.#events = events;
    this.#bootstrapTtlSeconds = options.bootstrapTtlSeconds;
  }

  async register(name: string, labels: Record<string, string>): Promise<Registration> {
    validateClusterName(name);
    const created = await createCluster(
      this.#redis,
      [this.#keys.cluster(name)],
      [name, JSON.stringify(labels), new Date().toISOString()],
    );
    if (!created) {
      throw new DomainError(
        'ClusterExists',
        `cluster ${name} is already registered; delete it first or pick another name`,
      );
    }
    // Listed once its record is whole. The list is in another Redis Cluster slot than the
    // record, so not in the same script or MULTI: a crash in between leaves a cluster that is
    // not listed but is found by name (registering it again says it exists; DELETE removes it).
    await this.#redis.sadd(this.#keys.clusters(), name);
    const { token, expiresAt } = await this.#issueBootstrapToken(name);
    await this.#events.publish({ type: 'ClusterRegistered', cluster: name });
    const cluster = await this.get(name).catch((err: unknown) => {
      if (err instanceof DomainError && err.code === 'ClusterNotFound') {
        throw new DomainError(
          'Conflict',
          `cluster ${name} was deleted by another request while it was being registered`,
        );
      }
      throw err;
    });
    return { cluster, bootstrapToken: token, expiresAt };
  }

  /** A new bootstrap token for an existing cluster (to reinstall its agent); the old one dies. */
  async renewBootstrapToken(name: string): Promise<Registration> {
    const cluster = await this.get(name);
    const { token, expiresAt } = await this.#issueBootstrapToken(name);
    return { cluster, bootstrapToken: token, expiresAt };
  }

  async #issueBootstrapToken(name: string): Promise<{ token: string; expiresAt: string }> {
    const token = newBootstrapToken();
    const hash = hashToken(token);
    // Token keys are named by the token's hash (an agent presents only the token), so they are
    // in other Redis Cluster slots than the record: no MULTI. The order fails closed: the old
    // token dies first; a crash after that leaves no usable token (the caller got an error and
    // asks again), and one after the SET leaves a new token that nobody was given, which
    // expires with its TTL.
    const previous = await this.#redis.hget(this.#keys.cluster(name), 'bootstrapHash');
    if (previous) await this.#redis.del(this.#keys.bootstrap(previous));
    await this.#redis.set(this.#keys.bootstrap(hash), name, 'EX', this.#bootstrapTtlSeconds);
    await this.#redis.hset(this.#keys.cluster(name), 'bootstrapHash', hash);
    return { token, expiresAt: new Date(Date.now() + this.#bootstrapTtlSeconds * 1000).toISOString() };
  }

  /**
   * Exchanges a bootstrap token for a credential. GETDEL makes the token single-use even
   * when two agents race with it; an expired token is simply gone.
   */
  async exchange(
    bootstrapToken: string,
    agent: AgentInfo,
  ): Promise<{ clusterName: string; credential: string } | null> {
    const name = await this.#redis.getdel(this.#keys.bootstrap(hashToken(bootstrapToken)));
    if (!name) return null;
    if (!(await this.#redis.exists(this.#keys.cluster(name)))) return null;
    const credential = newCredential(name);
    await this.#redis.hset(this.#keys.cluster(name), {
      credentialHash: hashToken(credential),
      bootstrapHash: '',
      // What charts render against is recorded by the Hello, which then renders for it.
      agentVersion: agent.version,
    });
    await this.#events.publish({
      type: 'ClusterRegistered',
      cluster: name,
      reason: 'agent exchanged its bootstrap token',
    });
    return { clusterName: name, credential };
  }

  /** The cluster a credential belongs to, or null when it is unknown or revoked. */
  async authenticate(credential: string): Promise<string | null> {
    const name = clusterOfCredential(credential);
    if (!name) return null;
    const stored = await this.#redis.hget(this.#keys.cluster(name), 'credentialHash');
    if (!stored || !hashesEqual(stored, hashToken(credential))) return null;
    return name;
  }

  async get(name: string): Promise<Cluster> {
    const h = await this.#redis.hgetall(this.#keys.cluster(name));
    if (!h.name) throw notFound('ClusterNotFound', `cluster ${name} is not registered`);
    return toCluster(h);
  }

  async exists(name: string): Promise<boolean> {
    return (await this.#redis.hexists(this.#keys.cluster(name), 'name')) === 1;
  }

  /** Names of every registered cluster, sorted. */
  async names(): Promise<string[]> {
    return (await this.#redis.smembers(this.#keys.clusters())).sort();
  }

  async list(): Promise<Cluster[]> {
    const names = await this.names();
    if (names.length === 0) return [];
    // Not a pipeline: each cluster's record is in its own Redis Cluster slot. Auto-pipelining
    // sends these in one write per node all the same.
    const records = await Promise.all(names.map((name) => this.#redis.hgetall(this.#keys.cluster(name))));
    return records.filter((h) => h?.name).map(toCluster);
  }

  async setLabels(name: string, labels: Record<string, string>): Promise<Cluster> {
    await this.get(name);
    await this.#redis.hset(this.#keys.cluster(name), 'labels', JSON.stringify(labels));
    await this.#events.publish({ type: 'ClusterLabelsChanged', cluster: name });
    return this.get(name);
  }

  /** Deletes the cluster: its credential, bootstrap token, desired state and status go with it. */
  async delete(name: string): Promise<void> {
    const h = await this.#redis.hgetall(this.#keys.cluster(name));
    if (!h.name) throw notFound('ClusterNotFound', `cluster ${name} is not registered`);
    // Everything of the cluster's own is in its slot ({name}): one DEL, atomic on a Redis
    // Cluster too. The record goes first, with it the credential: from then on the agent is
    // refused and its reports are dropped (STORE_IF_NEWER checks the record), so no history
    // comes back after this. The list and the token key are elsewhere; left behind by a crash,
    // a listed name without a record is skipped by list() and taken again by register().
    const fleets = (await this.#redis.hkeys(this.#keys.status(name))).filter((f) => !f.includes('#'));
    await this.#redis.del(
      this.#keys.cluster(name),
      this.#keys.desired(name),
      this.#keys.status(name),
      this.#keys.sequence(name),
      this.#keys.reportSequence(name),
      ...fleets.map((fleet) => this.#keys.statusHistory(name, fleet)),
    );
    await this.#redis.srem(this.#keys.clusters(), name);
    if (h.bootstrapHash) await this.#redis.del(this.#keys.bootstrap(h.bootstrapHash));
    await this.#events.publish({ type: 'ClusterDeleted', cluster: name });
  }

  /**
   * Records a Hello. Returns whether what charts render against (the Kubernetes version, the
   * served API versions) changed, so the caller can render this cluster's fleets again.
   */
  async markConnected(name: string, agent: AgentInfo): Promise<{ capabilitiesChanged: boolean }> {
    const [kubernetesVersion, digest] = await this.#redis.hmget(
      this.#keys.cluster(name),
      'kubernetesVersion',
      'apiVersionsDigest',
    );
    const fields = await this.#agentFields(agent);
    await this.#redis.hset(this.#keys.cluster(name), {
      connected: '1',
      lastSeen: new Date().toISOString(),
      ...fields,
    });
    this.#touched.set(name, Date.now());
    await this.#events.publish({ type: 'ClusterConnected', cluster: name });
    return {
      capabilitiesChanged:
        (kubernetesVersion ?? '') !== fields.kubernetesVersion ||
        ('apiVersionsDigest' in fields && (digest ?? '') !== fields.apiVersionsDigest),
    };
  }

  /**
   * The API versions a cluster serves, by the digest its record holds; empty when unknown (a
   * chart then renders with Helm's defaults, as `helm template` without --api-versions).
   */
  capabilities(digest: string | null): Promise<readonly string[]> {
    if (!digest) return Promise.resolve([]);
    let list = this.#capabilities.get(digest);
    if (!list) {
      list = this.#redis.get(this.#keys.capabilities(digest)).then((json) => (json ? JSON.parse(json) : []));
      list.catch(() => this.#capabilities.delete(digest));
      this.#capabilities.set(digest, list);
    }
    return list;
  }

  /** The cluster hash's fields of an agent description; its API versions stored by digest. */
  async #agentFields(
    agent: AgentInfo,
  ): Promise<{ agentVersion: string; kubernetesVersion: string; apiVersionsDigest?: string }> {
    const fields = { agentVersion: agent.version, kubernetesVersion: agent.kubernetesVersion };
    if (agent.apiVersions.length === 0) return fields;
    const sorted = [...new Set(agent.apiVersions)].sort();
    const digest = apiVersionsDigest(sorted);
    // Written before the record names it, so a reader never finds a digest without its list.
    await this.#redis.set(this.#keys.capabilities(digest), JSON.stringify(sorted), 'NX');
    return { ...fields, apiVersionsDigest: digest };
  }

  async markDisconnected(name: string): Promise<void> {
    this.#touched.delete(name);
    // HSET on a deleted cluster would resurrect a half hash; only touch live ones.
    if (!(await this.exists(name))) return;
    await this.#redis.hset(this.#keys.cluster(name), { connected: '0', lastSeen: new Date().toISOString() });
    await this.#events.publish({ type: 'ClusterDisconnected', cluster: name });
  }

  /**
   * Records that the cluster's agent was heard from (an ack, a heartbeat). At most once per
   * TOUCH_INTERVAL_MS per cluster and replica, in one command: after a push, ten thousand acks
   * arrive within a second, and lastSeen is read by people, who do not need it to the second.
   */
  async touch(name: string): Promise<void> {
    const now = Date.now();
    if (now - (this.#touched.get(name) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.#touched.set(name, now);
    // HSET on a deleted cluster would resurrect a half hash: only a live one is touched.
    await this.#redis.eval(TOUCH_IF_EXISTS, 1, this.#keys.cluster(name), new Date(now).toISOString());
  }
}

function toCluster(h: Record<string, string>): Cluster {
  return {
    name: h.name ?? '',
    labels: h.labels ? (JSON.parse(h.labels) as Record<string, string>) : {},
    createdAt: h.createdAt ?? '',
    registered: Boolean(h.credentialHash),
    connected: h.connected === '1',
    lastSeen: h.lastSeen || null,
    agentVersion: h.agentVersion || null,
    kubernetesVersion: h.kubernetesVersion || null,
    apiVersionsDigest: h.apiVersionsDigest || null,
  };
}
