// Desired state per cluster: for each fleet that targets the cluster, which stage, revision
// and bundle digest it should run. Bundles are stored once per digest (content-addressed,
// gzip'd), however many clusters run them. A change is published as DesiredStateChanged so
// the replica holding that cluster's stream pushes it.
import { gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { type Events, encodeEvent } from '../events.ts';
import type { Keys } from './keys.ts';

export interface ApplySettings {
  force: boolean;
  prune: boolean;
  allowEmpty: boolean;
  correctDrift: boolean;
}

export interface DesiredEntry {
  fleet: string;
  stage: string;
  revision: string;
  digest: string;
  apply: ApplySettings;
}

// How long a bundle no cluster's desired state names is kept: a day, far beyond the hourly
// collection, so that a bundle being stored while the collector reads is never lost.
const BUNDLE_GRACE_SECONDS = 24 * 3600;

// Enough for the bundles of a push to ten thousand clusters that each run their own (~1 KB
// compressed each), and for a few big shared ones.
const BUNDLE_CACHE_BYTES = 64 * 2 ** 20;

export class DesiredStateStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #events: Events;
  /** Digests this process stored or found in Redis (bounded): not asked about again. */
  readonly #stored = new Set<string>();
  /** Compressed bundles by digest, oldest first, up to BUNDLE_CACHE_BYTES in all. */
  readonly #bundles = new Map<string, { data: Buffer; size: number }>();
  #bundleBytes = 0;

  constructor(redis: Redis, keys: Keys, events: Events) {
    this.#redis = redis;
    this.#keys = keys;
    this.#events = events;
  }

  async get(cluster: string): Promise<Map<string, DesiredEntry>> {
    const h = await this.#redis.hgetall(this.#keys.desired(cluster));
    return new Map(Object.entries(h).map(([fleet, json]) => [fleet, JSON.parse(json) as DesiredEntry]));
  }

  async getOne(cluster: string, fleet: string): Promise<DesiredEntry | undefined> {
    const json = await this.#redis.hget(this.#keys.desired(cluster), fleet);
    return json ? (JSON.parse(json) as DesiredEntry) : undefined;
  }

  /**
   * Sets (entry) or removes (null) one fleet's desired state on many clusters: one pipelined
   * read, one pipelined write of what changed, one event per changed cluster.
   */
  async setMany(fleet: string, changes: { cluster: string; entry: DesiredEntry | null }[]): Promise<number> {
    if (changes.length === 0) return 0;
    const read = this.#redis.pipeline();
    for (const c of changes) read.hget(this.#keys.desired(c.cluster), fleet);
    const current = (await read.exec()) ?? [];
    const write = this.#redis.pipeline();
    let changed = 0;
    changes.forEach((c, i) => {
      const before = current[i]?.[1] as string | null | undefined;
      const json = c.entry ? JSON.stringify(c.entry) : null;
      if ((before ?? null) === json) return;
      changed++;
      if (json) write.hset(this.#keys.desired(c.cluster), fleet, json);
      else write.hdel(this.#keys.desired(c.cluster), fleet);
      write.publish(
        this.#events.channelName,
        encodeEvent({
          type: 'DesiredStateChanged',
          cluster: c.cluster,
          fleet,
          ...(c.entry ? { stage: c.entry.stage, revision: c.entry.revision } : {}),
        }),
      );
    });
    if (changed > 0) await write.exec();
    return changed;
  }

  /**
   * Stores bundles under their digests (idempotent); `encode` runs only for a digest neither
   * this process nor Redis has yet: re-plans of a big fleet must not re-encode every bundle, nor
   * ask Redis about each again. Two pipelined round trips whatever the count — one EXISTS +
   * PERSIST per bundle, one SET per missing one — since a fleet of ten thousand clusters has as
   * many bundles. PERSIST takes back a collector's expiry (collectBundles) from a bundle wanted
   * again; for one this process already knows, the next collection does (its grace is a day,
   * the collection hourly).
   */
  async putBundles(bundles: { digest: string; encode: () => Uint8Array }[]): Promise<void> {
    const unknown = [
      ...new Map(bundles.filter((b) => !this.#stored.has(b.digest)).map((b) => [b.digest, b])).values(),
    ];
    if (unknown.length === 0) return;
    const check = this.#redis.pipeline();
    for (const b of unknown) check.exists(this.#keys.bundle(b.digest)).persist(this.#keys.bundle(b.digest));
    const found = (await check.exec()) ?? [];
    const write = this.#redis.pipeline();
    let missing = 0;
    unknown.forEach((b, i) => {
      if (found[2 * i]?.[1] === 1) return;
      const data = gzipSync(b.encode());
      write.set(this.#keys.bundle(b.digest), data);
      // The agents of this fleet ask for it right after: this replica need not read it back.
      this.#cache(b.digest, data);
      missing++;
    });
    if (missing > 0) await write.exec();
    if (this.#stored.size + unknown.length > 10_000) this.#stored.clear();
    for (const b of unknown) this.#stored.add(b.digest);
  }

  /**
   * Garbage-collects bundles. A bundle no desired state of `clusters` names gets an expiry of
   * `graceSeconds` (if it has none); one that is named again loses it (here, or in putBundles
   * when the replica storing it did not know it). The grace, much longer than the collection
   * interval, covers a bundle stored by a reconcile that has not yet written the desired state
   * naming it, and a bundle wanted again before the next collection.
   */
  async collectBundles(
    clusters: string[],
    graceSeconds = BUNDLE_GRACE_SECONDS,
  ): Promise<{ bundles: number; live: number; expiring: number }> {
    const live = new Set<string>();
    const read = this.#redis.pipeline();
    for (const c of clusters) read.hvals(this.#keys.desired(c));
    for (const [err, values] of (await read.exec()) ?? []) {
      if (err) throw err;
      for (const json of values as string[]) live.add((JSON.parse(json) as DesiredEntry).digest);
    }
    const prefix = this.#keys.bundle('');
    let bundles = 0;
    let expiring = 0;
    for await (const keys of this.#redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
      const write = this.#redis.pipeline();
      for (const key of keys as string[]) {
        bundles++;
        if (live.has(key.slice(prefix.length))) write.persist(key);
        else {
          write.expire(key, graceSeconds, 'NX');
          expiring++;
        }
      }
      if ((keys as string[]).length > 0) await write.exec();
    }
    return { bundles, live: live.size, expiring };
  }

  /**
   * The gzip'd bundle as sent to agents, and its uncompressed size, or null when unknown.
   * Bundles are immutable (content-addressed), so an in-process cache serves the agents that
   * receive a bundle after a push without asking Redis each time.
   */
  async getCompressedBundle(digest: string): Promise<{ data: Buffer; size: number } | null> {
    const cached = this.#bundles.get(digest);
    if (cached) return cached;
    const data = await this.#redis.getBuffer(this.#keys.bundle(digest));
    return data ? this.#cache(digest, data) : null;
  }

  #cache(digest: string, data: Buffer): { data: Buffer; size: number } {
    // gzip's trailer holds the uncompressed size (ISIZE, RFC 1952: mod 2^32; bundles are far
    // smaller): no need to decompress a bundle to learn it.
    const entry = { data, size: data.readUInt32LE(data.length - 4) };
    for (const [oldest, old] of this.#bundles) {
      if (this.#bundleBytes + data.length <= BUNDLE_CACHE_BYTES) break;
      this.#bundles.delete(oldest);
      this.#bundleBytes -= old.data.length;
    }
    this.#bundles.set(digest, entry);
    this.#bundleBytes += data.length;
    return entry;
  }

  /** The next per-cluster sequence number for a message down the stream. */
  async nextSequence(cluster: string): Promise<number> {
    return this.#redis.incr(this.#keys.sequence(cluster));
  }
}
