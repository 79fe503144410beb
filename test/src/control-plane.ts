// Starts a real control plane in the test process, on the shared Redis under a prefix of its
// own, with the REST app built for `inject` and the gRPC listener on a free port (TLS with a
// generated certificate). Tests talk to it the way users and agents do.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, ControlPlane, controlPlaneLogger, loadConfig } from '@gitfleet/control-plane';
import { AgentServiceClient } from '@gitfleet/proto';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { tempDir } from './process.ts';
import { cachedBinDir } from './toolchain.ts';

export interface TestControlPlane {
  cp: ControlPlane;
  prefix: string;
  dataDir: string;
  app: FastifyInstance;
  adminToken: string;
  viewerToken: string;
  /** GITFLEET_SECRET_KEY it runs with (base64); a restart or replica of it gets the same. */
  secretKey: string;
  grpcAddress: string;
  caPem: string;
  /** REST call with the admin token (or another). */
  api<T = unknown>(
    method: string,
    url: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
  /** A gRPC client trusting the control plane's CA. */
  grpcClient(): AgentServiceClient;
  /** Every log line so far (JSON, one per line) when started with `captureLogs`, else ''. */
  logs(): string;
  /** keepState leaves the data dir for a restart (startTestControlPlane({ restartOf })). */
  stop(options?: { keepState?: boolean }): Promise<void>;
}

export function bearer(credential: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${credential}`);
  return md;
}

export interface TestControlPlaneOptions {
  redisUrl: string;
  env?: Record<string, string>;
  /** Reuse the state of an earlier instance (a restart): same Redis prefix, data dir, port. */
  restartOf?: TestControlPlane;
  /** A second replica of a running one: same Redis prefix, tokens and secret key, own data dir and port. */
  replicaOf?: TestControlPlane;
  /**
   * Keep the control plane's log lines (at debug level, through its production logger with
   * its redaction) for `logs()`, e.g. to check that secrets never reach them.
   */
  captureLogs?: boolean;
}

export async function startTestControlPlane(options: TestControlPlaneOptions): Promise<TestControlPlane> {
  const previous = options.restartOf;
  const sibling = options.restartOf ?? options.replicaOf;
  const adminToken = sibling?.adminToken ?? `admin-${randomBytes(12).toString('hex')}`;
  const viewerToken = sibling?.viewerToken ?? `viewer-${randomBytes(12).toString('hex')}`;
  const dataDir = previous?.dataDir ?? tempDir('cp');
  const prefix = sibling?.prefix ?? `t-${randomBytes(6).toString('hex')}`;
  const secretKey =
    options.env?.GITFLEET_SECRET_KEY ?? sibling?.secretKey ?? randomBytes(32).toString('base64');
  const config = loadConfig({
    GITFLEET_REDIS_URL: options.redisUrl,
    GITFLEET_REDIS_PREFIX: prefix,
    GITFLEET_GRPC_HOST: '127.0.0.1',
    GITFLEET_GRPC_PORT: previous ? previous.grpcAddress.split(':')[1]! : '0',
    GITFLEET_DATA_DIR: dataDir,
    GITFLEET_API_TOKENS: `admin:alice:${adminToken},viewer:victor:${viewerToken}`,
    GITFLEET_LOG_LEVEL: process.env.GITFLEET_TEST_LOG_LEVEL ?? 'silent',
    GITFLEET_HELM_PATH: join(cachedBinDir(), 'helm'),
    GITFLEET_KUBECTL_PATH: join(cachedBinDir(), 'kubectl'),
    ...options.env,
    GITFLEET_SECRET_KEY: secretKey,
  });
  const captured: string[] = [];
  const logger = options.captureLogs
    ? controlPlaneLogger('debug', { write: (line: string) => void captured.push(line) })
    : pino({ level: config.logLevel });
  const cp = new ControlPlane(config, logger);
  await cp.start();
  const app = await buildApp(cp);
  const grpcAddress = `127.0.0.1:${cp.grpcPort}`;
  const clients: AgentServiceClient[] = [];
  return {
    cp,
    prefix,
    dataDir,
    app,
    adminToken,
    viewerToken,
    secretKey,
    grpcAddress,
    caPem: cp.caPem,
    logs: () => captured.join(''),
    async api<T>(method: string, url: string, body?: unknown, token = adminToken) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: res.statusCode, body: (res.body ? res.json() : undefined) as T };
    },
    grpcClient() {
      const client = new AgentServiceClient(grpcAddress, credentials.createSsl(Buffer.from(cp.caPem)));
      clients.push(client);
      return client;
    },
    async stop(options: { keepState?: boolean } = {}) {
      for (const c of clients) c.close();
      await app.close();
      await cp.stop();
      if (!options.keepState) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
