// Child process of bench/fanout.ts and bench/reconnect.ts: the reference. A bare grpc-js server with the same
// service definition, TLS and server options as the control plane's listener, that holds
// every Connect stream in an array and, when told, writes one ~2 KB desired-state chunk to
// each: no Redis, no Git, no planning, no per-agent state. What grpc-js and Node's HTTP/2
// on this machine can do is the floor under the control plane's numbers.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  type AgentServiceServer,
  type BundleChunk,
  Compression,
  type ConnectRequest,
  type ConnectResponse,
} from '@gitfleet/proto';
import { type ServerDuplexStream, status } from '@grpc/grpc-js';
import {
  type GrpcListener,
  loadOrGenerateTls,
  startGrpcServer,
} from '../../control-plane/src/grpc/server.ts';
import { tempDir } from '../../test/src/process.ts';
import { fromParent, toParent } from './child.ts';
import { memoryAfterGc } from './gc.ts';

const streams = new Set<ServerDuplexStream<ConnectRequest, ConnectResponse>>();
let listener: GrpcListener | undefined;
let sequence = 0;

const unimplemented = (_call: unknown, callback: (err: Error) => void) =>
  callback(Object.assign(new Error('not in the reference server'), { code: status.UNIMPLEMENTED }));

const service: AgentServiceServer = {
  register: unimplemented as AgentServiceServer['register'],
  reportStatus: unimplemented as AgentServiceServer['reportStatus'],
  connect(call) {
    call.on('data', (msg: ConnectRequest) => {
      if (msg.kind?.$case === 'hello') {
        streams.add(call);
        call.write({ kind: { $case: 'synced', value: { sequence: ++sequence } } });
      }
    });
    const drop = () => streams.delete(call);
    call.on('cancelled', drop);
    call.on('error', drop);
    call.on('close', drop);
  },
};

/** One desired state of about 2 KB on the wire (random content: gzip cannot shrink it). */
function chunk(revision: string): BundleChunk {
  const raw = Buffer.from(
    JSON.stringify([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'reference', namespace: 'bench' },
        data: { blob: randomBytes(1400).toString('base64') },
      },
    ]),
  );
  const data = gzipSync(raw);
  return {
    sequence: ++sequence,
    fleet: 'reference',
    stage: 'dev',
    revision,
    bundleDigest: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    compression: Compression.COMPRESSION_GZIP,
    uncompressedSize: raw.length,
    index: 0,
    total: 1,
    data,
    options: { force: true, prune: true, allowEmpty: false, correctDrift: true },
  };
}

fromParent(async (msg) => {
  switch (msg.type) {
    case 'start': {
      // A restart (bench/reconnect.ts) passes the port and data dir of the previous
      // incarnation: same address, same certificate, as a restarted control plane has.
      const tls = await loadOrGenerateTls({
        dataDir: typeof msg.dataDir === 'string' ? msg.dataDir : tempDir('bare-grpc'),
        hosts: ['localhost', '127.0.0.1'],
      });
      listener = await startGrpcServer({ host: '127.0.0.1', port: Number(msg.port ?? 0), tls, service });
      toParent({ type: 'started', grpcPort: listener.port, caPem: tls.cert });
      return;
    }
    case 'push': {
      const c = chunk(String(msg.revision));
      const t0 = performance.timeOrigin + performance.now();
      for (const s of streams) s.write({ kind: { $case: 'chunk', value: c } });
      toParent({
        type: 'pushed',
        t0,
        streams: streams.size,
        writeMs: performance.timeOrigin + performance.now() - t0,
      });
      return;
    }
    case 'memory': {
      toParent({ type: 'memory', ...(await memoryAfterGc()), connections: streams.size });
      return;
    }
    case 'stop': {
      for (const s of streams) s.end();
      await listener?.stop();
      toParent({ type: 'stopped' });
      process.exit(0);
    }
  }
});
