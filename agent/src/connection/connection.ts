// The agent's side of the protocol: it always dials out. It exchanges a bootstrap token for
// a credential once, then holds one Connect stream, reconnecting with backoff. On every
// (re)connect it says what it runs, so the control plane sends only what differs; it acks
// each desired state after handing it to the reconciler.
import {
  type AgentInfo,
  AgentServiceClient,
  type ConnectResponse,
  type FleetStatus,
  type RunningFleet,
} from '@gitfleet/proto';
import { type ClientDuplexStream, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Backoff } from './backoff.ts';
import { ChunkAssembler, type DesiredState } from './inbound.ts';

export interface ConnectionOptions {
  /** host:port of the control plane's gRPC listener. */
  address: string;
  /** PEM of the CA that signed the control plane's certificate (null = system roots). */
  caPem: string | null;
  /** TLS server name to verify, when it differs from the address host. */
  serverName?: string | undefined;
  agent: AgentInfo;
  logger: Logger;
  heartbeatMs?: number;
  backoff?: { baseMs: number; capMs: number };
}

export interface StreamHandlers {
  /** What the agent runs now, sent in every Hello. */
  running(): RunningFleet[];
  /** A complete, digest-checked desired state. Resolves once it is accepted for applying. */
  onDesired(desired: DesiredState): Promise<void>;
  /** The fleet no longer targets this cluster. */
  onRemoved(fleet: string, prune: boolean): Promise<void>;
  /** The credential was revoked (cluster deleted): the agent stops and says so. */
  onRevoked(message: string): void;
  /** Connection state, for logs and status. */
  onConnected?(connected: boolean): void;
}

export class ControlPlaneConnection {
  readonly #options: ConnectionOptions;
  readonly #client: AgentServiceClient;
  #credential: string | undefined;
  #stream: ClientDuplexStream<import('@gitfleet/proto').ConnectRequest, ConnectResponse> | undefined;
  #stopped = false;
  #lastSequence = 0;

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
  register(bootstrapToken: string): Promise<{ clusterName: string; credential: string }> {
    return new Promise((resolve, reject) => {
      this.#client.register({ bootstrapToken, agent: this.#options.agent }, (err, res) => {
        if (err)
          reject(new Error(`registration refused by the control plane: ${err.details || err.message}`));
        else resolve(res);
      });
    });
  }

  reportStatus(sequence: number, fleetStatus: FleetStatus): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#client.reportStatus(
        { sequence, status: fleetStatus },
        this.#metadata(),
        { deadline: Date.now() + 15_000 },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  /** Holds the stream until stop(), reconnecting with exponential backoff and full jitter. */
  async run(handlers: StreamHandlers): Promise<void> {
    const backoff = new Backoff(this.#options.backoff ?? { baseMs: 500, capMs: 60_000 });
    while (!this.#stopped) {
      const started = Date.now();
      const outcome = await this.#runOnce(handlers, () => backoff.reset());
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

  #runOnce(handlers: StreamHandlers, onSynced: () => void): Promise<{ revoked: boolean; message: string }> {
    return new Promise((resolve) => {
      const stream = this.#client.connect(this.#metadata());
      this.#stream = stream;
      const assembler = new ChunkAssembler();
      let work = Promise.resolve();
      let settled = false;
      const finish = (revoked: boolean, message: string) => {
        if (settled) return;
        settled = true;
        clearInterval(heartbeat);
        this.#stream = undefined;
        resolve({ revoked, message });
      };
      const heartbeat = setInterval(() => {
        stream.write({ kind: { $case: 'heartbeat', value: { sentAtUnixMs: Date.now() } } });
      }, this.#options.heartbeatMs ?? 20_000);

      stream.on('data', (msg: ConnectResponse) => {
        // Messages are handled strictly in order: an ack must never overtake its apply.
        work = work
          .then(() => this.#handle(msg, assembler, handlers, stream, onSynced))
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
            agent: this.#options.agent,
            running: handlers.running(),
            lastSequence: this.#lastSequence,
          },
        },
      });
    });
  }

  async #handle(
    msg: ConnectResponse,
    assembler: ChunkAssembler,
    handlers: StreamHandlers,
    stream: ClientDuplexStream<import('@gitfleet/proto').ConnectRequest, ConnectResponse>,
    onSynced: () => void,
  ): Promise<void> {
    switch (msg.kind?.$case) {
      case 'chunk': {
        const desired = assembler.accept(msg.kind.value);
        if (!desired) return;
        await handlers.onDesired(desired);
        this.#lastSequence = Math.max(this.#lastSequence, desired.sequence);
        stream.write({
          kind: {
            $case: 'ack',
            value: { sequence: desired.sequence, fleet: desired.fleet, bundleDigest: desired.digest },
          },
        });
        return;
      }
      case 'removed': {
        const { sequence, fleet, prune } = msg.kind.value;
        await handlers.onRemoved(fleet, prune);
        this.#lastSequence = Math.max(this.#lastSequence, sequence);
        stream.write({ kind: { $case: 'ack', value: { sequence, fleet, bundleDigest: '' } } });
        return;
      }
      case 'synced':
        this.#lastSequence = Math.max(this.#lastSequence, msg.kind.value.sequence);
        onSynced();
        handlers.onConnected?.(true);
        return;
      default:
        return;
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#stream?.cancel();
    this.#client.close();
  }
}
