// What the agent does with each message down one Connect stream: reassemble and check desired
// states, hand them to the fleets, ack what was handed over. A desired state that does not
// check out (digest, gzip, a missing chunk, over the size limit) is refused here: it never
// reaches a fleet and is never acked, so the fleet keeps enforcing what it had.
import {
  type ConnectRequest,
  type ConnectResponse,
  DiffAction,
  type DiffRequest,
  type DiffResult,
  type RunningFleet,
} from '@gitfleet/proto';
import { BundleError, DEFAULT_APPLY } from '@gitfleet/proto/core';
import type { Logger } from 'pino';
import type { ObjectPreview, PreviewAction } from '../apply/preview.ts';
import type { KubeObject } from '../objects.ts';
import { ChunkAssembler, type DesiredState } from './inbound.ts';

export interface StreamHandlers {
  /** What the agent runs now, sent in every Hello. */
  running(): RunningFleet[];
  /** A complete, digest-checked desired state. Resolves once it is accepted for applying. */
  onDesired(desired: DesiredState): Promise<void>;
  /** The fleet no longer targets this cluster. */
  onRemoved(fleet: string, prune: boolean): Promise<void>;
  /** What applying `objects` would change (a preview diff asked for by the control plane). */
  onPreview?(
    fleet: string,
    objects: KubeObject[],
    options: { force: boolean; prune: boolean },
  ): Promise<ObjectPreview[]>;
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
      case 'diffRequest':
        // Answered when done, without holding up the desired states behind it.
        void this.#preview(msg.kind.value).then((result) =>
          this.#send({ kind: { $case: 'diffResult', value: result } }),
        );
        return;
      default:
        return;
    }
  }

  async #preview(request: DiffRequest): Promise<DiffResult> {
    const answer = (fields: Partial<DiffResult>): DiffResult => ({
      id: request.id,
      objects: [],
      error: '',
      ...fields,
    });
    if (!this.#handlers.onPreview) return answer({ error: 'this agent does not preview' });
    let objects: KubeObject[];
    try {
      // The bundle is checked as a desired state's would be (digest, size, gzip).
      const desired = new ChunkAssembler().accept({
        sequence: 0,
        fleet: request.fleet,
        stage: '',
        revision: request.revision,
        bundleDigest: request.bundleDigest,
        index: 0,
        total: 1,
        compression: request.compression,
        uncompressedSize: request.uncompressedSize,
        data: request.data,
        options: request.options,
      });
      objects = desired?.objects ?? [];
    } catch (err) {
      return answer({ error: `the bundle to compare did not check out: ${(err as Error).message}` });
    }
    const options = request.options ?? DEFAULT_APPLY;
    try {
      const previews = await this.#handlers.onPreview(request.fleet, objects, {
        force: options.force,
        prune: options.prune,
      });
      return answer({
        objects: previews.map((p) => ({
          apiVersion: p.ref.group ? `${p.ref.group}/${p.ref.version}` : p.ref.version,
          kind: p.ref.kind,
          namespace: p.ref.namespace,
          name: p.ref.name,
          action: DIFF_ACTIONS[p.action],
          diff: p.diff,
          message: p.message,
          changedKeys: p.changedKeys,
        })),
      });
    } catch (err) {
      this.#logger.warn({ fleet: request.fleet, err: (err as Error).message }, 'preview failed');
      return answer({ error: (err as Error).message });
    }
  }
}

const DIFF_ACTIONS: Record<PreviewAction, DiffAction> = {
  created: DiffAction.DIFF_ACTION_CREATED,
  changed: DiffAction.DIFF_ACTION_CHANGED,
  deleted: DiffAction.DIFF_ACTION_DELETED,
  unchanged: DiffAction.DIFF_ACTION_UNCHANGED,
  failed: DiffAction.DIFF_ACTION_FAILED,
};
