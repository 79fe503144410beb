// Desired state per cluster: for each fleet that targets the cluster, which stage, revision
// and bundle digest it should run. Bundles are stored once per digest (content-addressed,
// gzip'd), however many clusters run them. A change is published as DesiredStateChanged so
// the replica holding that cluster's stream pushes it.
import { type ApplySettings, compressBundle } from '@gitfleet/proto/core';
import { type Events, encodeEvent } from '../events.ts';
import { OUTBOX_LUA, type OutboxWrite } from '../history/outbox.ts';
import { primaries, type RedisClient } from './connect.ts';
import type { Keys } from './keys.ts';
import { script } from './script.ts';

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

// KEYS: the cluster's desired-state hash, its outbox. ARGV: fleet, entry JSON ('' = remove),
// events channel, event. Each cluster's desired state is in its own Redis Cluster slot, so this
// is one script per cluster rather than one pipeline for all: the compare, the write and the
// event that follows it stay together, and the event never reaches a replica before the write
// it announces (which it reads), as a PUBLISH sent to another node beside the write could.
// Returns 0 when nothing changed, else {1, the outbox's entries before it}.
const setDesired = script(`${OUTBOX_LUA}
local before = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if not before then return 0 end
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  if before == ARGV[2] then return 0 end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local reply = outbox_found(KEYS[2], {1})
outbox_publish(KEYS[2], ARGV[3], ARGV[4])
return reply
`);

export class DesiredStateStore {
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #events: Events;
  /** Digests this process stored or found in Redis (bounded): not asked about again. */
  readonly #stored = new Set<string>();
  /** Compressed bundles by digest, oldest first, up to BUNDLE_CACHE_BYTES in all. */
  readonly #bundles = new Map<string, { data: Buffer; size: number }>();
  #bundleBytes = 0;

  constructor(redis: RedisClient, keys: Keys, events: Events) {
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
   * Sets (entry) or removes (null) one fleet's desired state on many clusters: one script per
   * cluster (all sent in one write, by auto-pipelining), each writing only what changed and
   * announcing it; one event per changed cluster.
   */
  async setMany(fleet: string, changes: { cluster: string; entry: DesiredEntry | null }[]): Promise<number> {
    if (changes.length === 0) return 0;
    const events = changes.map((c) =>
      encodeEvent({
        type: 'DesiredStateChanged',
        cluster: c.cluster,
        fleet,
        ...(c.entry ? { stage: c.entry.stage, revision: c.entry.revision } : {}),
      }),
    );
    const outboxes = changes.map((c) => this.#keys.outbox(c.cluster));
    // What changed goes into the history too (a delivery is an event people look back on).
    const results = await this.#events.outbox.write(
      outboxes,
      () =>
        Promise.all(
          changes.map(
            (c, i) =>
              setDesired(
                this.#redis,
                [this.#keys.desired(c.cluster), outboxes[i] as string],
                [
                  fleet,
                  c.entry ? JSON.stringify(c.entry) : '',
                  this.#events.channelName,
                  events[i] as string,
                ],
              ) as Promise<0 | [1, ...string[]]>,
          ),
        ),
      (replies) =>
        replies.flatMap((r, i): OutboxWrite[] =>
          r === 0
            ? []
            : [{ key: outboxes[i] as string, events: [events[i] as string], found: r.slice(1) as string[] }],
        ),
    );
    return results.filter((r) => r !== 0).length;
  }

  /**
   * Stores bundles under their digests (idempotent); `encode` runs only for a digest neither
   * this process nor Redis has yet: re-plans of a big fleet must not re-encode every bundle, nor
   * ask Redis about each again. Two round trips whatever the count — one EXISTS + PERSIST per
   * bundle, one SET per missing one — since a fleet of ten thousand clusters has as
   * many bundles. PERSIST takes back a collector's expiry (collectBundles) from a bundle wanted
   * again; for one this process already knows, the next collection does (its grace is a day,
   * the collection hourly).
   */
  async putBundles(bundles: { digest: string; encode: () => Uint8Array }[]): Promise<void> {
    const unknown = [
      ...new Map(bundles.filter((b) => !this.#stored.has(b.digest)).map((b) => [b.digest, b])).values(),
    ];
    if (unknown.length === 0) return;
    // Single commands, not pipelines: bundles are spread over Redis Cluster slots (by digest).
    // Auto-pipelining still sends each round in one write per node.
    const found = await Promise.all(
      unknown.map((b) => {
        const key = this.#keys.bundle(b.digest);
        return Promise.all([this.#redis.exists(key), this.#redis.persist(key)]).then(([exists]) => exists);
      }),
    );
    const writes: Promise<unknown>[] = [];
    unknown.forEach((b, i) => {
      if (found[i] === 1) return;
      const data = compressBundle(b.encode());
      writes.push(this.#redis.set(this.#keys.bundle(b.digest), data));
      // The agents of this fleet ask for it right after: this replica need not read it back.
      this.#cache(b.digest, data);
    });
    await Promise.all(writes);
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
    const desired = await Promise.all(clusters.map((c) => this.#redis.hvals(this.#keys.desired(c))));
    for (const values of desired) {
      for (const json of values) live.add((JSON.parse(json) as DesiredEntry).digest);
    }
    const prefix = this.#keys.bundle('');
    let bundles = 0;
    let expiring = 0;
    // SCAN sees the keys of the node it runs on: on a Redis Cluster, each primary's in turn. The
    // writes go through the client, which sends each to wherever its key is now.
    for (const node of primaries(this.#redis)) {
      for await (const keys of node.scanStream({ match: `${prefix}*`, count: 1000 })) {
        await Promise.all(
          (keys as string[]).map((key) => {
            bundles++;
            if (live.has(key.slice(prefix.length))) return this.#redis.persist(key);
            expiring++;
            return this.#redis.expire(key, graceSeconds, 'NX');
          }),
        );
      }
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
