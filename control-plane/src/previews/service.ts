// Preview diffs: what a revision or branch would change in each cluster, before it is merged
// or promoted. The control plane renders the revision for every cluster its fleet.yaml puts in
// a stage; each cluster's agent dry-runs its bundle against what runs there and answers with a
// diff per object (agent/src/apply/preview.ts). An agent's stream may be held by any replica:
// a request for a cluster this replica does not hold goes out on a Redis channel, the replica
// holding the stream asks its agent, and the answer comes back on the same channel. Clusters
// that answer nothing before the deadline are told apart: not connected, or no answer in time.
import { randomUUID } from 'node:crypto';
import { Compression, DiffAction, type DiffRequest, type DiffResult } from '@gitfleet/proto';
import type { Logger } from 'pino';
import { DomainError } from '../errors.ts';
import type { Problem } from '../fleet/index.ts';
import { GitError } from '../git/mirror.ts';
import type { ConnectionManager } from '../grpc/connection.ts';
import type { FleetReconciler } from '../reconcile/reconciler.ts';
import type { ClusterRegistry } from '../registry/clusters.ts';
import { duplicateRedis, type RedisClient } from '../store/connect.ts';
import type { DesiredStateStore } from '../store/desired.ts';
import type { Keys } from '../store/keys.ts';

/** One message under grpc's default 4 MiB limit: a preview sends its bundle whole. */
const MAX_PREVIEW_BUNDLE_BYTES = 3.5 * 2 ** 20;

export type ObjectChange = 'created' | 'changed' | 'deleted' | 'unchanged' | 'failed';

export interface ClusterDiff {
  cluster: string;
  stage: string;
  /** compared: the agent answered; the others say why there is no comparison. */
  outcome: 'compared' | 'not-connected' | 'timed-out' | 'render-failed' | 'failed';
  message: string;
  summary: Record<ObjectChange, number>;
  objects: {
    apiVersion: string;
    kind: string;
    namespace: string;
    name: string;
    change: ObjectChange;
    diff: string;
    message: string;
    changedKeys: string[];
  }[];
}

export interface FleetDiff {
  fleet: string;
  revision: string;
  /** True when any cluster would change (or could not be compared). */
  changed: boolean;
  clusters: ClusterDiff[];
}

type Message =
  | { kind: 'request'; id: string; cluster: string; request: Omit<DiffRequest, 'data'> }
  | { kind: 'result'; id: string; cluster: string; result: DiffResult | null };

const CHANGES: Record<number, ObjectChange> = {
  [DiffAction.DIFF_ACTION_CREATED]: 'created',
  [DiffAction.DIFF_ACTION_CHANGED]: 'changed',
  [DiffAction.DIFF_ACTION_DELETED]: 'deleted',
  [DiffAction.DIFF_ACTION_UNCHANGED]: 'unchanged',
  [DiffAction.DIFF_ACTION_FAILED]: 'failed',
};

export interface PreviewDeps {
  reconciler: FleetReconciler;
  registry: ClusterRegistry;
  desired: DesiredStateStore;
  connections: ConnectionManager;
  logger: Logger;
}

export class PreviewService {
  readonly #redis: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  readonly #deps: PreviewDeps;
  /** Requests of this replica sent to others, by id. */
  readonly #waiting = new Map<string, (result: DiffResult | null) => void>();

  constructor(redis: RedisClient, keys: Keys, deps: PreviewDeps) {
    this.#redis = redis;
    this.#subscriber = duplicateRedis(redis, { enableAutoPipelining: false });
    this.#subscriber.on('error', () => {});
    this.#channel = keys.channel('previews');
    this.#deps = deps;
  }

  async start(): Promise<void> {
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      let message: Message;
      try {
        message = JSON.parse(text) as Message;
      } catch {
        return;
      }
      if (message.kind === 'result') this.#waiting.get(message.id)?.(message.result);
      else if (this.#deps.connections.has(message.cluster)) void this.#answer(message);
    });
    await this.#subscriber.subscribe(this.#channel);
  }

  stop(): void {
    for (const answer of this.#waiting.values()) answer(null);
    this.#subscriber.disconnect();
  }

  async diff(
    fleet: string,
    ref: string,
    filter: { stage?: string; cluster?: string; timeoutMs: number },
  ): Promise<FleetDiff> {
    const rendered = await this.#deps.reconciler.preview(fleet, ref, filter).catch((err: Error) => {
      if (!(err instanceof GitError)) throw err;
      throw new DomainError(
        'RevisionNotFound',
        `${ref} is neither a commit nor a branch of the fleet's repository (${err.message}); give a commit id or a branch name`,
      );
    });
    if (!rendered.ok) {
      throw new DomainError(
        'InvalidRevision',
        `${rendered.revision?.slice(0, 7) ?? ref} is not a good revision of fleet ${fleet}: ${rendered.problems
          .map((p: Problem) => p.message)
          .join('; ')}`,
      );
    }
    if (rendered.targets.length === 0 && (filter.stage || filter.cluster)) {
      throw new DomainError(
        filter.cluster ? 'ClusterNotFound' : 'StageNotFound',
        `revision ${rendered.revision.slice(0, 7)} of fleet ${fleet} puts no cluster${filter.cluster ? ` named ${filter.cluster}` : ''}${filter.stage ? ` in stage ${filter.stage}` : ''}; check the names`,
      );
    }
    const deadline = Date.now() + filter.timeoutMs;
    const connected = new Set(
      (await this.#deps.registry.list()).filter((c) => c.connected).map((c) => c.name),
    );
    const clusters = await Promise.all(
      rendered.targets.map(async (t): Promise<ClusterDiff> => {
        const base = { cluster: t.cluster, stage: t.stage, summary: emptySummary(), objects: [] };
        if (!t.bundle || !t.apply) {
          return {
            ...base,
            outcome: 'render-failed',
            message: (t.problems ?? []).map((p) => p.message).join('; '),
          };
        }
        const request: Omit<DiffRequest, 'data'> = {
          id: randomUUID(),
          fleet,
          revision: rendered.revision,
          bundleDigest: t.bundle.digest,
          compression: Compression.COMPRESSION_GZIP,
          uncompressedSize: 0,
          options: {
            force: t.apply.force,
            prune: t.apply.prune,
            allowEmpty: t.apply.allowEmpty,
            correctDrift: t.apply.correctDrift,
          },
          deadlineUnixMs: deadline,
        };
        // The registry knows whether some replica holds its stream: no need to wait for nobody.
        if (!connected.has(t.cluster) && !this.#deps.connections.has(t.cluster)) {
          return { ...base, outcome: 'not-connected', message: 'the agent is not connected' };
        }
        const result = await this.#ask(t.cluster, request);
        if (!result) {
          return connected.has(t.cluster)
            ? { ...base, outcome: 'timed-out', message: `no answer within ${filter.timeoutMs} ms` }
            : { ...base, outcome: 'not-connected', message: 'the agent is not connected' };
        }
        if (result.error) return { ...base, outcome: 'failed', message: result.error };
        const objects = result.objects.map((o) => ({
          apiVersion: o.apiVersion,
          kind: o.kind,
          namespace: o.namespace,
          name: o.name,
          change: CHANGES[o.action] ?? 'failed',
          diff: o.diff,
          message: o.message,
          changedKeys: o.changedKeys,
        }));
        const summary = emptySummary();
        for (const o of objects) summary[o.change]++;
        return { ...base, outcome: 'compared', message: '', summary, objects };
      }),
    );
    return {
      fleet,
      revision: rendered.revision,
      changed: clusters.some(
        (c) =>
          c.outcome !== 'compared' ||
          c.summary.created + c.summary.changed + c.summary.deleted + c.summary.failed > 0,
      ),
      clusters,
    };
  }

  /** Asks the cluster's agent, here when this replica holds its stream, else through the others. */
  async #ask(cluster: string, request: Omit<DiffRequest, 'data'>): Promise<DiffResult | null> {
    if (this.#deps.connections.has(cluster)) return this.#askAgent(cluster, request);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), Math.max(0, request.deadlineUnixMs - Date.now()));
      const done = (result: DiffResult | null) => {
        clearTimeout(timer);
        this.#waiting.delete(request.id);
        resolve(result);
      };
      this.#waiting.set(request.id, done);
      const message: Message = { kind: 'request', id: request.id, cluster, request };
      this.#redis.publish(this.#channel, JSON.stringify(message)).catch(() => done(null));
    });
  }

  async #askAgent(cluster: string, request: Omit<DiffRequest, 'data'>): Promise<DiffResult | null> {
    const connection = this.#deps.connections.get(cluster);
    const bundle = await this.#deps.desired.getCompressedBundle(request.bundleDigest);
    if (!connection || !bundle) return null;
    if (bundle.data.length > MAX_PREVIEW_BUNDLE_BYTES) {
      return {
        id: request.id,
        objects: [],
        error: `the bundle is ${(bundle.data.length / 2 ** 20).toFixed(1)} MiB compressed, over the ${MAX_PREVIEW_BUNDLE_BYTES / 2 ** 20} MiB a preview sends; preview a stage or a cluster of a smaller fleet`,
      };
    }
    return connection.preview({ ...request, data: bundle.data, uncompressedSize: bundle.size });
  }

  async #answer(message: Extract<Message, { kind: 'request' }>): Promise<void> {
    const result = await this.#askAgent(message.cluster, message.request).catch((err: Error) => {
      this.#deps.logger.warn({ err, cluster: message.cluster }, 'preview failed');
      return null;
    });
    const reply: Message = { kind: 'result', id: message.id, cluster: message.cluster, result };
    await this.#redis.publish(this.#channel, JSON.stringify(reply)).catch(() => undefined);
  }
}

function emptySummary(): Record<ObjectChange, number> {
  return { created: 0, changed: 0, deleted: 0, unchanged: 0, failed: 0 };
}
