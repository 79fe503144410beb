// The agent's side of the protocol: it always dials out. It exchanges a bootstrap token for
// a credential once, then holds one Connect stream, reconnecting with backoff. On every
// (re)connect it says what it runs, so the control plane sends only what differs; it acks
// each desired state after handing it to the reconciler.
import {
  type AgentInfo,
  AgentServiceClient,
  type ConnectRequest,
  type ConnectResponse,
  type FleetStatus,
  type ReportAck,
  ReportOutcome,
} from '@gitfleet/proto';
import { type ClientDuplexStream, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Backoff } from './backoff.ts';
import { StreamDispatcher, type StreamHandlers } from './dispatch.ts';

export type { StreamHandlers } from './dispatch.ts';

export interface ConnectionOptions {
  /** host:port of the control plane's gRPC listener. */
  address: string;
  /** PEM of the CA that signed the control plane's certificate (null = system roots). */
  caPem: string | null;
  /** TLS server name to verify, when it differs from the address host. */
  serverName?: string | undefined;
  /**
   * Describes the agent and its cluster; asked before registering and before every stream, so
   * the control plane learns of a new Kubernetes version or CRD at the next reconnect.
   */
  agent: () => Promise<AgentInfo>;
  logger: Logger;
  heartbeatMs?: number;
  backoff?: { baseMs: number; capMs: number };
}

/** How long a report may wait for its answer before it is sent again. */
const REPORT_TIMEOUT_MS = 15_000;

/** Refusals that a retry of the same report cannot change. */
const PERMANENT = new Set<number>([status.INVALID_ARGUMENT, status.RESOURCE_EXHAUSTED, status.OUT_OF_RANGE]);

export class ControlPlaneConnection {
  readonly #options: ConnectionOptions;
  readonly #client: AgentServiceClient;
  #credential: string | undefined;
  #stream: ClientDuplexStream<ConnectRequest, ConnectResponse> | undefined;
  #stopped = false;
  #lastSequence = 0;
  /** The current stream was answered with Synced: reports may go on it. */
  #streamSynced = false;
  /** Reports sent on the stream, by sequence, until their ReportAck (undefined: stream lost). */
  readonly #reportWaiters = new Map<number, (ack: ReportAck | undefined) => void>();

  constructor(options: ConnectionOptions) {
    this.#options = options;
    const creds = credentials.createSsl(options.caPem ? Buffer.from(options.caPem) : null);
    this.#client = new AgentServiceClient(options.address, creds, {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      ...(options.serverName ? { 'grpc.ssl_target_name_override': options.serverName } : {}),
    });
  }

  setCredential(credential: string): void {
    this.#credential = credential;
  }

  #metadata(): Metadata {
    const md = new Metadata();
    if (this.#credential) md.set('authorization', `Bearer ${this.#credential}`);
    return md;
  }

  /** Exchanges the one-time bootstrap token for this cluster's credential. */
  async register(bootstrapToken: string): Promise<{ clusterName: string; credential: string }> {
    const agent = await this.#options.agent();
    return new Promise((resolve, reject) => {
      this.#client.register({ bootstrapToken, agent }, (err, res) => {
        if (err)
          reject(new Error(`registration refused by the control plane: ${err.details || err.message}`));
        else resolve(res);
      });
    });
  }

  /**
   * Sends one report; rejects while it should be retried. While the stream is up (Synced) the
   * report goes on it, answered by a ReportAck; otherwise as a ReportStatus call. A report the
   * control plane refuses for what it is (invalid, too large) would be refused again forever
   * and hold up the ones behind it: it is logged and dropped instead.
   */
  reportStatus(sequence: number, fleetStatus: FleetStatus): Promise<void> {
    if (this.#stream && this.#streamSynced) return this.#reportOnStream(this.#stream, sequence, fleetStatus);
    return new Promise((resolve, reject) => {
      this.#client.reportStatus(
        { sequence, status: fleetStatus },
        this.#metadata(),
        { deadline: Date.now() + REPORT_TIMEOUT_MS },
        (err) => {
          if (!err) resolve();
          else if (PERMANENT.has(err.code)) {
            this.#dropRefused(fleetStatus, sequence, status[err.code], err.details);
            resolve();
          } else reject(err);
        },
      );
    });
  }

  #reportOnStream(
    stream: ClientDuplexStream<ConnectRequest, ConnectResponse>,
    sequence: number,
    fleetStatus: FleetStatus,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new Error('no answer to a status report in time')),
        REPORT_TIMEOUT_MS,
      );
      const settle = (err?: Error) => {
        clearTimeout(timer);
        this.#reportWaiters.delete(sequence);
        if (err) reject(err);
        else resolve();
      };
      this.#reportWaiters.set(sequence, (ack) => {
        if (!ack) settle(new Error('stream lost before the report was answered'));
        else if (ack.outcome === ReportOutcome.REPORT_OUTCOME_RETRY) settle(new Error(ack.reason));
        else {
          if (ack.outcome === ReportOutcome.REPORT_OUTCOME_REFUSED)
            this.#dropRefused(fleetStatus, sequence, 'REFUSED', ack.reason);
          settle();
        }
      });
      stream.write({ kind: { $case: 'report', value: { sequence, status: fleetStatus } } });
    });
  }

  #dropRefused(fleetStatus: FleetStatus, sequence: number, code: string, reason: string): void {
    this.#options.logger.error(
      { fleet: fleetStatus.fleet, sequence, code, reason },
      'the control plane refused a status report; dropped',
    );
  }

  /** Holds the stream until stop(), reconnecting with exponential backoff and full jitter. */
  async run(handlers: StreamHandlers): Promise<void> {
    const backoff = new Backoff(this.#options.backoff ?? { baseMs: 500, capMs: 60_000 });
    while (!this.#stopped) {
      const started = Date.now();
      const agent = await this.#options.agent();
      if (this.#stopped) return;
      const outcome = await this.#runOnce(agent, handlers, () => backoff.reset());
      handlers.onConnected?.(false);
      if (outcome.revoked) {
        handlers.onRevoked(outcome.message);
        return;
      }
      if (this.#stopped) return;
      // A stream that stayed up a while was healthy: start the next backoff from scratch.
      if (Date.now() - started > 60_000) backoff.reset();
      const delay = backoff.next();
      this.#options.logger.warn(
        { delayMs: delay, reason: outcome.message },
        'stream to the control plane lost; reconnecting',
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  #runOnce(
    agent: AgentInfo,
    handlers: StreamHandlers,
    onSynced: () => void,
  ): Promise<{ revoked: boolean; message: string }> {
    return new Promise((resolve) => {
      const stream = this.#client.connect(this.#metadata());
      this.#stream = stream;
      this.#streamSynced = false;
      const dispatcher = new StreamDispatcher({
        handlers,
        logger: this.#options.logger,
        send: (msg) => stream.write(msg),
        onSynced: () => {
          this.#streamSynced = true;
          onSynced();
        },
        lastSequence: this.#lastSequence,
      });
      let work = Promise.resolve();
      let settled = false;
      const finish = (revoked: boolean, message: string) => {
        if (settled) return;
        settled = true;
        clearInterval(heartbeat);
        this.#stream = undefined;
        this.#streamSynced = false;
        // Reports waiting for an answer go back to the outbox, which sends them again.
        for (const waiter of [...this.#reportWaiters.values()]) waiter(undefined);
        resolve({ revoked, message });
      };
      const heartbeat = setInterval(() => {
        stream.write({ kind: { $case: 'heartbeat', value: { sentAtUnixMs: Date.now() } } });
      }, this.#options.heartbeatMs ?? 20_000);

      stream.on('data', (msg: ConnectResponse) => {
        // A report's answer must not wait behind an apply that may take minutes.
        if (msg.kind?.$case === 'reportAck') {
          this.#reportWaiters.get(msg.kind.value.sequence)?.(msg.kind.value);
          return;
        }
        // Messages are handled strictly in order: an ack must never overtake its apply.
        work = work
          .then(async () => {
            await dispatcher.handle(msg);
            this.#lastSequence = Math.max(this.#lastSequence, dispatcher.lastSequence);
          })
          .catch((err) => {
            this.#options.logger.error({ err }, 'could not handle a message from the control plane');
          });
      });
      stream.on('error', (err: ServiceError) => {
        finish(err.code === status.UNAUTHENTICATED, err.details || err.message);
      });
      stream.on('end', () => finish(false, 'stream ended by the control plane'));
      stream.write({
        kind: {
          $case: 'hello',
          value: {
            agent,
            running: handlers.running(),
            lastSequence: this.#lastSequence,
          },
        },
      });
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#stream?.cancel();
    this.#client.close();
  }
}
