// A real Redis (Debian's redis-server) for tests: one private server per call, on a free
// loopback port, in its own temp dir, so nothing a test writes survives it or leaks into
// another run.
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, startProcess, tempDir, waitUntil } from './process.ts';

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The server's working directory (holds the AOF files when `aof` is on). */
  dir: string;
  /** SIGKILL, keeping the data dir: an outage (with `aof`, nothing acknowledged is lost). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir after kill(); resolves once it answers PING. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const REDIS_BINARY = 'redis-server';

function assertRedisInstalled(): void {
  const probe = spawnSync(REDIS_BINARY, ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${REDIS_BINARY} was not found on PATH; the tests need a real Redis: run \`apt-get install redis-server\` (or \`make setup\`)`,
    );
  }
}

/** Sends PING over a raw socket: no client library, so a broken client can't hide a dead server. */
export function ping(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** Sends one inline command and waits until the server replies or closes the connection. */
function sendCommand(port: number, command: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(2000, done);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', done);
    socket.on('connect', () => socket.write(`${command}\r\n`));
  });
}

export async function startRedis(
  options: {
    aof?: boolean;
    fsync?: 'always' | 'everysec';
    replicaOf?: number;
    /** More redis-server arguments (e.g. cluster mode), kept for restart(). */
    args?: string[];
  } = {},
): Promise<RedisServer> {
  assertRedisInstalled();
  const dir = tempDir('redis');
  const port = await freePort();
  const persistence = options.aof
    ? // fsync on every write so a test can look at the file right after a command returns.
      ['--appendonly', 'yes', '--appendfsync', options.fsync ?? 'always']
    : ['--appendonly', 'no'];
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'no',
    '--dir',
    dir,
    // An empty `save` turns RDB snapshots off: tests must not pay for (or depend on) them.
    '--save',
    '',
    ...persistence,
    ...(options.replicaOf ? ['--replicaof', '127.0.0.1', String(options.replicaOf)] : []),
    ...(options.args ?? []),
    '--daemonize',
    'no',
    '--logfile',
    '',
  ];
  const launch = () =>
    startProcess('redis-server', REDIS_BINARY, args, { cwd: dir, logFile: join(dir, 'redis.log') });
  let proc = launch();
  const answers = () =>
    waitUntil(`redis-server on port ${port} to answer PING`, () => ping(port), { timeoutMs: 20_000, proc });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Ask Redis to exit by itself first: it then fsyncs the AOF and closes cleanly, and
    // proc.stop() has nothing left to wait for (its SIGKILL grace timer would otherwise
    // keep the event loop, and so the test process, alive for its full length).
    if (!proc.exited) {
      await sendCommand(port, 'SHUTDOWN NOSAVE');
      await waitUntil('redis-server to exit after SHUTDOWN', async () => proc.exited, {
        timeoutMs: 5000,
        intervalMs: 20,
      }).catch(() => {});
    }
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
  };

  const kill = async () => {
    if (!proc.exited && proc.child.pid) process.kill(-proc.child.pid, 'SIGKILL');
    await proc.stop();
  };
  const restart = async () => {
    if (!proc.exited) throw new Error(`redis-server on port ${port} is still running: kill() it first`);
    proc = launch();
    await answers();
  };

  try {
    await answers();
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, dir, kill, restart, stop };
}
