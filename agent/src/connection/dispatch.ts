// What the agent does with each message down one Connect stream: reassemble and check desired
// states, hand them to the fleets, ack what was handed over. A desired state that does not
// check out (digest, gzip, a missing chunk, over the size limit) is refused here: it never
// reaches a fleet and is never acked, so the fleet keeps enforcing what it had.
import type { ConnectRequest, ConnectResponse, RunningFleet } from '@gitfleet/proto';
import type { Logger } from 'pino';
import { BundleError, ChunkAssembler, type DesiredState } from './inbound.ts';

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

export class StreamDispatcher {
  readonly #assembler: ChunkAssembler;
  readonly #handlers: StreamHandlers;
  readonly #logger: Logger;
  readonly #send: (msg: ConnectRequest) => void;
  readonly #onSynced: () => void;
  /** The highest sequence handled on this stream (what the next Hello reports). */
  lastSequence: number;

  constructor(options: {
    handlers: StreamHandlers;
    logger: Logger;
    send(msg: ConnectRequest): void;
    onSynced(): void;
    lastSequence?: number;
    maxBundleBytes?: number;
  }) {
    this.#assembler = new ChunkAssembler({ maxBundleBytes: options.maxBundleBytes });
    this.#handlers = options.handlers;
    this.#logger = options.logger;
    this.#send = options.send;
    this.#onSynced = options.onSynced;
    this.lastSequence = options.lastSequence ?? 0;
  }

  async handle(msg: ConnectResponse): Promise<void> {
    switch (msg.kind?.$case) {
      case 'chunk': {
        let desired: DesiredState | undefined;
        try {
          desired = this.#assembler.accept(msg.kind.value);
        } catch (err) {
          if (!(err instanceof BundleError)) throw err;
          this.#logger.error(
            { fleet: msg.kind.value.fleet, sequence: msg.kind.value.sequence, reason: err.message },
            'desired state refused; the fleet keeps running what it had',
          );
          return;
        }
        if (!desired) return;
        await this.#handlers.onDesired(desired);
        this.lastSequence = Math.max(this.lastSequence, desired.sequence);
        this.#send({
          kind: {
            $case: 'ack',
            value: { sequence: desired.sequence, fleet: desired.fleet, bundleDigest: desired.digest },
          },
        });
        return;
      }
      case 'removed': {
        const { sequence, fleet, prune } = msg.kind.value;
        await this.#handlers.onRemoved(fleet, prune);
        this.lastSequence = Math.max(this.lastSequence, sequence);
        this.#send({ kind: { $case: 'ack', value: { sequence, fleet, bundleDigest: '' } } });
        return;
      }
      case 'synced':
        this.lastSequence = Math.max(this.lastSequence, msg.kind.value.sequence);
        this.#onSynced();
        this.#handlers.onConnected?.(true);
        return;
      default:
        return;
    }
  }
}
