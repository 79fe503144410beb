// Status ingestion: ReportStatus → BullMQ queue → worker → Redis status.
//
// The gRPC handler acknowledges a report only once `enqueue` has resolved, i.e. once the
// job is in Redis (with AOF, on disk). Workers then store it idempotently and in order: a
// Lua script keeps, per (cluster, fleet), only a report whose sequence is newer than the one
// stored, so a re-sent or reordered report never overwrites a newer one.
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Events, encodeEvent } from '../events.ts';
import { OUTBOX_LUA, type OutboxWrite } from '../history/outbox.ts';
import { type BullConnection, bullConnection, bullPrefix, bullQueueConnection } from '../store/bull.ts';
import { nodeOf, type RedisClient } from '../store/connect.ts';
import type { Keys } from '../store/keys.ts';
import { script } from '../store/script.ts';
import { inSpan, telemetry } from '../telemetry.ts';
import type { ClusterFleetStatus } from './types.ts';

const QUEUE = 'status-reports';
const HISTORY_LENGTH = 50;

export interface StatusJob {
  cluster: string;
  status: ClusterFleetStatus;
}

// KEYS: status hash, history list, report-seq, cluster, outbox. ARGV: fleet, sequence, json,
// history length, phase, revision, events channel, the StatusChanged event to publish if the
// phase or revision changed (encodeEvent's, but for its reason: the phase before, which only the
// script reads), drift corrections so far, the DriftCorrected event to publish if that count
// grew. Returns {1, StatusChanged or '', DriftCorrected or '', the outbox's entries before it}
// when stored: the events it published (and put in the outbox), for the history. Stores the
// report unless it is stale or a duplicate, or its cluster was deleted meanwhile (a report from
// a deleted cluster is dropped, not resurrected): false then. When the phase or revision
// changed it publishes StatusChanged itself: heartbeats that change nothing are stored but not
// announced (every StatusChanged makes the fleet re-plan, which must not happen ten thousand
// times a minute for nothing), and a change costs no round trip of its own. The cluster check
// is in the script too: no window between the check and the write for a deletion to slip
// through. All five keys carry the cluster's hash tag, so they share a Redis Cluster slot.
// A report older than the stored one was acknowledged but overtaken: its job was held by a
// replica that died, and the agent's next report reached another replica first. It is not
// the cluster's status any more, but it happened: it goes into the history at its place by
// sequence (once; not when older than all the history keeps) and returns 2.
const STORE_IF_NEWER = `${OUTBOX_LUA}
if redis.call('EXISTS', KEYS[4]) == 0 then return false end
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. '#seq') or '0')
local seq = tonumber(ARGV[2])
if seq == current then return false end
if seq < current then
  local entries = redis.call('LRANGE', KEYS[2], 0, -1)
  local pivot = false
  for _, entry in ipairs(entries) do
    local s = tonumber(cjson.decode(entry).sequence)
    if s == seq then return false end
    if s ~= nil and s < seq then pivot = entry break end
  end
  if pivot then redis.call('LINSERT', KEYS[2], 'BEFORE', pivot, ARGV[3])
  elseif #entries < tonumber(ARGV[4]) then redis.call('RPUSH', KEYS[2], ARGV[3])
  else return false end
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
  return 2
end
local previous = redis.call('HGET', KEYS[1], ARGV[1] .. '#state') or ''
local state = ARGV[5] .. '|' .. ARGV[6]
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3], ARGV[1] .. '#seq', ARGV[2], ARGV[1] .. '#state', state)
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if seq > last then redis.call('SET', KEYS[3], ARGV[2]) end
local published = outbox_found(KEYS[5], {1, '', ''})
if previous ~= state then
  local was = string.match(previous, '^([^|]*)')
  if was == nil or was == '' then was = 'none' end
  local event = cjson.decode(ARGV[8])
  event.reason = was .. ' → ' .. ARGV[5]
  published[2] = cjson.encode(event)
  outbox_publish(KEYS[5], ARGV[7], published[2])
end
local drift = tonumber(ARGV[9])
if drift > tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. '#drift') or '0') then
  redis.call('HSET', KEYS[1], ARGV[1] .. '#drift', ARGV[9])
  if ARGV[10] ~= '' then
    published[3] = ARGV[10]
    outbox_publish(KEYS[5], ARGV[7], ARGV[10])
  end
end
return published
`;

// Sent as EVALSHA: the script's 700 bytes are not sent (and hashed by Redis) with every report.
const storeIfNewer = script(STORE_IF_NEWER);

/**
 * The DriftCorrected event of a report: which objects the agent restored, which fields had
 * changed and who changed them (never values). '' when no object carries a correction.
 */
function driftEvent(cluster: string, status: ClusterFleetStatus, now: Date): string {
  // The objects of the last correction (the agent stamps them together), not older ones.
  const at = (o: (typeof status.objects)[number]) => (o.lastDrift ? Date.parse(o.lastDrift.correctedAt) : 0);
  const latest = Math.max(0, ...status.objects.map(at));
  const corrected = status.objects.filter((o) => o.lastDrift && at(o) >= latest - 1000);
  if (corrected.length === 0) return '';
  const what = corrected
    .slice(0, 10)
    .map((o) => {
      const d = o.lastDrift as NonNullable<typeof o.lastDrift>;
      const who = d.managers.length > 0 ? ` by ${d.managers.join(', ')}` : '';
      return `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name} (${d.changes.join(', ')}${who})`;
    })
    .join('; ');
  return encodeEvent(
    {
      type: 'DriftCorrected',
      cluster,
      fleet: status.fleet,
      revision: status.appliedRevision || status.attemptedRevision,
      reason: `restored ${what}${corrected.length > 10 ? ` and ${corrected.length - 10} more` : ''}`,
    },
    now,
  );
}

/** What STORE_IF_NEWER put in the outbox, from its reply (nothing unless it stored the report). */
function storedEvents(outbox: string, reply: unknown): OutboxWrite[] {
  if (!Array.isArray(reply)) return [];
  const [, statusChanged, driftCorrected, ...found] = reply as string[];
  const events = [statusChanged, driftCorrected].filter(
    (e): e is string => typeof e === 'string' && e !== '',
  );
  return [{ key: outbox, events, found }];
}

/** A report stored on the primary but not yet on enough replicas: it is not acknowledged. */
export class ReportNotReplicated extends Error {
  constructor(acked: number, wanted: number) {
    super(`the report reached ${acked} of ${wanted} Redis replicas in time; send it again`);
  }
}

export class StatusIngestion {
  readonly #queue: Queue<StatusJob>;
  readonly #queueConnection: BullConnection;
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #events: Events;
  #worker: Worker<StatusJob> | undefined;
  #workerConnection: BullConnection | undefined;
  readonly #wait: { replicas: number; timeoutMs: number };

  constructor(
    redis: RedisClient,
    keys: Keys,
    events: Events,
    wait: { replicas: number; timeoutMs: number } = { replicas: 0, timeoutMs: 0 },
  ) {
    this.#wait = wait;
    this.#redis = redis;
    this.#keys = keys;
    this.#events = events;
    this.#queueConnection = bullQueueConnection(redis);
    this.#queue = new Queue<StatusJob>(QUEUE, {
      connection: this.#queueConnection.connection,
      telemetry: telemetry().bullmq,
      prefix: bullPrefix(redis, keys.prefix),
      defaultJobOptions: {
        removeOnComplete: 1000,
        removeOnFail: 5000,
        attempts: 5,
        backoff: { type: 'exponential', delay: 200 },
      },
    });
    // Connection errors surface in the calls that fail (enqueue → UNAVAILABLE to the agent).
    this.#queue.on('error', () => {});
  }

  /**
   * Durably enqueues one report. Returns duplicate=true, enqueueing nothing, when this
   * cluster's report with this sequence was already ingested or is already queued.
   */
  /**
   * Whether Redis is connected now. While it is not, a report is refused at once: commands
   * would wait out the client's reconnect attempts, longer than an agent's deadline, and a
   * refusal the agent can retry beats a timeout it cannot tell from a lost answer.
   */
  get reachable(): boolean {
    return this.#redis.status === 'ready';
  }

  async enqueue(cluster: string, status: ClusterFleetStatus): Promise<{ duplicate: boolean }> {
    const jobId = `${cluster}.${status.sequence}`;
    // Both checks in one round trip (the ack waits for each one): already ingested, or a
    // re-send of a report still in the queue (whose job hash exists; BullMQ would ignore the
    // add anyway). EXISTS is what getJob() tests, without reading and parsing the job.
    const [seq, queued] = await Promise.all([
      this.#redis.hget(this.#keys.status(cluster), `${status.fleet}#seq`),
      this.#redis.exists(this.#queue.toKey(jobId)),
    ]);
    if (status.sequence <= Number(seq ?? 0)) return { duplicate: true };
    // A re-send of a report still queued: it is acknowledged once it is replicated, like the first.
    if (!queued) await this.#queue.add('report', { cluster, status }, { jobId });
    await this.#replicated();
    if (queued) return { duplicate: true };
    return { duplicate: false };
  }

  /**
   * Waits until enough replicas hold this process's queue writes (WAIT covers the writes of the
   * connection it runs on: the queue's, which added the jobs — on a Cluster, the queue's
   * connection to the primary of the queue's slot).
   */
  async #replicated(): Promise<void> {
    if (this.#wait.replicas === 0) return;
    const cluster = this.#queueConnection.cluster;
    const client = cluster
      ? nodeOf(cluster, this.#queue.toKey(''))
      : ((await this.#queue.getBackend().client) as unknown as Redis);
    // A Cluster between a failover and its client's slot refresh: not known to be replicated.
    if (!client) throw new ReportNotReplicated(0, this.#wait.replicas);
    const acked = Number(await client.wait(this.#wait.replicas, this.#wait.timeoutMs));
    // Not yet on a replica: a failover now could lose it. The agent sends it again (same
    // sequence); a copy that did survive is then recognised as a duplicate.
    if (acked < this.#wait.replicas) throw new ReportNotReplicated(acked, this.#wait.replicas);
  }

  /** Starts a worker in this process. Several replicas may each run one. */
  start(concurrency = 256): void {
    this.#workerConnection = bullConnection(this.#redis);
    this.#worker = new Worker<StatusJob>(
      QUEUE,
      (job) =>
        inSpan(
          'status.ingest',
          { 'gitfleet.cluster': job.data.cluster, 'gitfleet.fleet': job.data.status.fleet },
          () => this.#store(job.data),
        ),
      {
        connection: this.#workerConnection.connection,
        telemetry: telemetry().bullmq,
        prefix: bullPrefix(this.#redis, this.#keys.prefix),
        concurrency,
      },
    );
    // Failures are retried by BullMQ; the error itself is reported by the job.
    this.#worker.on('error', () => {});
  }

  async #store({ cluster, status }: StatusJob): Promise<void> {
    const now = new Date();
    const revision = status.attemptedRevision || status.appliedRevision;
    const outbox = this.#keys.outbox(cluster);
    const run = () =>
      storeIfNewer(
        this.#redis,
        [
          this.#keys.status(cluster),
          this.#keys.statusHistory(cluster, status.fleet),
          this.#keys.reportSequence(cluster),
          this.#keys.cluster(cluster),
          outbox,
        ],
        [
          status.fleet,
          String(status.sequence),
          JSON.stringify(status),
          String(HISTORY_LENGTH),
          status.phase,
          revision,
          this.#events.channelName,
          encodeEvent(
            { type: 'StatusChanged', cluster, fleet: status.fleet, phase: status.phase, revision },
            now,
          ),
          String(status.driftCorrections),
          driftEvent(cluster, status, now),
        ],
      );
    // Recorded once the status is, through the cluster's outbox (history/outbox.ts).
    await this.#events.outbox.write([outbox], run, (result) => storedEvents(outbox, result));
  }

  /** Latest status of every fleet on a cluster. */
  async ofCluster(cluster: string): Promise<ClusterFleetStatus[]> {
    const h = await this.#redis.hgetall(this.#keys.status(cluster));
    return Object.entries(h)
      .filter(([field]) => !field.includes('#'))
      .map(([, json]) => JSON.parse(json) as ClusterFleetStatus);
  }

  /** Latest status of one fleet on each of the given clusters (missing = no report yet). */
  async ofFleet(fleet: string, clusters: string[]): Promise<Map<string, ClusterFleetStatus>> {
    const out = new Map<string, ClusterFleetStatus>();
    if (clusters.length === 0) return out;
    // One command per cluster, not a pipeline: on a Redis Cluster the keys are in as many
    // slots, and auto-pipelining still sends them in one write per node (one on one server).
    const results = await Promise.all(clusters.map((c) => this.#redis.hget(this.#keys.status(c), fleet)));
    results.forEach((json, i) => {
      if (typeof json === 'string') out.set(clusters[i]!, JSON.parse(json) as ClusterFleetStatus);
    });
    return out;
  }

  async history(cluster: string, fleet: string, limit = HISTORY_LENGTH): Promise<ClusterFleetStatus[]> {
    const list = await this.#redis.lrange(this.#keys.statusHistory(cluster, fleet), 0, limit - 1);
    return list.map((json) => JSON.parse(json) as ClusterFleetStatus);
  }

  /** Jobs waiting or running, for /readyz and benchmarks. */
  async backlog(): Promise<number> {
    const counts = await this.#queue.getJobCounts('waiting', 'active', 'delayed');
    return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0);
  }

  async close(): Promise<void> {
    await this.#worker?.close();
    await this.#queue.close();
    await this.#workerConnection?.close();
    await this.#queueConnection.close();
  }
}
