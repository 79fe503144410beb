// The gRPC listener: TLS always (agents cross networks), with keepalive on both sides so a
// dead agent or a silent NAT drop is noticed in seconds, not hours.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AgentServiceServer, AgentServiceService } from '@gitfleet/proto';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { generate } from 'selfsigned';
import { lenientDecoder } from './validate.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
}

/**
 * The configured certificate, or a self-signed one generated once into `dataDir` (reused on
 * restart, so agents that were given it as their CA keep trusting the server).
 */
export async function loadOrGenerateTls(options: {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  dataDir: string;
  hosts: string[];
}): Promise<TlsMaterial & { certFile: string; generated: boolean }> {
  if (options.certFile && options.keyFile) {
    return {
      cert: readFileSync(options.certFile, 'utf8'),
      key: readFileSync(options.keyFile, 'utf8'),
      certFile: options.certFile,
      generated: false,
    };
  }
  const certFile = join(options.dataDir, 'grpc-tls.crt');
  const keyFile = join(options.dataDir, 'grpc-tls.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    return {
      cert: readFileSync(certFile, 'utf8'),
      key: readFileSync(keyFile, 'utf8'),
      certFile,
      generated: true,
    };
  }
  mkdirSync(options.dataDir, { recursive: true });
  const altNames = options.hosts.map((h) =>
    /^[\d.]+$/.test(h) || h.includes(':') ? { type: 7 as const, ip: h } : { type: 2 as const, value: h },
  );
  const pems = await generate([{ name: 'commonName', value: 'gitfleet-control-plane' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  writeFileSync(certFile, pems.cert, { mode: 0o644 });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  return { cert: pems.cert, key: pems.private, certFile, generated: true };
}

/** The AgentService definition, with requests that do not decode handed to the handlers as such. */
function lenientService(): typeof AgentServiceService {
  const s = AgentServiceService;
  return {
    register: {
      ...s.register,
      requestDeserialize: lenientDecoder(s.register.requestDeserialize, 'gitfleet.v1.RegisterRequest'),
    },
    connect: {
      ...s.connect,
      requestDeserialize: lenientDecoder(s.connect.requestDeserialize, 'gitfleet.v1.ConnectRequest'),
    },
    reportStatus: {
      ...s.reportStatus,
      requestDeserialize: lenientDecoder(
        s.reportStatus.requestDeserialize,
        'gitfleet.v1.ReportStatusRequest',
      ),
    },
  };
}

export interface GrpcListener {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

export async function startGrpcServer(options: {
  host: string;
  port: number;
  tls: TlsMaterial;
  service: AgentServiceServer;
}): Promise<GrpcListener> {
  const server = new Server({
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  server.addService(lenientService(), options.service);
  const credentials = ServerCredentials.createSsl(
    null,
    [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }],
    false,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, credentials, (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    server,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        // Give in-flight unary calls a moment, then cut long-lived streams.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
