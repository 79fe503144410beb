// Child process of bench/fanout.ts: a slice of the simulated agents. Each one speaks the
// agent protocol as agent/src/connection/connection.ts does: Register (bootstrap token →
// credential), a Connect stream of its own (its own HTTP/2 connection and TLS session, as
// separate clusters have), Hello, chunks reassembled and digest-checked by the agent's own
// ChunkAssembler, an Ack per desired state. It records when each desired state arrived, on
// the wall clock (performance.timeOrigin + now: comparable across processes of one machine).
//
// With `reconnect` set (bench/reconnect.ts), a stream that ends is dialled again after the
// agent's own backoff (exponential, full jitter), and the new Hello names what the agent holds
// and the last sequence it acknowledged, as the real agent's resume does. Every chunk that
// arrives on a resumed stream is counted: with nothing changed in Git there must be none.
import { Backoff, ChunkAssembler } from '@gitfleet/agent';
import { AgentServiceClient, type ConnectRequest, type ConnectResponse } from '@gitfleet/proto';
import { type ClientDuplexStream, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { fromParent, toParent } from './child.ts';
import { limit } from './parallel.ts';

interface SimAgent {
  name: string;
  bootstrapToken: string;
  credential?: string;
  client?: AgentServiceClient;
  stream?: ClientDuplexStream<ConnectRequest, ConnectResponse>;
  connectStarted?: number;
  connectedAt?: number;
  ended?: string;
  /** revision → wall-clock ms when its desired state was complete. */
  arrivals: Map<string, number>;
  /** What it holds per fleet, sent in the Hello of a resumed stream. */
  held: Map<string, { revision: string; digest: string }>;
  lastSequence: number;
  /** Streams opened so far; the one being resumed after a restart has a higher number. */
  generation: number;
  /** generation → wall-clock ms when that stream was Synced. */
  syncedAt: Map<number, number>;
  /** generation → desired-state chunks received on that stream. */
  chunks: Map<number, number>;
  backoff?: Backoff;
  /** Set when the bench closes the agents: no reconnecting then. */
  closing?: boolean;
}

const wall = () => performance.timeOrigin + performance.now();
let agents: SimAgent[] = [];
let address = '';
let caPem = '';
let reconnect: { baseMs: number; capMs: number } | undefined;
/** Generation of each agent's stream when the storm began (see `storm-begin`). */
let baseline = new Map<SimAgent, number>();

function connect(agent: SimAgent): Promise<void> {
  return new Promise((resolve) => {
    // A local subchannel pool: one connection per agent, not one shared by the process.
    agent.client ??= new AgentServiceClient(address, credentials.createSsl(Buffer.from(caPem)), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      // The agent's own backoff decides when to dial again, not the channel's.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
    const md = new Metadata();
    if (agent.credential) md.set('authorization', `Bearer ${agent.credential}`);
    const generation = ++agent.generation;
    agent.ended = undefined;
    const stream = agent.client.connect(md);
    agent.stream = stream;
    const assembler = new ChunkAssembler();
    agent.connectStarted ??= wall();
    let settled = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    let over = false;
    const ended = (why: string) => {
      if (over) return;
      over = true;
      agent.ended = why;
      settle();
      if (reconnect && !agent.closing) {
        agent.backoff ??= new Backoff(reconnect);
        setTimeout(() => {
          if (!agent.closing) void connect(agent);
        }, agent.backoff.next());
      }
    };
    stream.on('data', (msg: ConnectResponse) => {
      if (msg.kind?.$case === 'chunk') {
        agent.chunks.set(generation, (agent.chunks.get(generation) ?? 0) + 1);
        const desired = assembler.accept(msg.kind.value);
        if (!desired) return;
        agent.arrivals.set(desired.revision, wall());
        agent.held.set(desired.fleet, { revision: desired.revision, digest: desired.digest });
        agent.lastSequence = Math.max(agent.lastSequence, desired.sequence);
        stream.write({
          kind: {
            $case: 'ack',
            value: { sequence: desired.sequence, fleet: desired.fleet, bundleDigest: desired.digest },
          },
        });
      } else if (msg.kind?.$case === 'synced') {
        agent.connectedAt ??= wall();
        agent.syncedAt.set(generation, wall());
        // A stream that reached Synced was healthy: the next outage starts from a short delay.
        agent.backoff?.reset();
        settle();
      }
    });
    stream.on('error', (err: ServiceError) => ended(err.details || err.message));
    stream.on('end', () => ended('stream ended'));
    stream.write({
      kind: {
        $case: 'hello',
        value: {
          agent: { version: 'bench', kubernetesVersion: 'v1.35.4', apiVersions: [] },
          running: [...agent.held].map(([fleet, h]) => ({
            fleet,
            revision: h.revision,
            bundleDigest: h.digest,
          })),
          lastSequence: agent.lastSequence,
        },
      },
    });
  });
}

fromParent(async (msg) => {
  switch (msg.type) {
    case 'setup': {
      address = String(msg.address);
      caPem = String(msg.caPem);
      reconnect = msg.reconnect as typeof reconnect;
      agents = (msg.agents as { name: string; bootstrapToken: string }[]).map((a) => ({
        ...a,
        arrivals: new Map(),
        held: new Map(),
        lastSequence: 0,
        generation: 0,
        syncedAt: new Map(),
        chunks: new Map(),
      }));
      toParent({ type: 'setup-done' });
      return;
    }
    case 'register': {
      const registrar = new AgentServiceClient(address, credentials.createSsl(Buffer.from(caPem)));
      await limit(agents, 64, async (agent) => {
        agent.credential = await new Promise<string>((resolve, reject) =>
          registrar.register(
            {
              bootstrapToken: agent.bootstrapToken,
              agent: { version: 'bench', kubernetesVersion: 'v1.35.4', apiVersions: [] },
            },
            (err, res) => (err ? reject(err) : resolve(res.credential)),
          ),
        );
      });
      registrar.close();
      toParent({ type: 'registered' });
      return;
    }
    case 'connect': {
      // TLS handshakes in flight at once: a fleet's agents do not all dial in the same
      // millisecond; after an outage their backoff with jitter spreads them out too.
      await limit(agents, Number(msg.inFlight ?? 100), connect);
      const ok = agents.filter((a) => a.connectedAt !== undefined && !a.ended);
      toParent({
        type: 'connected',
        connected: ok.length,
        failed: agents.length - ok.length,
        failures: agents
          .filter((a) => a.ended)
          .slice(0, 5)
          .map((a) => a.ended),
        latencies: ok.map((a) => (a.connectedAt ?? 0) - (a.connectStarted ?? 0)),
        lastConnectedAt: Math.max(...ok.map((a) => a.connectedAt ?? 0)),
        rss: process.memoryUsage().rss,
      });
      return;
    }
    case 'arrivals': {
      const revision = String(msg.revision);
      toParent({
        type: 'arrivals',
        times: agents.map((a) => a.arrivals.get(revision) ?? null),
        ended: agents.filter((a) => a.ended).length,
      });
      return;
    }
    case 'storm-begin': {
      baseline = new Map(agents.map((a) => [a, a.generation]));
      toParent({ type: 'storm-marked' });
      return;
    }
    case 'resumed': {
      // Per agent: when its first stream after the restart was Synced (null: not yet), and how
      // many chunks every stream since the restart carried.
      const times: (number | null)[] = [];
      let chunks = 0;
      let agentsSentChunks = 0;
      let attempts = 0;
      for (const a of agents) {
        const base = baseline.get(a) ?? a.generation;
        let first: number | null = null;
        let mine = 0;
        for (let g = base + 1; g <= a.generation; g++) {
          const at = a.syncedAt.get(g);
          if (first === null && at !== undefined) first = at;
          mine += a.chunks.get(g) ?? 0;
        }
        times.push(first);
        chunks += mine;
        if (mine > 0) agentsSentChunks++;
        attempts += a.generation - base;
      }
      toParent({ type: 'resumed', times, chunks, agentsSentChunks, attempts });
      return;
    }
    case 'close': {
      for (const a of agents) a.closing = true;
      for (const a of agents) {
        a.stream?.cancel();
        a.client?.close();
      }
      agents = [];
      toParent({ type: 'closed' });
      return;
    }
  }
});
