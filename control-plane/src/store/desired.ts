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

  /** Sets a cluster's desired state for one fleet; publishes only when something changed. */
  async set(cluster: string, entry: DesiredEntry): Promise<boolean> {
    const json = JSON.stringify(entry);
    const current = await this.#redis.hget(this.#keys.desired(cluster), entry.fleet);
    if (current === json) return false;
    await this.#redis.hset(this.#keys.desired(cluster), entry.fleet, json);
    await this.#events.publish({
      type: 'DesiredStateChanged',
      cluster,
      fleet: entry.fleet,
      stage: entry.stage,
      revision: entry.revision,
    });
    return true;
  }

  async remove(cluster: string, fleet: string): Promise<boolean> {
    const removed = await this.#redis.hdel(this.#keys.desired(cluster), fleet);
    if (removed) await this.#events.publish({ type: 'DesiredStateChanged', cluster, fleet });
    return removed > 0;
  }

  /** Stores an encoded bundle under its digest (idempotent). */
  async putBundle(digest: string, encoded: Uint8Array): Promise<void> {
    const key = this.#keys.bundle(digest);
    if (await this.#redis.exists(key)) return;
    await this.#redis.set(key, gzipSync(encoded));
  }

  /** The gzip'd bundle, as sent to agents, or null when unknown. */
  async getCompressedBundle(digest: string): Promise<Buffer | null> {
    return this.#redis.getBuffer(this.#keys.bundle(digest));
  }

  async getBundle(digest: string): Promise<Uint8Array | null> {
    const gz = await this.getCompressedBundle(digest);
    return gz ? gunzipSync(gz) : null;
  }

  /** The next per-cluster sequence number for a message down the stream. */
  async nextSequence(cluster: string): Promise<number> {
    return this.#redis.incr(this.#keys.sequence(cluster));
  }
}
