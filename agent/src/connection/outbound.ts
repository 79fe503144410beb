// Status reports on their way up. The outbox keeps the latest report per fleet (an older
// one that was never sent is worthless once a newer exists) and sends them one at a time,
// each with a per-cluster sequence number, until the control plane acknowledges it. While
// the control plane is unreachable reports wait here; nothing is dropped but superseded ones.
import type { FleetStatus } from '@gitfleet/proto';

export type ReportSender = (sequence: number, status: FleetStatus) => Promise<void>;

export class StatusOutbox {
  readonly #pending = new Map<string, FleetStatus>();
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

  /** Number of fleets with a report not yet acknowledged. */
  get size(): number {
    return this.#pending.size;
  }

  put(status: FleetStatus): void {
    this.#pending.set(status.fleet, status);
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
        const [fleet, status] = this.#pending.entries().next().value as [string, FleetStatus];
        const sequence = this.nextSequence();
        try {
          await this.#send(sequence, status);
          // A newer report may have replaced this one while it was in flight: keep that.
          if (this.#pending.get(fleet) === status) this.#pending.delete(fleet);
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
