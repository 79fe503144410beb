// One agent's live Connect stream, and the set of them this replica holds.
//
// The connection keeps what the agent holds per fleet (from its Hello, then from what was
// sent), and `sync()` sends only what differs from the desired state in Redis. Syncs are
// serialized and coalesced: a burst of changes while one sync runs causes one more sync, not
// one per change. Delivery is at-least-once: after a reconnect the agent's Hello is the truth.
import {
  type ConnectRequest,
  type ConnectResponse,
  type DiffRequest,
  type DiffResult,
  type Hello,
  ReportOutcome,
  type ReportStatusRequest,
} from '@gitfleet/proto';
import { status as grpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { GitfleetEvent } from '../events.ts';
import type { ClusterRegistry } from '../registry/clusters.ts';
import type { StatusIngestion } from '../status/ingest.ts';
import { isRedisUnavailable } from '../store/availability.ts';
import type { DesiredStateStore } from '../store/desired.ts';
import { inSpan } from '../telemetry.ts';
import { bundleChunks } from './outbound.ts';
import { acceptReport } from './reports.ts';
import { toServiceError } from './service-error.ts';
import { decodeProblem, helloProblem } from './validate.ts';

export type AgentStream = ServerDuplexStream<ConnectRequest, ConnectResponse>;

interface Held {
  revision: string;
  digest: string;
}

export interface ConnectionDeps {
  registry: ClusterRegistry;
  ingestion: StatusIngestion;
  desired: DesiredStateStore;
  logger: Logger;
  heartbeatMs: number;
  /** A Hello told of a new Kubernetes version or new API versions: charts render again. */
  onCapabilitiesChanged?: (cluster: string) => void;
}

export class AgentConnection {
  readonly cluster: string;
  readonly #call: AgentStream;
  readonly #deps: ConnectionDeps;
  readonly #held = new Map<string, Held>();
  #hello = false;
  #closed = false;
  #running: Promise<void> | undefined;
  #again = false;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Previews asked of the agent, by id, until answered or given up. */
  readonly #previews = new Map<string, (result: DiffResult | null) => void>();
  /** Resolves when the stream is over, for whatever reason. */
  readonly done: Promise<void>;

  constructor(cluster: string, call: AgentStream, deps: ConnectionDeps) {
    this.cluster = cluster;
    this.#call = call;
    this.#deps = deps;
    this.done = new Promise((resolve) => {
      const finish = () => {
        this.#closed = true;
        clearInterval(this.#heartbeat);
        for (const answer of this.#previews.values()) answer(null);
        resolve();
      };
      call.on('end', () => {
        call.end();
        finish();
      });
      call.on('cancelled', finish);
      call.on('error', finish);
      call.on('close', finish);
    });
    call.on('data', (msg: ConnectRequest) => {
      this.#onMessage(msg).catch((err) => this.#fail(err));
    });
    this.#heartbeat = setInterval(() => {
      this.#write({ kind: { $case: 'heartbeat', value: { sentAtUnixMs: Date.now() } } });
    }, deps.heartbeatMs);
  }

  async #onMessage(msg: ConnectRequest): Promise<void> {
    const undecodable = decodeProblem(msg);
    if (undecodable) {
      this.#refuse(undecodable);
      return;
    }
    switch (msg.kind?.$case) {
      case 'hello': {
        const problem = helloProblem(msg.kind.value);
        if (problem) this.#refuse(problem);
        else await this.#onHello(msg.kind.value);
        return;
      }
      case 'ack':
        await this.#touch();
        return;
      case 'heartbeat':
        await this.#touch();
        return;
      case 'diffResult': {
        this.#previews.get(msg.kind.value.id)?.(msg.kind.value);
        return;
      }
      case 'report':
        // Not awaited: reports are acknowledged one by one, each once it is enqueued, and a
        // slow enqueue must not hold up the acks and heartbeats behind it.
        void this.#onReport(msg.kind.value);
        return;
      default:
        return;
    }
  }

  /** A status report on the stream: the same handling as ReportStatus, answered by a ReportAck. */
  async #onReport(report: ReportStatusRequest): Promise<void> {
    const { sequence } = report;
    const ack = (outcome: ReportOutcome, reason = '') =>
      this.#write({ kind: { $case: 'reportAck', value: { sequence, outcome, reason } } });
    if (!this.#hello) {
      ack(ReportOutcome.REPORT_OUTCOME_REFUSED, 'send a Hello before reports on the stream');
      return;
    }
    try {
      const { duplicate } = await inSpan(
        'grpc.Connect.report',
        { 'gitfleet.cluster': this.cluster, 'gitfleet.fleet': report.status?.fleet ?? '' },
        () => acceptReport(this.#deps.ingestion, this.cluster, sequence, report.status),
      );
      ack(duplicate ? ReportOutcome.REPORT_OUTCOME_DUPLICATE : ReportOutcome.REPORT_OUTCOME_STORED);
    } catch (err) {
      const error = toServiceError(err);
      const retry = error.code === grpcStatus.UNAVAILABLE || error.code === grpcStatus.INTERNAL;
      this.#deps.logger.warn(
        { cluster: this.cluster, sequence, code: grpcStatus[error.code], reason: error.details },
        retry ? 'status report not stored; the agent will send it again' : 'status report refused',
      );
      ack(retry ? ReportOutcome.REPORT_OUTCOME_RETRY : ReportOutcome.REPORT_OUTCOME_REFUSED, error.details);
    }
  }

  async #onHello(hello: Hello): Promise<void> {
    this.#held.clear();
    for (const r of hello.running) this.#held.set(r.fleet, { revision: r.revision, digest: r.bundleDigest });
    this.#hello = true;
    const { capabilitiesChanged } = await this.#deps.registry.markConnected(this.cluster, {
      version: hello.agent?.version ?? '',
      kubernetesVersion: hello.agent?.kubernetesVersion ?? '',
      apiVersions: hello.agent?.apiVersions ?? [],
    });
    if (capabilitiesChanged) this.#deps.onCapabilitiesChanged?.(this.cluster);
    await this.sync();
    const sequence = await this.#deps.desired.nextSequence(this.cluster);
    this.#write({ kind: { $case: 'synced', value: { sequence } } });
  }

  /** Sends whatever differs between the desired state and what the agent holds. */
  sync(): Promise<void> {
    if (!this.#hello || this.#closed) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#syncOnce();
        } while (this.#again && !this.#closed);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async #syncOnce(): Promise<void> {
    const desired = await this.#deps.desired.get(this.cluster);
    for (const [fleet, entry] of desired) {
      const held = this.#held.get(fleet);
      if (held && held.digest === entry.digest && held.revision === entry.revision) continue;
      const sequence = await this.#deps.desired.nextSequence(this.cluster);
      let compressed: Buffer | null = null;
      let size = 0;
      if (!held || held.digest !== entry.digest) {
        const bundle = await this.#deps.desired.getCompressedBundle(entry.digest);
        if (!bundle) {
          this.#deps.logger.error(
            { cluster: this.cluster, fleet, digest: entry.digest },
            'bundle missing from the store',
          );
          continue;
        }
        compressed = bundle.data;
        size = bundle.size;
      }
      for (const chunk of bundleChunks(sequence, entry, compressed, size)) {
        if (this.#closed) return;
        await this.#writeAndDrain({ kind: { $case: 'chunk', value: chunk } });
      }
      this.#held.set(fleet, { revision: entry.revision, digest: entry.digest });
    }
    for (const fleet of [...this.#held.keys()]) {
      if (desired.has(fleet)) continue;
      const sequence = await this.#deps.desired.nextSequence(this.cluster);
      await this.#writeAndDrain({ kind: { $case: 'removed', value: { sequence, fleet, prune: true } } });
      this.#held.delete(fleet);
    }
  }

  #write(msg: ConnectResponse): boolean {
    if (this.#closed) return true;
    return this.#call.write(msg);
  }

  // Large bundles are many chunks: respect the stream's flow control instead of buffering
  // the whole bundle in memory per slow agent.
  async #writeAndDrain(msg: ConnectResponse): Promise<void> {
    if (!this.#write(msg) && !this.#closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#call.off('drain', done);
          resolve();
        };
        this.#call.on('drain', done);
        this.done.then(done);
      });
    }
  }

  // A message the agent should never have sent ends the stream: carrying on would act on
  // something other than what the agent meant.
  #refuse(reason: string): void {
    this.#deps.logger.warn(
      { method: 'Connect', cluster: this.cluster, code: 'INVALID_ARGUMENT', reason },
      'agent call refused',
    );
    this.close(grpcStatus.INVALID_ARGUMENT, reason);
  }

  // Only bookkeeping (lastSeen): while Redis is away the stream stays up, so that agents do
  // not all reconnect, each after a backoff of up to a minute, once it is back.
  async #touch(): Promise<void> {
    await this.#deps.registry.touch(this.cluster).catch((err: unknown) => {
      if (!isRedisUnavailable(err)) throw err;
    });
  }

  #fail(err: unknown): void {
    this.#deps.logger.warn({ cluster: this.cluster, err }, 'agent stream failed');
    this.close(grpcStatus.INTERNAL, err instanceof Error ? err.message : String(err));
  }

  /**
   * Asks the agent what applying a bundle would change (it dry-runs it); resolves with its
   * answer, or null when the deadline passes or the stream ends first.
   */
  preview(request: DiffRequest): Promise<DiffResult | null> {
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(null), Math.max(0, Number(request.deadlineUnixMs) - Date.now()));
      const answer = (result: DiffResult | null) => {
        clearTimeout(timer);
        this.#previews.delete(request.id);
        resolve(result);
      };
      this.#previews.set(request.id, answer);
      this.#write({ kind: { $case: 'diffRequest', value: request } });
    });
  }

  /** Ends the stream with a status the agent sees (e.g. UNAUTHENTICATED after deletion). */
  close(code: number, details: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    // grpc-js ends a server stream with a status when the error is emitted on it.
    this.#call.emit('error', Object.assign(new Error(details), { code, details }));
  }
}

/** The streams this replica holds, reacting to events from every replica. */
export class ConnectionManager {
  readonly #connections = new Map<string, AgentConnection>();

  get size(): number {
    return this.#connections.size;
  }

  has(cluster: string): boolean {
    return this.#connections.has(cluster);
  }

  get(cluster: string): AgentConnection | undefined {
    return this.#connections.get(cluster);
  }

  add(connection: AgentConnection): void {
    const previous = this.#connections.get(connection.cluster);
    // An agent that reconnects before its old stream timed out replaces it.
    previous?.close(grpcStatus.ABORTED, 'replaced by a newer stream from the same cluster');
    this.#connections.set(connection.cluster, connection);
    connection.done.then(() => {
      if (this.#connections.get(connection.cluster) === connection)
        this.#connections.delete(connection.cluster);
    });
  }

  onEvent(event: GitfleetEvent): void {
    if (!event.cluster) return;
    const connection = this.#connections.get(event.cluster);
    if (!connection) return;
    if (event.type === 'DesiredStateChanged') {
      connection.sync().catch(() => {});
    } else if (event.type === 'ClusterDeleted') {
      connection.close(
        grpcStatus.UNAUTHENTICATED,
        `cluster ${event.cluster} was deleted; its credential is revoked`,
      );
    }
  }

  closeAll(details: string): void {
    for (const c of this.#connections.values()) c.close(grpcStatus.UNAVAILABLE, details);
  }
}
