// The event history: every event, kept in one Redis stream with a retention by count (trimmed
// as it is written) and by age (trimmed periodically). Stream ids are the events' ids: they
// order the history, page it (`since`), and let an SSE client resume with Last-Event-ID on any
// replica. Each replica tails the stream on one blocking connection and hands new entries to
// its SSE clients, so a client sees what was recorded, in order, whichever replica wrote it.
import type { GitfleetEvent } from '../events.ts';
import { duplicateRedis, type RedisClient } from '../store/connect.ts';
import { script } from '../store/script.ts';
import type { OutboxEntry } from './outbox.ts';

export interface Retention {
  /** Entries kept at most (approximately: Redis trims whole nodes). */
  maxCount: number;
  /** Entries older than this are trimmed. */
  maxAgeMs: number;
}

/** An event from the history: `id` is its place there (a stream id), `eventId` its own id. */
export type RecordedEvent = GitfleetEvent & { id: string; eventId?: string };

export interface EventQuery {
  /** An event id (exclusive) or an ISO time (inclusive): events after it. */
  since?: string;
  fleet?: string;
  cluster?: string;
  types?: string[];
  /** ApiAction events of this caller only. */
  actor?: string;
  limit: number;
}

const FIELD = 'e';

// How long the history remembers which events it recorded from outboxes: a writer and a
// sweeper that both record one event (history/outbox.ts) further apart than this record it
// twice. Far beyond the grace, which is when sweepers start taking entries.
const RECORDED_WINDOW_MS = 15 * 60_000;
// Outbox entries recorded per script: a fan-out's ten thousand do not block Redis in one.
const RECORD_CHUNK = 500;

// KEYS: the stream, the ids recorded lately (a sorted set by when, in the stream's slot). ARGV:
// max length, now, forget ids recorded before this, then id and JSON pairs. Appends each event
// whose id is not there yet. The ids are bounded like the stream: by age, and by count.
const recordOnce = script(`
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[1]) - 1)
for i = 4, #ARGV, 2 do
  if redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', '${FIELD}', ARGV[i + 1])
  end
end
return 0
`);

/** A stream id, or an ISO time turned into the first id of that millisecond. */
export function startOf(since: string): { id: string; exclusive: boolean } | null {
  if (/^\d+-\d+$/.test(since)) return { id: since, exclusive: true };
  const ms = Date.parse(since);
  if (Number.isNaN(ms)) return null;
  return { id: `${ms}-0`, exclusive: false };
}

/** Whether an event passes a query's filters (fleet, cluster, types, actor). */
export function matches(e: RecordedEvent, q: Omit<EventQuery, 'limit' | 'since'>): boolean {
  if (q.fleet !== undefined && e.fleet !== q.fleet) return false;
  if (q.actor !== undefined && e.actor !== q.actor) return false;
  if (q.cluster !== undefined && e.cluster !== q.cluster) return false;
  if (q.types?.length && !q.types.includes(e.type)) return false;
  return true;
}

function decode(entries: [string, string[]][]): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  for (const [id, fields] of entries) {
    const json = fields[fields.indexOf(FIELD) + 1];
    if (!json) continue;
    try {
      const { id: eventId, ...event } = JSON.parse(json) as GitfleetEvent;
      out.push({ ...event, ...(eventId ? { eventId } : {}), id });
    } catch {
      // not one of ours
    }
  }
  return out;
}

export class EventLog {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #recordedKey: string;
  readonly #retention: Retention;
  #tail: RedisClient | undefined;
  #tailing = false;
  readonly #listeners = new Set<(e: RecordedEvent) => void>();

  /** `keys.recorded` must be in the stream's slot (Keys.recorded). */
  constructor(redis: RedisClient, keys: { stream: string; recorded: string }, retention: Retention) {
    this.#redis = redis;
    this.#key = keys.stream;
    this.#recordedKey = keys.recorded;
    this.#retention = retention;
  }

  /** Records encoded events (encodeEvent's output), in order. */
  async append(encoded: string[]): Promise<void> {
    if (encoded.length === 0) return;
    await Promise.all(
      encoded.map((json) =>
        this.#redis.xadd(this.#key, 'MAXLEN', '~', String(this.#retention.maxCount), '*', FIELD, json),
      ),
    );
  }

  /** Records outbox entries (field = event id), in order, each id once however often it comes. */
  async recordOnce(entries: OutboxEntry[], now = Date.now()): Promise<void> {
    const chunks: OutboxEntry[][] = [];
    for (let i = 0; i < entries.length; i += RECORD_CHUNK) chunks.push(entries.slice(i, i + RECORD_CHUNK));
    // Sent together: one slot, so one connection, in order.
    await Promise.all(
      chunks.map((chunk) =>
        recordOnce(
          this.#redis,
          [this.#key, this.#recordedKey],
          [
            this.#retention.maxCount,
            now,
            now - RECORDED_WINDOW_MS,
            ...chunk.flatMap((e) => [e.field, e.json]),
          ],
        ),
      ),
    );
  }

  /**
   * The id of the newest event recorded ('0-0' when none). Read before a view's state, it marks
   * the view: every event up to it is in that state, since each is recorded after its write.
   */
  async latestId(): Promise<string> {
    const [newest] = await this.#redis.xrevrange(this.#key, '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }

  /** A page of history, oldest first, after `since` (default: the oldest kept). */
  async page(q: EventQuery): Promise<{ items: RecordedEvent[]; next: string | null }> {
    let start = '-';
    if (q.since) {
      const s = startOf(q.since);
      if (!s)
        throw new RangeError(`since=${q.since} is neither an event id (1733300000000-0) nor an ISO time`);
      start = s.exclusive ? `(${s.id}` : s.id;
    }
    const items: RecordedEvent[] = [];
    // The id of the last entry looked at: where the next page starts.
    let cursor: string | null = null;
    let exhausted = false;
    // Filters run here, over batches: a page of one fleet's events may pass over many others.
    for (let scanned = 0; items.length < q.limit && scanned < 50_000; ) {
      const batch = (await this.#redis.xrange(this.#key, start, '+', 'COUNT', 500)) as [string, string[]][];
      for (const entry of batch) {
        scanned++;
        cursor = entry[0];
        const e = decode([entry])[0];
        if (!e || !matches(e, q)) continue;
        items.push(e);
        if (items.length === q.limit) break;
      }
      if (batch.length < 500 && items.length < q.limit) {
        exhausted = true;
        break;
      }
      start = `(${cursor}`;
    }
    return { items, next: exhausted ? null : cursor };
  }

  /**
   * Calls `listener` for every event recorded from now on (and, with `after`, first for those
   * recorded after that id), until the returned function is called.
   */
  async follow(listener: (e: RecordedEvent) => void, after?: string): Promise<() => void> {
    const queued: RecordedEvent[] = [];
    let replaying = after !== undefined;
    const live = (e: RecordedEvent) => (replaying ? queued.push(e) : listener(e));
    this.#listeners.add(live);
    this.#startTail();
    if (after !== undefined) {
      let seen = after;
      for (;;) {
        const page = await this.page({ since: seen, limit: 1000 });
        for (const e of page.items) listener(e);
        if (page.items.length > 0) seen = page.items[page.items.length - 1]!.id;
        if (!page.next) break;
      }
      replaying = false;
      // What the tail delivered while replaying and the replay did not include.
      for (const e of queued) if (compareIds(e.id, seen) > 0) listener(e);
    }
    return () => this.#listeners.delete(live);
  }

  /** Drops entries older than the retention's age. */
  async trim(now = Date.now()): Promise<number> {
    return Number(await this.#redis.xtrim(this.#key, 'MINID', '~', `${now - this.#retention.maxAgeMs}-0`));
  }

  stop(): void {
    this.#tailing = false;
    this.#tail?.disconnect();
    this.#tail = undefined;
  }

  #startTail(): void {
    if (this.#tailing) return;
    this.#tailing = true;
    this.#tail = duplicateRedis(
      this.#redis,
      { enableAutoPipelining: false, enableOfflineQueue: true },
      { maxRetriesPerRequest: null },
    );
    this.#tail.on('error', () => {});
    const tail = this.#tail;
    void (async () => {
      let last = '$';
      while (this.#tailing) {
        try {
          const res = (await tail.xread('COUNT', 1000, 'BLOCK', 5000, 'STREAMS', this.#key, last)) as
            | [string, [string, string[]][]][]
            | null;
          for (const [, entries] of res ?? []) {
            for (const e of decode(entries)) {
              last = e.id;
              for (const l of this.#listeners) l(e);
            }
            const lastEntry = entries[entries.length - 1];
            if (lastEntry) last = lastEntry[0];
          }
        } catch {
          if (!this.#tailing) return;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
  }
}

/** Orders stream ids ("ms-seq"). */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
