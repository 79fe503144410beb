// A Redis Cluster for tests, as operators run one: three primaries and three replicas (Debian's
// redis-server in cluster mode, AOF with an fsync per second), real processes on loopback,
// joined by `redis-cli --cluster create` as the Redis docs do it.
import { spawn } from 'node:child_process';
import { Cluster, Redis } from 'ioredis';
import { freePort, waitUntil } from './process.ts';
import { type RedisServer, startRedis } from './redis.ts';

export interface RedisClusterSet {
  /** host:port of every node: what GITFLEET_REDIS_CLUSTER_NODES takes. */
  nodes: string[];
  /** A client of the whole cluster, for a test's own reads (the caller disconnects it). */
  client(): Cluster;
  /** Every key matching `pattern` on every primary, with its slot and the primary holding it. */
  scan(pattern: string): Promise<{ key: string; slot: number; node: string }[]>;
  /** host:port of the primary that serves `key` now. */
  primaryOf(key: string): Promise<string>;
  /** SIGKILL of a node (host:port); resolves once another primary serves its slots. */
  kill(node: string): Promise<{ failoverMs: number }>;
  /** Starts a killed node again (same port, data and nodes.conf): it rejoins as a replica. */
  restart(node: string): Promise<void>;
  stop(): Promise<void>;
}

function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`redis-cli ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

export async function startRedisCluster(options: { primaries?: number } = {}): Promise<RedisClusterSet> {
  const primaries = options.primaries ?? 3;
  const servers: RedisServer[] = [];
  const stop = async () => {
    for (const s of servers) await s.stop();
  };
  try {
    for (let i = 0; i < primaries * 2; i++) {
      // The cluster bus gets a port of its own: the default (port + 10000) may be taken.
      const busPort = await freePort();
      servers.push(
        await startRedis({
          aof: true,
          fsync: 'everysec',
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(busPort),
            // Short, so a test that kills a node sees a failover in seconds.
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    // The first `primaries` nodes get the slots; redis-cli assigns one replica to each.
    await redisCli(['--cluster', 'create', ...nodes, '--cluster-replicas', '1', '--cluster-yes']);
    const direct = servers.map((s) => new Redis(s.port, '127.0.0.1', { lazyConnect: true }));
    try {
      await waitUntil(
        'every node to report cluster_state:ok and every replica to be in sync',
        async () => {
          let synced = 0;
          for (const r of direct) {
            const info = (await r.call('CLUSTER', 'INFO')) as string;
            if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${nodes.length}`))
              return false;
            synced += ((await r.info('replication')).match(/state=online/g) ?? []).length;
          }
          return synced === primaries;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    } finally {
      for (const r of direct) r.disconnect();
    }

    /** CLUSTER SLOTS as a surviving node sees it: the primary of `slot`, other than `not`. */
    const slotOwner = async (slot: number, not?: string): Promise<string | undefined> => {
      for (const server of servers) {
        const node = `127.0.0.1:${server.port}`;
        if (node === not) continue;
        const r = new Redis(server.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
        r.on('error', () => {});
        try {
          await r.connect();
          const ranges = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
          const range = ranges.find(([from, to]) => slot >= from && slot <= to);
          const owner = range ? `${range[2][0]}:${range[2][1]}` : undefined;
          return owner && owner !== not ? owner : undefined;
        } catch {
          // a node that is down: ask the next
        } finally {
          r.disconnect();
        }
      }
      return undefined;
    };
    const ownedSlot = async (node: string): Promise<number> => {
      const [host, port] = node.split(':');
      const r = new Redis(Number(port), host!, { lazyConnect: true });
      try {
        const ranges = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
        const range = ranges.find(([, , [h, p]]) => `${h}:${p}` === node);
        if (!range) throw new Error(`${node} is not a primary`);
        return range[0];
      } finally {
        r.disconnect();
      }
    };
    const primaryOf = async (key: string): Promise<string> => {
      const r = new Redis(servers[0]!.port, '127.0.0.1', { lazyConnect: true });
      try {
        const slot = Number(await r.call('CLUSTER', 'KEYSLOT', key));
        const owner = await slotOwner(slot);
        if (!owner) throw new Error(`no primary serves slot ${slot}`);
        return owner;
      } finally {
        r.disconnect();
      }
    };

    const client = () =>
      new Cluster(
        nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
        { scaleReads: 'master' },
      );
    return {
      nodes,
      client,
      async scan(pattern) {
        const cluster = client();
        try {
          // nodes() is filled once the cluster's slots are known.
          await cluster.ping();
          const out: { key: string; slot: number; node: string }[] = [];
          for (const node of cluster.nodes('master')) {
            for await (const keys of node.scanStream({ match: pattern, count: 1000 })) {
              for (const key of keys as string[]) {
                const slot = Number(await node.call('CLUSTER', 'KEYSLOT', key));
                out.push({ key, slot, node: `${node.options.host}:${node.options.port}` });
              }
            }
          }
          return out;
        } finally {
          cluster.disconnect();
        }
      },
      primaryOf,
      async kill(node) {
        const server = servers.find((s) => `127.0.0.1:${s.port}` === node);
        if (!server) throw new Error(`no node ${node}`);
        const slot = await ownedSlot(node);
        const killedAt = Date.now();
        await server.kill();
        await waitUntil(
          `a replica of ${node} to take over its slots`,
          async () => (await slotOwner(slot, node)) !== undefined,
          { timeoutMs: 60_000, intervalMs: 100 },
        );
        return { failoverMs: Date.now() - killedAt };
      },
      async restart(node) {
        const server = servers.find((s) => `127.0.0.1:${s.port}` === node);
        if (!server) throw new Error(`no node ${node}`);
        await server.restart();
        await waitUntil(
          `${node} to rejoin as a replica in sync`,
          async () => {
            const r = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
            try {
              const info = await r.info('replication');
              return info.includes('role:slave') && info.includes('master_link_status:up');
            } finally {
              r.disconnect();
            }
          },
          { timeoutMs: 60_000, intervalMs: 200 },
        );
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
