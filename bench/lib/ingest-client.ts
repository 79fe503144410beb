// Child process of bench/ingest.ts: simulated agents sending status reports over TLS with
// their own cluster credentials, each agent one report at a time (as the real agent does: it
// waits for the ack), many agents at once, over `connections` HTTP/2 connections. Two ways,
// as the agent has them: `call`, a ReportStatus call per report; `stream`, reports on the
// agent's Connect stream (after its Hello), each answered by a ReportAck.
//
// Report j of every cluster has sequence base+j+1 and fleet `<prefix>-f<j>`: every (cluster,
// fleet) is reported once, so every report must be stored, and the count stored can be
// checked exactly against the count acknowledged.
import {
  AgentServiceClient,
  type ConnectRequest,
  type ConnectResponse,
  type FleetStatus,
  type ReportAck,
  ReportOutcome,
} from '@gitfleet/proto';
import { type ClientDuplexStream, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
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

type Send = (sequence: number, status: FleetStatus) => Promise<boolean>;

function viaCall(client: AgentServiceClient, md: Metadata): Send {
  return (sequence, status) =>
    new Promise<boolean>((resolve, reject) => {
      client.reportStatus({ sequence, status }, md, { deadline: Date.now() + 30_000 }, (err, res) =>
        err ? reject(err) : resolve(res.duplicate),
      );
    });
}

/** Opens the cluster's Connect stream, says Hello, waits for Synced; reports then go on it. */
async function viaStream(
  client: AgentServiceClient,
  md: Metadata,
  streams: ClientDuplexStream<ConnectRequest, ConnectResponse>[],
): Promise<Send> {
  const stream = client.connect(md);
  streams.push(stream);
  let waiter: ((ack: ReportAck) => void) | undefined;
  let failed: Error | undefined;
  const synced = new Promise<void>((resolve, reject) => {
    stream.on('data', (m: ConnectResponse) => {
      if (m.kind?.$case === 'synced') resolve();
      else if (m.kind?.$case === 'reportAck') waiter?.(m.kind.value);
    });
    stream.on('error', (err: ServiceError) => {
      failed = err;
      reject(err);
    });
  });
  stream.write({
    kind: {
      $case: 'hello',
      value: {
        agent: { version: 'bench', kubernetesVersion: 'v1.35.4', apiVersions: [] },
        running: [],
        lastSequence: 0,
      },
    },
  });
  await synced;
  return (sequence, status) =>
    new Promise<boolean>((resolve, reject) => {
      if (failed) return reject(failed);
      waiter = (ack) => {
        if (ack.sequence !== sequence) return;
        if (ack.outcome === ReportOutcome.REPORT_OUTCOME_STORED) resolve(false);
        else if (ack.outcome === ReportOutcome.REPORT_OUTCOME_DUPLICATE) resolve(true);
        else reject(new Error(`report ${sequence}: outcome ${ack.outcome}: ${ack.reason}`));
      };
      stream.write({ kind: { $case: 'report', value: { sequence, status } } });
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
    const transport = String(msg.transport ?? 'call');
    const prefix = String(msg.fleetPrefix ?? 'bench');
    const base = Number(msg.sequenceBase ?? 0);
    // Templates built before the clock starts: the agent has its report ready when it sends.
    const templates = Array.from({ length: s.reportsPerCluster }, (_, j) =>
      fleetStatus(`${prefix}-f${j}`, s.objectsPerReport),
    );
    // Streams are opened (Hello, Synced) before the clock starts too: an agent holds its
    // stream all the time; what is measured is the reports.
    const streams: ClientDuplexStream<ConnectRequest, ConnectResponse>[] = [];
    const senders = await Promise.all(
      s.clusters.map((cluster, i) => {
        const client = clients[i % clients.length]!;
        const md = new Metadata();
        md.set('authorization', `Bearer ${cluster.credential}`);
        return transport === 'stream' ? viaStream(client, md, streams) : viaCall(client, md);
      }),
    );
    toParent({ type: 'going' });
    let acked = 0;
    let duplicates = 0;
    let errorCount = 0;
    const errors: string[] = [];
    const latencies: number[] = [];
    const began = now();
    const deadline = Date.now() + s.timeoutMs;
    const progress = setInterval(() => toParent({ type: 'progress', acked }), 1000);
    await Promise.all(
      senders.map(async (send) => {
        for (let j = 0; j < s.reportsPerCluster && Date.now() < deadline; j++) {
          const t = now();
          try {
            if (await send(base + j + 1, templates[j]!)) duplicates++;
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
    for (const stream of streams) stream.cancel();
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
