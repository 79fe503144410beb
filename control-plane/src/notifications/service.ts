// Notifications: events matched against the `notify:` rules of their fleet's fleet.yaml, and
// delivered to targets through BullMQ.
//
// Every replica hears every event (events.ts) and hands it to `onEvent`, which only queues it
// in memory and returns: matching and enqueueing happen beside the event path, and delivery in
// a worker with bounded concurrency, so a slow or failing target never slows the control plane.
// Every replica enqueues the same jobs for the same event, under job ids made of the event's
// id (set once, at encoding) and the target's name, so BullMQ keeps one of each.
//
// Coalescing: events of one (target, fleet, cluster, type) whose times fall in one window of
// `windowSeconds` are one message with their count. Each replica counts the event into the
// window's hash (a script; a set of event ids makes it once however many replicas do) and
// ensures the window's job, delayed to the window's end; when it runs, the window is closed and
// what it counted is sent. An event that arrives after its window was sent goes alone.
//
// Delivery is at-least-once: a job is retried with exponential backoff (capped, with jitter)
// on a 5xx, 408, 429, a timeout or no connection, and carries its id in X-Gitfleet-Delivery on
// every attempt so receivers can drop repeats. Another 4xx is not retried. A notification given
// up on marks the target failing (with the answer, secret-free) and publishes NotificationFailed.
import { createHash } from 'node:crypto';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Events, GitfleetEvent } from '../events.ts';
import { matchesSelector } from '../fleet/labels.ts';
import { matchRules, type NotifyRule } from '../fleet/notify.ts';
import type { Stage } from '../fleet/policy.ts';
import type { FleetStore } from '../reconcile/fleet-store.ts';
import { isRedisUnavailable } from '../store/availability.ts';
import { type BullConnection, bullConnection, bullPrefix, bullQueueConnection } from '../store/bull.ts';
import type { RedisClient } from '../store/connect.ts';
import { script } from '../store/script.ts';
import type { SecretBox } from '../store/secrets.ts';
import { telemetry } from '../telemetry.ts';
import { attempt, secretsOf } from './deliver.ts';
import { type NotifyKeys, notifyKeys } from './keys.ts';
import { type NotificationInput, slackPayload, webhookPayload } from './message.ts';
import { DEFAULT_NOTIFICATION_OPTIONS, type NotificationOptions } from './options.ts';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from './signature.ts';
import { NotificationTargets, type OpenTarget, TargetUnreadable } from './targets.ts';

const QUEUE = 'notifications';
/** A window's job runs this long after the window ends: events published at its end are still on their way. */
const WINDOW_GRACE_MS = 1000;
/** A window's keys outlive it by this much: replicas that hear an event late still find it. */
const WINDOW_TTL_MS = 3600_000;
/** How long a fleet's rules and a cluster's labels are reused before being read again. */
const CACHE_MS = 5000;
/** Events waiting to be matched in this replica; past this the oldest are dropped (and said so). */
const MAX_PENDING = 10_000;
const ROUTING_CONCURRENCY = 16;

export interface NotificationJob {
  target: string;
  fleet: string;
  stage?: string;
  /** The revision the event's stage has in force, for events that carry none. */
  revision?: string;
  /** The event that made the job: the only one, or one of its window. */
  event: GitfleetEvent;
  /** The coalescing window, when the job stands for one. */
  window?: { index: number; seconds: number };
  /** What the window held when it was closed (kept for the retries). */
  summary?: { count: number; first: GitfleetEvent; last: GitfleetEvent };
}

export interface NotificationDeps {
  redis: RedisClient;
  /** The installation's Redis prefix (config.redisPrefix). */
  prefix: string;
  secrets: SecretBox;
  fleets: Pick<FleetStore, 'get' | 'names'>;
  /** For events about a cluster: its labels decide which stage (and fleets) it is in. */
  clusters: { get(name: string): Promise<{ labels: Record<string, string> }> };
  events: Pick<Events, 'publish'>;
  logger?: Logger;
}

// KEYS: window hash, window's seen set. ARGV: event id, event JSON, event time (ms), TTL (ms).
// Returns {window id, mode}: 1 = the event is counted in the open window (now or by another
// replica): make sure its job exists; 2 = the window was already sent without it: send it
// alone; 0 = it was sent in the window already.
const countIn = script(`
local seen = redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1
if redis.call('HEXISTS', KEYS[1], 'closed') == 1 then
  if seen then return {redis.call('HGET', KEYS[1], 'id'), 0} end
  return {ARGV[1], 2}
end
if not seen then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'count', 1)
  local t = tonumber(ARGV[3])
  if redis.call('HSETNX', KEYS[1], 'id', ARGV[1]) == 1 then
    redis.call('HSET', KEYS[1], 'first', ARGV[2], 'firstTime', ARGV[3], 'last', ARGV[2], 'lastTime', ARGV[3])
  else
    if t >= tonumber(redis.call('HGET', KEYS[1], 'lastTime')) then
      redis.call('HSET', KEYS[1], 'last', ARGV[2], 'lastTime', ARGV[3])
    end
    if t < tonumber(redis.call('HGET', KEYS[1], 'firstTime')) then
      redis.call('HSET', KEYS[1], 'first', ARGV[2], 'firstTime', ARGV[3])
    end
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return {redis.call('HGET', KEYS[1], 'id'), 1}
`);

// KEYS: window hash. Closes the window (later events go alone) and returns {count, first, last};
// false when it expired. Closing again returns the same: nothing is counted in once closed.
const closeWindow = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'closed', '1')
return redis.call('HMGET', KEYS[1], 'count', 'first', 'last')
`);

/** An id for events published without one (by Lua scripts): the same on every replica. */
export function stableEventId(event: GitfleetEvent): string {
  return event.id ?? `h${createHash('sha256').update(JSON.stringify(event)).digest('hex').slice(0, 24)}`;
}

/** The stage of `stages` a cluster with these labels is in; undefined in none, or in several. */
export function stageOfLabels(
  stages: readonly Pick<Stage, 'name' | 'selector'>[],
  labels: Record<string, string>,
): string | undefined {
  const matched = stages.filter((s) => matchesSelector(labels, s.selector));
  return matched.length === 1 ? matched[0]!.name : undefined;
}

/** Exponential backoff with jitter, capped: the delay before retry number `attempts` (1, 2, …). */
export function backoffDelay(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(full * (0.75 + 0.25 * random()));
}

type FleetRules = {
  rules: NotifyRule[];
  stages: Pick<Stage, 'name' | 'selector' | 'revision'>[];
  lastGoodRevision: string | null;
};

type Cached<T> = { at: number; value: Promise<T> };

export class NotificationService {
  readonly targets: NotificationTargets;
  readonly options: NotificationOptions;
  readonly #deps: NotificationDeps;
  readonly #keys: NotifyKeys;
  readonly #queue: Queue<NotificationJob>;
  readonly #queueConnection: BullConnection;
  #worker: Worker<NotificationJob> | undefined;
  #workerConnection: BullConnection | undefined;
  readonly #fleetCache = new Map<string, Cached<FleetRules | null>>();
  readonly #labelCache = new Map<string, Cached<Record<string, string> | null>>();
  #namesCache: Cached<string[]> | undefined;
  readonly #pending: GitfleetEvent[] = [];
  #active = 0;
  #dropped = 0;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(deps: NotificationDeps, options: Partial<NotificationOptions> = {}) {
    this.#deps = deps;
    this.options = { ...DEFAULT_NOTIFICATION_OPTIONS, ...options };
    this.options.publicUrl = this.options.publicUrl.replace(/\/+$/, '');
    this.#keys = notifyKeys(deps.prefix);
    this.targets = new NotificationTargets(deps.redis, deps.prefix, deps.secrets);
    this.#queueConnection = bullQueueConnection(deps.redis);
    this.#queue = new Queue<NotificationJob>(QUEUE, {
      connection: this.#queueConnection.connection,
      telemetry: telemetry().bullmq,
      prefix: bullPrefix(deps.redis, deps.prefix),
      defaultJobOptions: {
        attempts: this.options.attempts,
        backoff: { type: 'capped', delay: this.options.backoffMs },
        // Kept an hour: a replica enqueueing the same notification late finds it done.
        removeOnComplete: { age: 3600, count: 100_000 },
        removeOnFail: { age: 7 * 86_400, count: 10_000 },
        stackTraceLimit: 0,
      },
    });
    // Connection errors surface in the calls that fail (and are retried there).
    this.#queue.on('error', () => {});
  }

  /** Starts this replica's delivery worker. Every replica may run one. */
  start(): void {
    this.#workerConnection = bullConnection(this.#deps.redis);
    this.#worker = new Worker<NotificationJob>(QUEUE, (job) => this.#deliver(job), {
      connection: this.#workerConnection.connection,
      telemetry: telemetry().bullmq,
      prefix: bullPrefix(this.#deps.redis, this.#deps.prefix),
      concurrency: this.options.concurrency,
      settings: {
        backoffStrategy: (attempts) =>
          backoffDelay(attempts, this.options.backoffMs, this.options.maxBackoffMs),
      },
    });
    this.#worker.on('error', (err) => {
      if (!isRedisUnavailable(err, this.#deps.redis))
        this.#deps.logger?.warn({ err }, 'notification worker error');
    });
  }

  /**
   * Takes one event from the event stream. Returns at once and never throws: the matching and
   * enqueueing happen after, beside the caller.
   */
  onEvent(event: GitfleetEvent): void {
    if (this.#closed) return;
    this.#forget(event);
    if (!event.fleet && !event.cluster) return;
    if (this.#pending.length >= MAX_PENDING) {
      this.#pending.shift();
      if (this.#dropped++ % 1000 === 0) {
        this.#deps.logger?.warn(
          { dropped: this.#dropped },
          'notifications: events arrive faster than they can be matched; the oldest waiting are dropped',
        );
      }
    }
    this.#pending.push(event);
    this.#pump();
  }

  /** Resolves once every event handed to onEvent so far is matched and enqueued (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Notifications waiting, delayed (coalescing or backing off) or being delivered. */
  async backlog(): Promise<number> {
    const counts = await this.#queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#pending.length = 0;
    await this.idle();
    await this.#worker?.close();
    await this.#queue.close();
    await this.#workerConnection?.close();
    await this.#queueConnection.close();
  }

  // -- matching ------------------------------------------------------------------------------

  #pump(): void {
    while (this.#active < ROUTING_CONCURRENCY && this.#pending.length > 0) {
      const event = this.#pending.shift()!;
      this.#active++;
      this.#routeWithRetries(event)
        .catch((err) => {
          if (!isRedisUnavailable(err, this.#deps.redis)) {
            this.#deps.logger?.warn(
              { err, type: event.type, fleet: event.fleet },
              'notification not enqueued',
            );
          }
        })
        .finally(() => {
          this.#active--;
          this.#pump();
          if (this.#active === 0 && this.#pending.length === 0) {
            for (const resolve of this.#idle.splice(0)) resolve();
          }
        });
    }
  }

  async #routeWithRetries(event: GitfleetEvent): Promise<void> {
    // Redis briefly away (a failover): try again a little later. Every other replica enqueues
    // the same jobs too, so one of them getting through is enough.
    for (let i = 0; ; i++) {
      try {
        return await this.#route(event);
      } catch (err) {
        if (i >= 3 || this.#closed) throw err;
        await new Promise((r) => setTimeout(r, 500 * 2 ** i));
      }
    }
  }

  /** What a new policy or label set makes stale. */
  #forget(event: GitfleetEvent): void {
    if (event.fleet && /^Fleet/.test(event.type)) this.#fleetCache.delete(event.fleet);
    if (event.type === 'FleetCreated' || event.type === 'FleetDeleted') this.#namesCache = undefined;
    if (event.cluster && /^Cluster(Registered|LabelsChanged|Deleted)$/.test(event.type)) {
      this.#labelCache.delete(event.cluster);
    }
  }

  #cached<T>(map: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
    const value = load();
    map.set(key, { at: Date.now(), value });
    // A failed read is not remembered.
    value.catch(() => map.get(key)?.value === value && map.delete(key));
    if (map.size > 10_000) map.delete(map.keys().next().value as string);
    return value;
  }

  #rulesOf(fleet: string): Promise<FleetRules | null> {
    return this.#cached(this.#fleetCache, fleet, async () => {
      try {
        const { state } = await this.#deps.fleets.get(fleet);
        const policy = state.policy;
        if (!policy?.notify?.length) return null;
        return {
          rules: policy.notify,
          stages: policy.stages.map(({ name, selector, revision }) => ({
            name,
            selector,
            ...(revision ? { revision } : {}),
          })),
          lastGoodRevision: state.lastGoodRevision,
        };
      } catch (err) {
        if ((err as { code?: string }).code === 'FleetNotFound') return null;
        throw err;
      }
    });
  }

  #labelsOf(cluster: string): Promise<Record<string, string> | null> {
    return this.#cached(this.#labelCache, cluster, async () => {
      try {
        return (await this.#deps.clusters.get(cluster)).labels;
      } catch (err) {
        if ((err as { code?: string }).code === 'ClusterNotFound') return null;
        throw err;
      }
    });
  }

  async #fleetNames(): Promise<string[]> {
    if (!this.#namesCache || Date.now() - this.#namesCache.at >= CACHE_MS) {
      const value = this.#deps.fleets.names();
      this.#namesCache = { at: Date.now(), value };
      value.catch(() => {
        if (this.#namesCache?.value === value) this.#namesCache = undefined;
      });
    }
    return this.#namesCache.value;
  }

  async #route(event: GitfleetEvent): Promise<void> {
    // target → where its notification comes from (the first fleet, for an event of a cluster
    // in several: a cluster disconnecting is told once per target, not once per fleet).
    const routes = new Map<string, { fleet: string; stage?: string; revision?: string }>();
    const add = (fleet: string, f: FleetRules, stage: string | undefined) => {
      const revision = f.stages.find((s) => s.name === stage)?.revision ?? f.lastGoodRevision ?? undefined;
      for (const target of matchRules(f.rules, event, stage)) {
        if (!routes.has(target)) {
          routes.set(target, { fleet, ...(stage ? { stage } : {}), ...(revision ? { revision } : {}) });
        }
      }
    };
    if (event.fleet) {
      const f = await this.#rulesOf(event.fleet);
      if (!f) return;
      let stage = event.stage;
      if (!stage && event.cluster && f.rules.some((r) => r.stages)) {
        const labels = await this.#labelsOf(event.cluster);
        stage = labels ? stageOfLabels(f.stages, labels) : undefined;
      }
      add(event.fleet, f, stage);
    } else if (event.cluster) {
      const names = [...(await this.#fleetNames())].sort();
      const fleets = (await Promise.all(names.map(async (n) => [n, await this.#rulesOf(n)] as const))).filter(
        (entry): entry is readonly [string, FleetRules] => entry[1] !== null,
      );
      if (fleets.length === 0) return;
      const labels = await this.#labelsOf(event.cluster);
      if (!labels) return;
      for (const [fleet, f] of fleets) {
        const stage = stageOfLabels(f.stages, labels);
        if (stage) add(fleet, f, stage);
      }
    }
    await Promise.all([...routes].map(([target, route]) => this.#enqueue(event, target, route)));
  }

  async #enqueue(
    event: GitfleetEvent,
    target: string,
    route: { fleet: string; stage?: string; revision?: string },
  ): Promise<void> {
    const id = stableEventId(event);
    const full: GitfleetEvent = { ...event, id };
    const data: NotificationJob = { target, ...route, event: full };
    const windowMs = this.options.windowSeconds * 1000;
    if (windowMs <= 0) {
      await this.#queue.add('notify', data, { jobId: `${id}.${target}` });
      return;
    }
    const time = Date.parse(event.time ?? '') || Date.now();
    const index = Math.floor(time / windowMs);
    const keyArgs = [target, route.fleet, event.cluster, event.type, index] as const;
    const [windowId, mode] = (await countIn(
      this.#deps.redis,
      [this.#keys.window(...keyArgs), this.#keys.windowSeen(...keyArgs)],
      [id, JSON.stringify(full), time, windowMs + WINDOW_TTL_MS],
    )) as [string, number];
    if (mode === 1) {
      const delay = Math.max(0, (index + 1) * windowMs + WINDOW_GRACE_MS - Date.now());
      await this.#queue.add(
        'notify',
        { ...data, window: { index, seconds: this.options.windowSeconds } },
        { jobId: `${windowId}.${target}`, delay },
      );
    } else if (mode === 2) {
      await this.#queue.add('notify', data, { jobId: `${id}.${target}` });
    }
  }

  // -- delivery ------------------------------------------------------------------------------

  async #deliver(job: Job<NotificationJob>): Promise<string> {
    const data = job.data;
    let target: OpenTarget | null;
    try {
      target = await this.targets.open(data.target);
    } catch (err) {
      if (!(err instanceof TargetUnreadable)) throw err;
      await this.#giveUp(job, null, err.message);
      throw new UnrecoverableError(err.message);
    }
    // Deleted since: nobody is left to tell.
    if (!target) return 'target deleted';

    const summary = data.summary ?? (await this.#summarize(data));
    if (!data.summary) await job.updateData({ ...data, summary });
    const input: NotificationInput = {
      event: summary.last,
      count: summary.count,
      firstTime: summary.first.time,
      windowSeconds: data.window?.seconds ?? this.options.windowSeconds,
      fleet: data.fleet,
      stage: data.stage ?? summary.last.stage,
      revision: data.revision,
      link: `${this.options.publicUrl}/api/v1/fleets/${encodeURIComponent(data.fleet)}`,
    };
    const body = JSON.stringify(target.type === 'slack' ? slackPayload(input) : webhookPayload(input));
    const headers: Record<string, string> = {
      [DELIVERY_HEADER]: String(job.id),
      [EVENT_HEADER]: summary.last.type,
    };
    if (target.secret) {
      const timestamp = Math.floor(Date.now() / 1000);
      headers[TIMESTAMP_HEADER] = String(timestamp);
      headers[SIGNATURE_HEADER] = signBody(target.secret, timestamp, body);
    }
    const result = await attempt(target.url, body, headers, {
      timeoutMs: this.options.timeoutMs,
      secrets: secretsOf(target.url, target.secret),
    });
    if (result.ok) {
      await this.targets.record(target.name, 'ok', result.status, '');
      return `delivered (${result.status})`;
    }
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!result.retry || last) {
      const tried = job.attemptsMade + 1;
      await this.#giveUp(
        job,
        result.status,
        result.retry
          ? `${result.message} (gave up after ${tried} attempt${tried === 1 ? '' : 's'})`
          : result.message,
      );
      // A 4xx will not change by asking again.
      if (!result.retry) throw new UnrecoverableError(result.message);
      throw new Error(result.message);
    }
    await this.targets.record(target.name, 'retrying', result.status, result.message);
    this.#deps.logger?.debug(
      { target: target.name, delivery: job.id, attempt: job.attemptsMade + 1, status: result.status },
      `notification not taken, retrying: ${result.message}`,
    );
    throw new Error(result.message);
  }

  async #summarize(data: NotificationJob): Promise<NonNullable<NotificationJob['summary']>> {
    const alone = { count: 1, first: data.event, last: data.event };
    if (!data.window) return alone;
    const keyArgs = [
      data.target,
      data.fleet,
      data.event.cluster,
      data.event.type,
      data.window.index,
    ] as const;
    const closed = (await closeWindow(this.#deps.redis, [this.#keys.window(...keyArgs)], [])) as
      | [string | null, string | null, string | null]
      | null;
    if (!closed?.[0] || !closed[1] || !closed[2]) return alone;
    return {
      count: Number(closed[0]),
      first: JSON.parse(closed[1]) as GitfleetEvent,
      last: JSON.parse(closed[2]) as GitfleetEvent,
    };
  }

  /** The target is marked failing with the answer, and NotificationFailed is published. */
  async #giveUp(job: Job<NotificationJob>, status: number | null, message: string): Promise<void> {
    const data = job.data;
    const event = data.summary?.last ?? data.event;
    await this.targets.record(data.target, 'failing', status, message);
    this.#deps.logger?.warn(
      { target: data.target, delivery: job.id, status, fleet: data.fleet },
      `notification not delivered: ${message}`,
    );
    // Not about a NotificationFailed itself: two failing targets would tell each other forever.
    if (event.type === 'NotificationFailed') return;
    await this.#deps.events
      .publish({
        type: 'NotificationFailed',
        fleet: data.fleet,
        ...(event.cluster ? { cluster: event.cluster } : {}),
        ...((data.stage ?? event.stage) ? { stage: data.stage ?? event.stage } : {}),
        ...((event.revision ?? data.revision) ? { revision: event.revision ?? data.revision } : {}),
        target: data.target,
        reason: `target ${data.target} did not take the notification of ${event.type} (delivery ${job.id}): ${message}`,
      })
      .catch((err) => this.#deps.logger?.warn({ err }, 'NotificationFailed not published'));
  }
}
