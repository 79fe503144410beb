// An agent at the protocol level for tests of the control plane's side (faults, replicas):
// no Kubernetes behind it, but the real agent's habits where they matter to the control
// plane — it holds the stream and reconnects, acks what it receives, reports with a sequence
// number and retries each report until acknowledged.
import { setTimeout as sleep } from 'node:timers/promises';
import { ChunkAssembler } from '@gitfleet/agent';
import {
  AgentServiceClient,
  type ConnectResponse,
  type FleetStatus,
  Phase,
  type ReportStatusResponse,
} from '@gitfleet/proto';
import { credentials } from '@grpc/grpc-js';
import { bearer } from './control-plane.ts';

export function reportStatus(
  client: AgentServiceClient,
  credential: string,
  sequence: number,
  status: FleetStatus,
): Promise<ReportStatusResponse> {
  return new Promise((resolve, reject) =>
    client.reportStatus(
      { sequence, status },
      bearer(credential),
      { deadline: Date.now() + 5000 },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

export const fleetStatus = (fleet: string, revision: string, digest: string, phase: Phase): FleetStatus => ({
  fleet,
  desiredRevision: revision,
  desiredDigest: digest,
  appliedRevision: phase === Phase.PHASE_READY ? revision : '',
  attemptedRevision: revision,
  phase,
  message: '',
  objects: [],
  observedAtUnixMs: Date.now(),
  driftCorrections: 0,
});

/**
 * An agent at the protocol level that behaves like the real one where it matters here: it
 * holds the stream and reconnects when it breaks (saying in its Hello what it runs), acks
 * every desired state, reports Applying at once and Ready `readyDelayMs` later, and retries
 * each report with its sequence number until the control plane acknowledges it. Unlike the
 * real agent it never coalesces reports, so every report it makes is one to find stored.
 * Given several addresses (replicas), it opens its stream on the next one each time it
 * (re)connects and sends each report attempt to one picked at random.
 */
export class SimulatedAgent {
  readonly name: string;
  readonly #clients: AgentServiceClient[];
  readonly #credential: string;
  #held: { fleet: string; revision: string; bundleDigest: string } | undefined;
  #stream: ReturnType<AgentServiceClient['connect']> | undefined;
  #stopped = false;
  #lastSequence = 0;
  readonly #outbox: {
    status: FleetStatus;
    sequence?: number;
    onAcked?: (attemptStartedAt: number) => void;
  }[] = [];
  #sending = false;
  readyDelayMs = 200;
  /** Per revision: when its desired state arrived. */
  readonly received = new Map<string, number>();
  /** Per revision: when the attempt of the Ready report that was acknowledged started. */
  readonly readySentAt = new Map<string, number>();
  /** Sequence numbers the control plane acknowledged (each once). */
  readonly acked: number[] = [];
  failedAttempts = 0;
  /** When each stream got its `synced` (the stream is up and the agent caught up). */
  readonly syncedAt: number[] = [];

  constructor(name: string, address: string | string[], caPem: string, credential: string) {
    this.name = name;
    this.#clients = (Array.isArray(address) ? address : [address]).map(
      (a) => new AgentServiceClient(a, credentials.createSsl(Buffer.from(caPem))),
    );
    this.#credential = credential;
    void this.#connectLoop();
  }

  get pending(): number {
    return this.#outbox.length;
  }

  async #connectLoop(): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      const client = this.#clients[attempt % this.#clients.length] as AgentServiceClient;
      const stream = client.connect(bearer(this.#credential));
      this.#stream = stream;
      const assembler = new ChunkAssembler();
      await new Promise<void>((resolve) => {
        stream.on('data', (msg: ConnectResponse) => {
          if (msg.kind?.$case === 'synced') this.syncedAt.push(Date.now());
          if (msg.kind?.$case !== 'chunk') return;
          const d = assembler.accept(msg.kind.value);
          if (!d) return;
          this.#onDesired(d.fleet, d.revision, d.digest);
          stream.write({
            kind: { $case: 'ack', value: { sequence: d.sequence, fleet: d.fleet, bundleDigest: d.digest } },
          });
        });
        stream.on('error', () => resolve());
        stream.on('end', () => resolve());
        stream.write({
          kind: {
            $case: 'hello',
            value: {
              agent: { version: 'test', kubernetesVersion: 'v1.35.4', apiVersions: [] },
              running: this.#held ? [this.#held] : [],
              lastSequence: 0,
            },
          },
        });
      });
      if (!this.#stopped) await sleep(200 + Math.random() * 300);
    }
  }

  #onDesired(fleet: string, revision: string, digest: string): void {
    if (this.#held?.revision === revision) return;
    this.#held = { fleet, revision, bundleDigest: digest };
    this.received.set(revision, Date.now());
    this.#report(fleetStatus(fleet, revision, digest, Phase.PHASE_APPLYING));
    setTimeout(() => {
      if (this.#stopped) return;
      this.#report(fleetStatus(fleet, revision, digest, Phase.PHASE_READY), (startedAt) =>
        this.readySentAt.set(revision, startedAt),
      );
    }, this.readyDelayMs);
  }

  #report(status: FleetStatus, onAcked?: (attemptStartedAt: number) => void): void {
    this.#outbox.push({ status, ...(onAcked ? { onAcked } : {}) });
    void this.#send();
  }

  async #send(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    while (!this.#stopped && this.#outbox.length > 0) {
      const item = this.#outbox[0]!;
      // The same sequence on every attempt: a report whose ack was lost is recognised as a
      // duplicate instead of being stored a second time.
      item.sequence ??= this.#lastSequence = Math.max(this.#lastSequence + 1, Date.now());
      const startedAt = Date.now();
      try {
        const client = this.#clients[Math.floor(Math.random() * this.#clients.length)] as AgentServiceClient;
        await reportStatus(client, this.#credential, item.sequence, item.status);
        this.acked.push(item.sequence);
        item.onAcked?.(startedAt);
        this.#outbox.shift();
      } catch {
        this.failedAttempts++;
        await sleep(300);
      }
    }
    this.#sending = false;
  }

  stop(): void {
    this.#stopped = true;
    this.#stream?.cancel();
    for (const c of this.#clients) c.close();
  }
}
