// The outbox of events written by scripts. A writer's script changes state and PUBLISHes in one
// slot; the history is a stream in another, so the script cannot XADD it. The script therefore
// also puts each event in an outbox of its own slot (a hash: event id → JSON), and the writer,
// right after, records those events in the history and removes them. A writer that dies in
// between leaves them there: a sweeper on every replica finds them through an index of the
// outboxes that may hold entries and records them, so the history loses nothing.
//
// The index is a sorted set in a third slot, scored by when a writer last touched each outbox.
// A writer touches it in the same tick as its script, not after: a crash after the script must
// find the outbox indexed. A sweeper takes only outboxes untouched for the grace, and forgets
// one only when it is empty and its score unchanged since read (a script): a writer that came
// meanwhile changed the score. Touches are coarse (at most every quarter grace per outbox and
// replica): a sweeper never takes an outbox a writer touched within the grace, so a skipped
// touch cannot let one forget it, while replicas' clocks stay closer than that. An outbox
// written too often to be untouched for the grace is swept by its writers instead: each script
// returns what it found there, and its writer records what is older than the grace.
//
// Why dedupe when recording rather than a claim: the writer records without asking anyone first
// (a claim would be one more round trip on every write), so a writer stalled beyond the grace
// and a sweeper may both record an event. The history keeps the ids it recorded lately beside
// the stream, in its slot, and records an id only once (EventLog.recordOnce): whoever comes
// second adds nothing, and readers need no dedupe of their own.
import type { RedisClient } from '../store/connect.ts';
import { script } from '../store/script.ts';
import type { EventLog } from './event-log.ts';

/** An event waiting in an outbox: its field there and its JSON. */
export interface OutboxEntry {
  field: string;
  json: string;
}

/** What one script did to one outbox: the events it wrote, and what it found already there. */
export interface OutboxWrite {
  key: string;
  events: string[];
  /** HGETALL's reply before the script wrote (field, value, …): other writers' entries. */
  found: string[];
}

export interface OutboxOptions {
  /** How long an entry waits for its writer before it counts as left behind. */
  graceMs: number;
  /** Test-only (GITFLEET_FAILPOINT=after-event-script): the process dies as a script returns. */
  crashAfterScript?: boolean;
}

export interface SweepResult {
  /** Outboxes looked at, and events recorded from them. */
  outboxes: number;
  recorded: number;
}

const ID = /"id":"([^"]+)"/;

/**
 * An event's field in its outbox: its id (encodeEvent gives every event one, unique), else the
 * JSON itself. The same rule as OUTBOX_LUA's, which writes the field.
 */
export function outboxField(json: string): string {
  return ID.exec(json)?.[1] ?? json;
}

/** When an entry was written: its id starts with the time in ms; else its `time`; else long ago. */
export function writtenAt(entry: OutboxEntry): number {
  const ms = /^(\d+)-/.exec(entry.field)?.[1];
  if (ms) return Number(ms);
  try {
    const time = Date.parse((JSON.parse(entry.json) as { time?: string }).time ?? '');
    return Number.isNaN(time) ? 0 : time;
  } catch {
    return 0;
  }
}

/** The (field, value) pairs of an HGETALL reply. */
export function entriesOf(flat: string[]): OutboxEntry[] {
  const out: OutboxEntry[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ field: flat[i]!, json: flat[i + 1]! });
  return out;
}

/**
 * What a writer records after its script: its own events, and those it found that are older
 * than the grace (left behind; younger ones are another live writer's to record).
 */
export function toRecord(write: OutboxWrite, now: number, graceMs: number): OutboxEntry[] {
  const own = write.events.map((json) => ({ field: outboxField(json), json }));
  const left = entriesOf(write.found).filter((e) => now - writtenAt(e) >= graceMs);
  return [...left, ...own];
}

/**
 * Lua put before a writer's script. `outbox_publish(key, channel, event)` keeps the event in the
 * outbox and publishes it (a script runs whole, so both or neither happen). `outbox_found(key,
 * reply)` appends the outbox's entries to the reply, to be called before the script writes its
 * own: what other writers left there (OutboxWrite.found).
 */
export const OUTBOX_LUA = `
local function outbox_publish(key, channel, event)
  redis.call('HSET', key, string.match(event, '"id":"([^"]+)"') or event, event)
  redis.call('PUBLISH', channel, event)
end
local function outbox_found(key, reply)
  for _, v in ipairs(redis.call('HGETALL', key)) do reply[#reply + 1] = v end
  return reply
end
`;

// KEYS: the index. ARGV: outbox key, score read. Forgets the outbox only while no writer has
// touched it since the sweeper read it.
const forget = script(`
if redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
`);

// A sweep reads this many outboxes at a time, a few times over when more are due.
const SWEEP_BATCH = 500;
const SWEEP_ROUNDS = 10;

export class Outbox {
  readonly #redis: RedisClient;
  readonly #index: string;
  readonly #log: EventLog;
  readonly #graceMs: number;
  readonly #touchEveryMs: number;
  readonly #crash: boolean;
  /** Outbox key → when this process last touched it (successfully). */
  readonly #touched = new Map<string, number>();
  #pruned = 0;
  #timer: NodeJS.Timeout | undefined;
  #sweeping = false;

  constructor(redis: RedisClient, index: string, log: EventLog, options: OutboxOptions) {
    this.#redis = redis;
    this.#index = index;
    this.#log = log;
    this.#graceMs = options.graceMs;
    this.#touchEveryMs = Math.max(1, Math.floor(options.graceMs / 4));
    this.#crash = options.crashAfterScript === true;
  }

  /**
   * Runs a writer's script (`run`, which writes to the outboxes `keys`) beside the touch of
   * those outboxes, then records what it wrote (`writes`) in the history and removes it from
   * the outboxes. Returns the script's result.
   */
  async write<T>(keys: string[], run: () => Promise<T>, writes: (result: T) => OutboxWrite[]): Promise<T> {
    const started = Date.now();
    const [touched, ran] = await Promise.allSettled([this.#touch(keys, started), run()]);
    if (ran.status === 'rejected') throw ran.reason;
    // A reply this late may come from a script that ran after a sweeper forgot the outbox: index
    // it again before relying on it. A touch that fails leaves the record to the drain below.
    if (touched.status === 'fulfilled' && Date.now() - started > this.#touchEveryMs)
      await this.#touch(keys, Date.now(), true).catch(() => undefined);
    await this.#settle(writes(ran.value));
    return ran.value;
  }

  /** Records the entries of outboxes untouched for the grace, and forgets the emptied ones. */
  async sweep(now = Date.now()): Promise<SweepResult> {
    const result: SweepResult = { outboxes: 0, recorded: 0 };
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      const due = await this.#due(now);
      const swept = await Promise.all(due.map((o) => this.#sweepOne(o.key, o.score, now)));
      result.outboxes += due.length;
      result.recorded += swept.reduce((a, b) => a + b, 0);
      if (due.length < SWEEP_BATCH) break;
    }
    return result;
  }

  /** Sweeps every half grace until stop(); `onSwept` hears of what a sweep recorded or why it failed. */
  start(onSwept: (result: SweepResult | Error) => void): void {
    this.#timer = setInterval(
      () => {
        if (this.#sweeping) return;
        this.#sweeping = true;
        this.sweep()
          .then(onSwept, (err: Error) => onSwept(err))
          .finally(() => {
            this.#sweeping = false;
          });
      },
      Math.max(50, this.#graceMs / 2),
    );
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #touch(keys: string[], now: number, force = false): Promise<void> {
    this.#prune(now);
    const due = force
      ? keys
      : keys.filter((k) => now - (this.#touched.get(k) ?? -Infinity) >= this.#touchEveryMs);
    if (due.length === 0) return;
    const unique = [...new Set(due)];
    await this.#redis.zadd(this.#index, 'GT', ...unique.flatMap((k) => [now, k]));
    for (const k of unique) this.#touched.set(k, now);
  }

  #prune(now: number): void {
    if (now - this.#pruned < this.#touchEveryMs) return;
    this.#pruned = now;
    for (const [k, at] of this.#touched) if (now - at >= this.#touchEveryMs) this.#touched.delete(k);
  }

  async #settle(writes: OutboxWrite[]): Promise<void> {
    const now = Date.now();
    const byKey = writes
      .map((w) => ({ key: w.key, entries: toRecord(w, now, this.#graceMs) }))
      .filter((w) => w.entries.length > 0);
    if (byKey.length === 0) return;
    if (this.#crash) process.kill(process.pid, 'SIGKILL');
    await this.#log.recordOnce(byKey.flatMap((w) => w.entries));
    await Promise.all(byKey.map((w) => this.#redis.hdel(w.key, ...w.entries.map((e) => e.field))));
  }

  async #due(now: number): Promise<{ key: string; score: string }[]> {
    const flat = await this.#redis.zrangebyscore(
      this.#index,
      '-inf',
      now - this.#graceMs,
      'WITHSCORES',
      'LIMIT',
      0,
      SWEEP_BATCH,
    );
    const out: { key: string; score: string }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ key: flat[i]!, score: flat[i + 1]! });
    return out;
  }

  /** Records an outbox's left-behind entries; returns how many. */
  async #sweepOne(key: string, score: string, now: number): Promise<number> {
    const entries = entriesOf(Object.entries(await this.#redis.hgetall(key)).flat());
    const left = entries.filter((e) => now - writtenAt(e) >= this.#graceMs);
    if (left.length > 0) {
      await this.#log.recordOnce(left);
      await this.#redis.hdel(key, ...left.map((e) => e.field));
    }
    if (left.length === entries.length) await forget(this.#redis, [this.#index], [key, score]);
    // Entries too young to take, under an old score (a slow script, a skewed clock): looked at
    // again after the grace, behind the others due.
    else await this.#redis.zadd(this.#index, 'XX', 'GT', now, key);
    return left.length;
  }
}
