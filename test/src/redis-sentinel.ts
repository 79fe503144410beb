// Redis with high availability for tests, as operators run it: one primary, two replicas and
// three sentinels (Debian's redis-server in sentinel mode), all real processes on loopback.
// A test kills the primary with SIGKILL; the sentinels agree it is down and promote a replica.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, type ManagedProcess, startProcess, tempDir, waitUntil } from './process.ts';
import { ping, type RedisServer, startRedis } from './redis.ts';

export const SENTINEL_MASTER = 'gitfleet';

export interface SentinelSet {
  /** host:port of each sentinel: what GITFLEET_REDIS_SENTINELS takes. */
  sentinels: string[];
  master: string;
  /** The port of the node the sentinels call primary now. */
  primaryPort(): Promise<number>;
  /** SIGKILL of the current primary; resolves once a sentinel names another one. */
  killPrimary(): Promise<{ killed: number; promoted: number; failoverMs: number }>;
  stop(): Promise<void>;
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const nodes: RedisServer[] = [];
  const sentinels: { port: number; proc: ManagedProcess; dir: string }[] = [];
  const stop = async () => {
    for (const s of sentinels) {
      await s.proc.stop();
      rmSync(s.dir, { recursive: true, force: true });
    }
    for (const n of nodes) await n.stop();
  };
  try {
    // AOF with an fsync per second, as production runs it; replicas acknowledge what they
    // received, and the control plane waits for one acknowledgement (WAIT) before it acks.
    const primary = await startRedis({ aof: true, fsync: 'everysec' });
    nodes.push(primary);
    for (let i = 0; i < 2; i++)
      nodes.push(await startRedis({ aof: true, fsync: 'everysec', replicaOf: primary.port }));
    const probe = new Redis(primary.url);
    await waitUntil(
      'both replicas to be in sync',
      async () => {
        const info = await probe.info('replication');
        return (info.match(/state=online/g) ?? []).length === 2;
      },
      { timeoutMs: 20_000 },
    );
    probe.disconnect();

    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = tempDir('sentinel');
      const conf = join(dir, 'sentinel.conf');
      // Sentinels rewrite their config file (they record what they learn): it must be writable.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
          '',
        ].join('\n'),
      );
      const proc = startProcess('redis-sentinel', 'redis-server', [conf, '--sentinel'], {
        cwd: dir,
        logFile: join(dir, 'sentinel.log'),
      });
      sentinels.push({ port, proc, dir });
      await waitUntil(`sentinel on ${port}`, () => ping(port), { timeoutMs: 20_000, proc });
    }
    const askSentinel = async (): Promise<number> => {
      const client = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1', lazyConnect: true });
      try {
        await client.connect();
        const [, port] = (await client.call(
          'SENTINEL',
          'get-master-addr-by-name',
          SENTINEL_MASTER,
        )) as string[];
        return Number(port);
      } finally {
        client.disconnect();
      }
    };
    // Each sentinel must know the others (hello messages) before it can vote for a failover.
    await waitUntil(
      'the sentinels to know each other and the replicas',
      async () => {
        const client = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1' });
        try {
          const master = (await client.call('SENTINEL', 'master', SENTINEL_MASTER)) as string[];
          const field = (k: string) => Number(master[master.indexOf(k) + 1]);
          return field('num-other-sentinels') === 2 && field('num-slaves') === 2;
        } finally {
          client.disconnect();
        }
      },
      { timeoutMs: 30_000 },
    );

    return {
      sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`),
      master: SENTINEL_MASTER,
      primaryPort: askSentinel,
      async killPrimary() {
        const port = await askSentinel();
        const node = nodes.find((n) => n.port === port);
        if (!node) throw new Error(`no node on port ${port}`);
        const killedAt = Date.now();
        await node.kill();
        let promoted = port;
        await waitUntil(
          'the sentinels to promote a replica',
          async () => {
            promoted = await askSentinel().catch(() => port);
            return promoted !== port;
          },
          { timeoutMs: 30_000 },
        );
        return { killed: port, promoted, failoverMs: Date.now() - killedAt };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
