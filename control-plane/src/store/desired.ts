// Desired state per cluster: for each fleet that targets the cluster, which stage, revision
// and bundle digest it should run. Bundles are stored once per digest (content-addressed,
// gzip'd), however many clusters run them. A change is published as DesiredStateChanged so
// the replica holding that cluster's stream pushes it.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import type { Events } from '../events.ts';
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

export class DesiredStateStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #events: Events;
  readonly #stored = new Set<string>();
  readonly #bundles = new Map<string, { data: Buffer; size: number }>();

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
        JSON.stringify({
          type: 'DesiredStateChanged',
          cluster: c.cluster,
          fleet,
          ...(c.entry ? { stage: c.entry.stage, revision: c.entry.revision } : {}),
          time: new Date().toISOString(),
        }),
      );
    });
    if (changed > 0) await write.exec();
    return changed;
  }

  /**
   * Stores bundles under their digests (idempotent). `encode` runs only for a digest neither
   * this process nor Redis has yet: re-plans of a big fleet must not re-encode every bundle.
   * Two pipelined round trips whatever the count — one EXISTS per bundle, one SET per missing
   * one — since a fleet of ten thousand clusters has as many bundles.
   */
  async putBundles(bundles: { digest: string; encode: () => Uint8Array }[]): Promise<void> {
    const unknown = [
      ...new Map(bundles.filter((b) => !this.#stored.has(b.digest)).map((b) => [b.digest, b])).values(),
    ];
    if (unknown.length === 0) return;
    const exists = this.#redis.pipeline();
    for (const b of unknown) exists.exists(this.#keys.bundle(b.digest));
    const found = (await exists.exec()) ?? [];
    const write = this.#redis.pipeline();
    let missing = 0;
    unknown.forEach((b, i) => {
      if (found[i]?.[1] === 1) return;
      write.set(this.#keys.bundle(b.digest), gzipSync(b.encode()));
      missing++;
    });
    if (missing > 0) await write.exec();
    if (this.#stored.size + unknown.length > 10_000) this.#stored.clear();
    for (const b of unknown) this.#stored.add(b.digest);
  }

  /**
   * The gzip'd bundle as sent to agents, and its uncompressed size, or null when unknown.
   * Bundles are immutable (content-addressed), so a small in-process cache serves the many
   * agents that receive the same bundle after one push without asking Redis each time.
   */
  async getCompressedBundle(digest: string): Promise<{ data: Buffer; size: number } | null> {
    const cached = this.#bundles.get(digest);
    if (cached) return cached;
    const data = await this.#redis.getBuffer(this.#keys.bundle(digest));
    if (!data) return null;
    const entry = { data, size: gunzipSync(data).length };
    if (this.#bundles.size >= 64) this.#bundles.delete(this.#bundles.keys().next().value as string);
    this.#bundles.set(digest, entry);
    return entry;
  }

  /** The next per-cluster sequence number for a message down the stream. */
  async nextSequence(cluster: string): Promise<number> {
    return this.#redis.incr(this.#keys.sequence(cluster));
  }
}
