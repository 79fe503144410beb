// Status reports on their way up, sent one at a time, each with a per-cluster sequence number,
// until the control plane acknowledges it. While the control plane is unreachable reports wait
// here, and what they say survives the outage: per fleet the outbox keeps each change of phase
// or revision (Drifted → Ready → Drifted …), not only the last report, so the status history
// shows what happened while the link was down. A report in the same phase and at the same
// revision as the one waiting before it replaces that one (it says all the older one said),
// and a fleet keeps at most MAX_PER_FLEET waiting reports, the newest.
import type { FleetStatus } from '@gitfleet/proto';

export type ReportSender = (sequence: number, status: FleetStatus) => Promise<void>;

/** Waiting reports kept per fleet: an outage of hours with drift every minute stays bounded. */
export const MAX_PER_FLEET = 16;

const sameState = (a: FleetStatus, b: FleetStatus) =>
  a.phase === b.phase &&
  a.appliedRevision === b.appliedRevision &&
  a.attemptedRevision === b.attemptedRevision &&
  a.desiredDigest === b.desiredDigest;

export class StatusOutbox {
  readonly #pending = new Map<string, FleetStatus[]>();
  readonly #sequences = new WeakMap<FleetStatus, number>();
  readonly #send: ReportSender;
  readonly #retryMs: number;
  #lastSequence = 0;
  #running = false;
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(send: ReportSender, options: { retryMs?: number } = {}) {
    this.#send = send;
    this.#retryMs = options.retryMs ?? 2000;
  }

  /** Number of reports not yet acknowledged. */
  get size(): number {
    let n = 0;
    for (const queue of this.#pending.values()) n += queue.length;
    return n;
  }

  put(status: FleetStatus): void {
    const queue = this.#pending.get(status.fleet) ?? [];
    const last = queue.at(-1);
    if (last && sameState(last, status)) queue[queue.length - 1] = status;
    else queue.push(status);
    if (queue.length > MAX_PER_FLEET) queue.splice(0, queue.length - MAX_PER_FLEET);
    this.#pending.set(status.fleet, queue);
    this.#wake?.();
    if (!this.#running) void this.#run();
  }

  /** Sends immediately (e.g. after reconnecting) instead of waiting out the retry delay. */
  flush(): void {
    this.#wake?.();
  }

  /**
   * Sequence numbers must keep increasing across agent restarts without persisting a
   * counter: wall-clock milliseconds, bumped when two reports share a millisecond.
   */
  nextSequence(): number {
    this.#lastSequence = Math.max(this.#lastSequence + 1, Date.now());
    return this.#lastSequence;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#stopped && this.#pending.size > 0) {
        const [fleet, queue] = this.#pending.entries().next().value as [string, FleetStatus[]];
        const status = queue[0];
        if (!status) {
          this.#pending.delete(fleet);
          continue;
        }
        // A retry keeps the report's sequence: when an earlier attempt was enqueued and only its
        // ack was lost, the control plane sees a duplicate instead of storing the report twice.
        const sequence = this.#sequences.get(status) ?? this.nextSequence();
        this.#sequences.set(status, sequence);
        try {
          await this.#send(sequence, status);
          // A newer report in the same state may have replaced this one while it was in
          // flight (or the cap pushed it out): then there is nothing to take off.
          if (queue[0] === status) queue.shift();
          // Fleets take turns: one that keeps changing must not hold back the others.
          this.#pending.delete(fleet);
          if (queue.length > 0) this.#pending.set(fleet, queue);
        } catch {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.#retryMs);
            this.#wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#wake = undefined;
        }
      }
    } finally {
      this.#running = false;
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }
}
