// Child process of bench/ingest.ts: simulated agents sending ReportStatus over TLS with their
// own cluster credentials, each agent one report at a time (as the real agent does: it waits
// for the ack), many agents at once, over `connections` HTTP/2 connections.
//
// Report j of every cluster has sequence j+1 and fleet `bench-f<j>`: every (cluster, fleet)
// is reported once, so every report must be stored, and the count stored can be checked
// exactly against the count acknowledged.
import { AgentServiceClient, type FleetStatus } from '@gitfleet/proto';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { fromParent, toParent } from './child.ts';
import { ms, now } from './report.ts';
import { summarize } from './stats.ts';
import { fleetStatus } from './status.ts';

interface Start {
  type: 'start';
  address: string;
  caPem: string;
  clusters: { name: string; credential: string }[];
  reportsPerCluster: number;
  connections: number;
  objectsPerReport: number;
  timeoutMs: number;
}

let clients: AgentServiceClient[] = [];
let start: Start | undefined;

function report(client: AgentServiceClient, md: Metadata, sequence: number, status: FleetStatus) {
  return new Promise<boolean>((resolve, reject) => {
    client.reportStatus({ sequence, status }, md, { deadline: Date.now() + 30_000 }, (err, res) =>
      err ? reject(err) : resolve(res.duplicate),
    );
  });
}

fromParent(async (msg) => {
  if (msg.type === 'start') {
    start = msg as unknown as Start;
    const creds = credentials.createSsl(Buffer.from(start.caPem));
    // A local subchannel pool per client: one HTTP/2 connection each, not one shared by all.
    clients = Array.from(
      { length: start.connections },
      () => new AgentServiceClient(start!.address, creds, { 'grpc.use_local_subchannel_pool': 1 }),
    );
    await Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve, reject) =>
            c.waitForReady(Date.now() + 30_000, (err) => (err ? reject(err) : resolve())),
          ),
      ),
    );
    toParent({ type: 'ready' });
    return;
  }
  if (msg.type === 'go' && start) {
    const s = start;
    // Templates built before the clock starts: the agent has its report ready when it sends.
    const templates = Array.from({ length: s.reportsPerCluster }, (_, j) =>
      fleetStatus(`bench-f${j}`, s.objectsPerReport),
    );
    let acked = 0;
    let duplicates = 0;
    let errorCount = 0;
    const errors: string[] = [];
    const latencies: number[] = [];
    const began = now();
    const deadline = Date.now() + s.timeoutMs;
    const progress = setInterval(() => toParent({ type: 'progress', acked }), 1000);
    await Promise.all(
      s.clusters.map(async (cluster, i) => {
        const client = clients[i % clients.length]!;
        const md = new Metadata();
        md.set('authorization', `Bearer ${cluster.credential}`);
        for (let j = 0; j < s.reportsPerCluster && Date.now() < deadline; j++) {
          const t = now();
          try {
            if (await report(client, md, j + 1, templates[j]!)) duplicates++;
            acked++;
            latencies.push(ms(t));
          } catch (err) {
            errorCount++;
            if (errors.length < 20) errors.push((err as ServiceError).details ?? String(err));
          }
        }
      }),
    );
    clearInterval(progress);
    toParent({
      type: 'done',
      acked,
      duplicates,
      errors,
      errorCount,
      ms: ms(began),
      latencyMs: summarize(latencies),
    });
    return;
  }
  if (msg.type === 'close') {
    for (const c of clients) c.close();
    toParent({ type: 'closed' });
  }
});
