// Render results shared by every replica, content-addressed by render key. A fleet's passes
// move between replicas (the lease goes to whoever asks first), so a cache per replica alone
// would run `helm template` again on each one, and a chart that calls randAlphaNum would render
// a new output, a new digest and a re-apply every time the pass changed hands.
//
// A replica that misses takes a short lock for the key, so replicas that miss together render
// once: the others wait for the result (or for the lock to go) and read it. The lock expires on
// its own, so a replica that dies while rendering delays the others by at most its lifetime.
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { RedisClient } from '../store/connect.ts';
import { script } from '../store/script.ts';

export interface SharedRenderCacheOptions {
  /** Key of the result and of the lock, from the render key's digest. */
  resultKey: (digest: string) => string;
  lockKey: (digest: string) => string;
  /** How long a result is kept after it was last read or written. */
  ttlSeconds: number;
  /** How long a render may hold the lock: the tool's time limit and some. */
  lockMs: number;
  /** How often a waiting replica looks again. */
  pollMs?: number;
}

export type Shared<T> = { value: T; from: 'shared' | 'rendered' };

// KEYS: lock. ARGV: token. Deletes the lock only while it is still ours.
const UNLOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export class SharedRenderCache {
  readonly #redis: RedisClient;
  readonly #options: Required<SharedRenderCacheOptions>;

  constructor(redis: RedisClient, options: SharedRenderCacheOptions) {
    this.#redis = redis;
    this.#options = { pollMs: 100, ...options };
  }

  /**
   * The value stored for `key`, or `render`'s, which is stored when `keep` accepts it. Redis
   * being unreachable never fails a render: the replica renders on its own.
   */
  async getOrRender<T>(key: string, render: () => Promise<T>, keep: (v: T) => boolean): Promise<Shared<T>> {
    const digest = createHash('sha256').update(key).digest('hex');
    const resultKey = this.#options.resultKey(digest);
    const lockKey = this.#options.lockKey(digest);
    const token = randomBytes(8).toString('hex');
    const deadline = Date.now() + this.#options.lockMs;
    for (;;) {
      const found = await this.#read<T>(resultKey);
      if (found.kind === 'hit') return { value: found.value, from: 'shared' };
      if (found.kind === 'unavailable') return { value: await render(), from: 'rendered' };
      const locked = await this.#redis
        .set(lockKey, token, 'PX', this.#options.lockMs, 'NX')
        .catch(() => 'unavailable' as const);
      if (locked === 'OK') {
        // The holder before us may have stored it and let go between our read and our lock.
        const stored = await this.#read<T>(resultKey);
        if (stored.kind === 'hit') {
          await UNLOCK(this.#redis, [lockKey], [token]).catch(() => {});
          return { value: stored.value, from: 'shared' };
        }
        break;
      }
      if (locked === 'unavailable' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, this.#options.pollMs));
    }
    try {
      const value = await render();
      if (keep(value)) await this.#write(resultKey, value);
      return { value, from: 'rendered' };
    } finally {
      await UNLOCK(this.#redis, [lockKey], [token]).catch(() => {});
    }
  }

  async #read<T>(
    key: string,
  ): Promise<{ kind: 'hit'; value: T } | { kind: 'miss' } | { kind: 'unavailable' }> {
    let data: Buffer | null;
    try {
      data = await this.#redis.getexBuffer(key, 'EX', this.#options.ttlSeconds);
    } catch {
      return { kind: 'unavailable' };
    }
    if (!data) return { kind: 'miss' };
    try {
      return { kind: 'hit', value: JSON.parse(gunzipSync(data).toString('utf8')) as T };
    } catch {
      // Written by another version or damaged: render again and overwrite it.
      return { kind: 'miss' };
    }
  }

  async #write(key: string, value: unknown): Promise<void> {
    const data = gzipSync(JSON.stringify(value));
    await this.#redis.set(key, data, 'EX', this.#options.ttlSeconds).catch(() => {});
  }
}
