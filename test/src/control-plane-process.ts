// Runs the control plane as a real OS process (control-plane/src/server.ts, configured through
// the environment as the chart and the container do), so a test can kill -9 it and start it
// again. Every replica of one installation shares a Redis prefix, the API tokens, the secret
// key that seals fleet credentials and one TLS certificate (as the chart's Secrets do), so an
// agent trusts whichever replica it reaches and each opens what another sealed; a restart
// keeps its ports, so agents find it again at the address they were given, and a balancer
// gives several replicas one address, as a Service does.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { freePort, type ManagedProcess, startProcess, tempDir, waitUntil } from './process.ts';
import { selfSignedCertificate } from './tls.ts';

const SERVER = new URL('../../control-plane/src/server.ts', import.meta.url).pathname;

/** What replicas of one installation share. */
export interface Installation {
  redisUrl: string;
  prefix: string;
  adminToken: string;
  viewerToken: string;
  /** GITFLEET_SECRET_KEY of every replica (base64). */
  secretKey: string;
  /** The self-signed serving certificate of every replica, which agents take as their CA. */
  caPem: string;
  certFile: string;
  keyFile: string;
  /** Holds the certificate and every replica's data dir. */
  dir: string;
  env: Record<string, string>;
}

export interface ControlPlaneProcess {
  name: string;
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT of the gRPC listener. */
  grpcAddress: string;
  proc: ManagedProcess;
  /** REST call with the admin token (or another); a refused connection rejects. */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
  /** SIGKILL: no shutdown code runs, as when a node dies or the OOM killer strikes. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data dir, and waits until it is ready. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** An installation's shared state: Redis prefix, tokens, and a self-signed certificate for 127.0.0.1 and localhost. */
export async function createInstallation(options: {
  redisUrl: string;
  env?: Record<string, string>;
}): Promise<Installation> {
  const dir = tempDir('cp-install');
  const { certFile, keyFile } = await selfSignedCertificate(dir, ['IP:127.0.0.1', 'localhost']);
  return {
    redisUrl: options.redisUrl,
    prefix: `t-${randomBytes(6).toString('hex')}`,
    adminToken: `admin-${randomBytes(12).toString('hex')}`,
    viewerToken: `viewer-${randomBytes(12).toString('hex')}`,
    secretKey: randomBytes(32).toString('base64'),
    caPem: readFileSync(certFile, 'utf8'),
    certFile,
    keyFile,
    dir,
    env: options.env ?? {},
  };
}

/** Removes what createInstallation wrote (stop the replicas first). */
export function removeInstallation(installation: Installation): void {
  rmSync(installation.dir, { recursive: true, force: true });
}

/** Starts one replica and waits until /readyz answers 200. */
export async function startControlPlaneProcess(
  installation: Installation,
  name = 'control-plane',
): Promise<ControlPlaneProcess> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const dataDir = tempDir(`cp-${name}`);
  const url = `http://127.0.0.1:${httpPort}`;
  const env = {
    ...process.env,
    GITFLEET_REDIS_URL: installation.redisUrl,
    GITFLEET_REDIS_PREFIX: installation.prefix,
    GITFLEET_HTTP_HOST: '127.0.0.1',
    GITFLEET_HTTP_PORT: String(httpPort),
    GITFLEET_GRPC_HOST: '127.0.0.1',
    GITFLEET_GRPC_PORT: String(grpcPort),
    GITFLEET_TLS_CERT_FILE: installation.certFile,
    GITFLEET_TLS_KEY_FILE: installation.keyFile,
    GITFLEET_DATA_DIR: dataDir,
    GITFLEET_API_TOKENS: `admin:alice:${installation.adminToken},viewer:victor:${installation.viewerToken}`,
    GITFLEET_SECRET_KEY: installation.secretKey,
    // Warnings and errors: what a failing test prints from its tail.
    GITFLEET_LOG_LEVEL: process.env.GITFLEET_TEST_LOG_LEVEL ?? 'warn',
    ...installation.env,
  };
  const launch = () =>
    startProcess(name, process.execPath, [SERVER], { env, logFile: join(dataDir, 'control-plane.log') });

  const api: ControlPlaneProcess['api'] = async (method, path, body, token = installation.adminToken) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as never };
  };
  const ready = (proc: ManagedProcess) =>
    waitUntil(`${name} at ${url} to be ready`, async () => (await fetch(`${url}/readyz`)).ok, {
      timeoutMs: 30_000,
      proc,
    });
  // The ports were free when picked, but another suite's freePort() can hold one for a moment
  // (while a replica is down, for example): a replica that finds its port taken starts again
  // on the same port, which agents and the balancer know it by.
  const launchReady = async (): Promise<ManagedProcess> => {
    for (let attempt = 1; ; attempt++) {
      const started = launch();
      try {
        await ready(started);
        return started;
      } catch (err) {
        if (attempt >= 5 || !started.exited || !/EADDRINUSE/.test(started.tail())) {
          proc = started;
          throw err;
        }
        await new Promise((r) => setTimeout(r, 300 * attempt));
      }
    }
  };

  let proc: ManagedProcess;
  const handle: ControlPlaneProcess = {
    name,
    url,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    get proc() {
      return proc;
    },
    api,
    async kill() {
      if (!proc.exited && proc.child.pid) process.kill(-proc.child.pid, 'SIGKILL');
      await proc.stop();
    },
    async restart() {
      if (!proc.exited) throw new Error(`${name} is still running: kill or stop it first`);
      proc = await launchReady();
    },
    async stop() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    proc = await launchReady();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

export interface Balancer {
  /** 127.0.0.1:PORT, the one address agents are given. */
  address: string;
  close(): Promise<void>;
}

/**
 * A loopback TCP balancer in front of replicas, like a Service: each new connection goes to
 * the first target that accepts it, so when one replica dies its clients' reconnects land on
 * the next.
 */
export async function startBalancer(targets: string[]): Promise<Balancer> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    return s;
  };
  const dial = (client: Socket, i: number) => {
    const target = targets[i];
    if (!target) return client.destroy();
    const colon = target.lastIndexOf(':');
    const upstream = track(tcpConnect(Number(target.slice(colon + 1)), target.slice(0, colon)));
    let connected = false;
    upstream.on('error', () => {
      if (connected) client.destroy();
      else dial(client, i + 1);
    });
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
      client.resume();
    });
  };
  const server = createServer({ pauseOnConnect: true }, (client) => {
    track(client).on('error', () => {});
    dial(client, 0);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
