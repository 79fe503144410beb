// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
// Jitter"): the delay is uniform in [0, min(cap, base·2^attempt)], so ten thousand agents
// that lost the control plane at the same instant do not all return in the same second.
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

export class Backoff {
  #attempt = 0;
  readonly #options: Required<BackoffOptions>;

  constructor(options: BackoffOptions) {
    this.#options = { random: Math.random, ...options };
  }

  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    const { baseMs, capMs, random } = this.#options;
    const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.floor(random() * ceiling);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
