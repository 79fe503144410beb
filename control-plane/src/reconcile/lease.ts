// One writer per fleet across every replica: a lease with a fencing token, kept in the
// fleet's own Redis hash (one key, so one Redis Cluster slot, and gone with the fleet).
//
// A replica that wants a pass asks for the lease. Free (or expired): it gets a token one
// higher than any before and runs. Held: the request is recorded as owed in the hash, and
// the holder, before letting go, runs one more pass for everything owed meanwhile. Both are
// one script each, so no request falls between a holder's last look and its release. The
// holder renews while it works; its final write (FleetStore.commit) succeeds only while the
// hash still names its token, so a holder that paused past its lease and lost it to another
// replica cannot write over what the newer holder wrote, nor publish its events.
//
// A holder that dies leaves its lease to expire, with the pass it ran (and anything owed)
// marked in the hash: `due` finds such fleets and any replica takes them over.
//
// Requests are numbered: a caller that must see the pass it asked for (the API's sync) waits
// until the fleet's `served` number reaches its own, whichever replica ran that pass.
// Times come from Redis (TIME), so replicas' clocks do not matter.
import type { RedisClient } from '../store/connect.ts';
import { type Script, script } from '../store/script.ts';

const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

// KEYS: fleet hash. ARGV: ttl ms, fetch ('1'/'0'), holder.
// Returns {-1} for no such fleet, {0, request} when owed, {1, request, token, fetch} when acquired.
const ACQUIRE = script(`
if redis.call('HEXISTS', KEYS[1], 'spec') == 0 then return {-1} end
${NOW}
local request = redis.call('HINCRBY', KEYS[1], 'requests', 1)
local h = redis.call('HMGET', KEYS[1], 'lease', 'leaseUntil', 'owed', 'running')
local fetch = ARGV[2] == '1' or h[3] == '1' or h[4] == '1'
if h[1] and tonumber(h[2]) > now then
  redis.call('HSET', KEYS[1], 'owed', fetch and '1' or '0')
  return {0, request}
end
-- Tokens of a fleet deleted and created again start past any its earlier life handed out.
if redis.call('HEXISTS', KEYS[1], 'fence') == 0 then redis.call('HSET', KEYS[1], 'fence', now) end
local token = redis.call('HINCRBY', KEYS[1], 'fence', 1)
redis.call('HDEL', KEYS[1], 'owed')
redis.call('HSET', KEYS[1], 'lease', token, 'leaseUntil', now + tonumber(ARGV[1]),
  'holder', ARGV[3], 'serving', request, 'running', fetch and '1' or '0')
return {1, request, token, fetch and 1 or 0}
`);

// KEYS: fleet hash. ARGV: token, ttl ms. 1 while the token holds the lease, 0 once it lost it.
const RENEW = script(`
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
${NOW}
redis.call('HSET', KEYS[1], 'leaseUntil', now + tonumber(ARGV[2]))
return 1
`);

// KEYS: fleet hash. ARGV: token, ttl ms.
// {-1} lost, {0} released, {1, fetch} kept for one more pass that serves what was owed.
const RELEASE = script(`
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return {-1} end
local owed = redis.call('HGET', KEYS[1], 'owed')
if owed then
  ${NOW}
  redis.call('HDEL', KEYS[1], 'owed')
  redis.call('HSET', KEYS[1], 'leaseUntil', now + tonumber(ARGV[2]),
    'serving', redis.call('HGET', KEYS[1], 'requests'), 'running', owed)
  return {1, tonumber(owed)}
end
redis.call('HDEL', KEYS[1], 'lease', 'leaseUntil', 'holder', 'running')
return {0}
`);

// KEYS: fleet hash. 1 when a pass is owed or was left unfinished and nobody holds the lease.
const DUE = script(`
local h = redis.call('HMGET', KEYS[1], 'lease', 'leaseUntil', 'owed', 'running', 'spec')
if not h[5] then return 0 end
if not h[3] and not h[4] then return 0 end
${NOW}
if h[1] and tonumber(h[2]) > now then return 0 end
return 1
`);

export type Claim =
  | { acquired: true; token: number; request: number; fetch: boolean }
  | { acquired: false; request: number };

export class FleetLeases {
  readonly #redis: RedisClient;
  readonly #key: (fleet: string) => string;
  readonly #holder: string;
  /** How long a lease lasts without renewal: how soon a dead holder's fleets move. */
  readonly ttlMs: number;

  constructor(
    redis: RedisClient,
    key: (fleet: string) => string,
    options: { holder: string; ttlMs: number },
  ) {
    this.#redis = redis;
    this.#key = key;
    this.#holder = options.holder;
    this.ttlMs = options.ttlMs;
  }

  /** The lease, or the request recorded as owed to its holder; null when the fleet does not exist. */
  async acquire(fleet: string, fetch: boolean): Promise<Claim | null> {
    const r = (await this.#run(ACQUIRE, fleet, [this.ttlMs, fetch ? '1' : '0', this.#holder])) as number[];
    if (r[0] === -1) return null;
    if (r[0] === 0) return { acquired: false, request: Number(r[1]) };
    return { acquired: true, request: Number(r[1]), token: Number(r[2]), fetch: r[3] === 1 };
  }

  async renew(fleet: string, token: number): Promise<boolean> {
    return (await this.#run(RENEW, fleet, [token, this.ttlMs])) === 1;
  }

  /** Lets go, unless passes were owed meanwhile: then the holder keeps it for one more. */
  async release(fleet: string, token: number): Promise<'released' | 'lost' | { again: boolean }> {
    const r = (await this.#run(RELEASE, fleet, [token, this.ttlMs])) as number[];
    if (r[0] === -1) return 'lost';
    if (r[0] === 0) return 'released';
    return { again: r[1] === 1 };
  }

  /** Of `fleets`, those whose holder died (or that are owed a pass nobody holds). */
  async due(fleets: string[]): Promise<string[]> {
    const found = await Promise.all(fleets.map((f) => this.#run(DUE, f, [])));
    return fleets.filter((_, i) => found[i] === 1);
  }

  /** The highest request number a committed pass has served. */
  async served(fleet: string): Promise<number> {
    return Number((await this.#redis.hget(this.#key(fleet), 'served')) ?? 0);
  }

  #run(s: Script, fleet: string, args: (string | number)[]): Promise<unknown> {
    return s(this.#redis, [this.#key(fleet)], args);
  }
}
