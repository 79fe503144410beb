// Starts a real control plane in the test process, on the shared Redis under a prefix of its
// own, with the REST app built for `inject` and the gRPC listener on a free port (TLS with a
// generated certificate). Tests talk to it the way users and agents do.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { buildApp, ControlPlane, loadConfig } from '@gitfleet/control-plane';
import { AgentServiceClient } from '@gitfleet/proto';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { tempDir } from './process.ts';

export interface TestControlPlane {
  cp: ControlPlane;
  app: FastifyInstance;
  adminToken: string;
  viewerToken: string;
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
  stop(): Promise<void>;
}

export function bearer(credential: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${credential}`);
  return md;
}

export async function startTestControlPlane(options: {
  redisUrl: string;
  env?: Record<string, string>;
}): Promise<TestControlPlane> {
  const adminToken = `admin-${randomBytes(12).toString('hex')}`;
  const viewerToken = `viewer-${randomBytes(12).toString('hex')}`;
  const dataDir = tempDir('cp');
  const config = loadConfig({
    GITFLEET_REDIS_URL: options.redisUrl,
    GITFLEET_REDIS_PREFIX: `t-${randomBytes(6).toString('hex')}`,
    GITFLEET_GRPC_HOST: '127.0.0.1',
    GITFLEET_GRPC_PORT: '0',
    GITFLEET_DATA_DIR: dataDir,
    GITFLEET_API_TOKENS: `admin:alice:${adminToken},viewer:victor:${viewerToken}`,
    GITFLEET_LOG_LEVEL: process.env.GITFLEET_TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const cp = new ControlPlane(config, pino({ level: config.logLevel }));
  await cp.start();
  const app = await buildApp(cp);
  const grpcAddress = `127.0.0.1:${cp.grpcPort}`;
  const clients: AgentServiceClient[] = [];
  return {
    cp,
    app,
    adminToken,
    viewerToken,
    grpcAddress,
    caPem: cp.caPem,
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
    async stop() {
      for (const c of clients) c.close();
      await app.close();
      await cp.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
