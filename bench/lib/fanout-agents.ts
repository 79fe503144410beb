// Child process of bench/fanout.ts: a slice of the simulated agents. Each one speaks the
// agent protocol as agent/src/connection/connection.ts does: Register (bootstrap token →
// credential), a Connect stream of its own (its own HTTP/2 connection and TLS session, as
// separate clusters have), Hello, chunks reassembled and digest-checked by the agent's own
// ChunkAssembler, an Ack per desired state. It records when each desired state arrived, on
// the wall clock (performance.timeOrigin + now: comparable across processes of one machine).
import { ChunkAssembler } from '@gitfleet/agent';
import { AgentServiceClient, type ConnectRequest, type ConnectResponse } from '@gitfleet/proto';
import { type ClientDuplexStream, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { fromParent, toParent } from './child.ts';

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
}

const wall = () => performance.timeOrigin + performance.now();
let agents: SimAgent[] = [];
let address = '';
let caPem = '';

async function limit<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

function connect(agent: SimAgent): Promise<void> {
  return new Promise((resolve) => {
    // A local subchannel pool: one connection per agent, not one shared by the process.
    agent.client = new AgentServiceClient(address, credentials.createSsl(Buffer.from(caPem)), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    const md = new Metadata();
    if (agent.credential) md.set('authorization', `Bearer ${agent.credential}`);
    const stream = agent.client.connect(md);
    agent.stream = stream;
    const assembler = new ChunkAssembler();
    agent.connectStarted = wall();
    let settled = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    stream.on('data', (msg: ConnectResponse) => {
      if (msg.kind?.$case === 'chunk') {
        const desired = assembler.accept(msg.kind.value);
        if (!desired) return;
        agent.arrivals.set(desired.revision, wall());
        stream.write({
          kind: {
            $case: 'ack',
            value: { sequence: desired.sequence, fleet: desired.fleet, bundleDigest: desired.digest },
          },
        });
      } else if (msg.kind?.$case === 'synced') {
        agent.connectedAt ??= wall();
        settle();
      }
    });
    stream.on('error', (err: ServiceError) => {
      agent.ended = err.details || err.message;
      settle();
    });
    stream.on('end', () => {
      agent.ended ??= 'stream ended';
      settle();
    });
    stream.write({
      kind: {
        $case: 'hello',
        value: { agent: { version: 'bench', kubernetesVersion: 'v1.35.4' }, running: [], lastSequence: 0 },
      },
    });
  });
}

fromParent(async (msg) => {
  switch (msg.type) {
    case 'setup': {
      address = String(msg.address);
      caPem = String(msg.caPem);
      agents = (msg.agents as { name: string; bootstrapToken: string }[]).map((a) => ({
        ...a,
        arrivals: new Map(),
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
              agent: { version: 'bench', kubernetesVersion: 'v1.35.4' },
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
    case 'close': {
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
