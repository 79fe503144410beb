// How the control plane reaches Redis: one server by URL, a primary found through Redis
// Sentinel (which follows a failover), or a Redis Cluster (its shards found from any node).
// Every connection — main, subscriber, BullMQ's — is made from the same options (duplicated
// from the main client), so all follow the same primary or the same cluster.
import { Cluster, Command, Redis, type RedisOptions } from 'ioredis';

/** What the stores take: one client type, so nothing knows which of the three it talks to. */
export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  url: string;
  /** host:port of each sentinel; empty = not Sentinel. */
  sentinels: string[];
  /** The name the sentinels monitor the primary by. */
  sentinelMaster: string;
  /** host:port of some Redis Cluster nodes (the rest are discovered); empty = not a Cluster. */
  clusterNodes: string[];
  /** Password of the data nodes and of the sentinels, when they ask for one. */
  password: string | undefined;
  sentinelPassword: string | undefined;
}

function hostPort(s: string): { host: string; port: number } {
  const colon = s.lastIndexOf(':');
  return { host: s.slice(0, colon), port: Number(s.slice(colon + 1)) };
}

function parseHostPorts(variable: string, example: string, raw: string | undefined): string[] {
  const list = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list) {
    const { host, port } = hostPort(s);
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`${variable}: '${s}' is not host:port (e.g. ${example})`);
    }
  }
  return list;
}

/** Parses GITFLEET_REDIS_SENTINELS (host:port,host:port); a bad entry names what to fix. */
export function parseSentinels(raw: string | undefined): string[] {
  return parseHostPorts('GITFLEET_REDIS_SENTINELS', 'redis-sentinel-0:26379', raw);
}

/** Parses GITFLEET_REDIS_CLUSTER_NODES (host:port,host:port); a bad entry names what to fix. */
export function parseClusterNodes(raw: string | undefined): string[] {
  return parseHostPorts('GITFLEET_REDIS_CLUSTER_NODES', 'redis-cluster-0:6379', raw);
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

export function connectRedis(target: RedisTarget, options: RedisOptions): RedisClient {
  const password = target.password ? { password: target.password } : {};
  if (target.clusterNodes.length > 0) {
    // The client-wide settings are the Cluster's own; the rest apply to each node's connection.
    const { enableAutoPipelining, lazyConnect, retryStrategy, ...node } = options;
    return new Cluster(target.clusterNodes.map(hostPort), {
      ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
      ...(lazyConnect === undefined ? {} : { lazyConnect }),
      ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
      // While the Cluster is unreachable commands fail at once instead of waiting in its queue
      // until it is back: the API answers 503 and agents retry, as with one server (whose
      // commands fail after maxRetriesPerRequest reconnect attempts). Hence whenReady.
      enableOfflineQueue: false,
      // Reads from replicas could see a status or desired state older than what was just
      // written (replication is asynchronous), and a pass must plan from the latest.
      scaleReads: 'master',
      redisOptions: { ...node, ...password },
    });
  }
  if (target.sentinels.length === 0) {
    return new Redis(target.url, { ...options, ...password });
  }
  return new Redis({
    ...options,
    sentinels: target.sentinels.map(hostPort),
    name: target.sentinelMaster,
    ...password,
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    // Told of a new primary by the sentinels (+switch-master) instead of waiting for the old
    // one's connection to fail.
    failoverDetector: true,
    role: 'master',
  });
}

/**
 * Another client to the same Redis with some options changed (a subscriber, BullMQ's). A
 * Cluster keeps the per-node options apart from its own, so `node` goes into its redisOptions.
 */
export function duplicateRedis(
  redis: RedisClient,
  options: { enableAutoPipelining?: boolean; lazyConnect?: boolean; enableOfflineQueue?: boolean },
  node: Partial<RedisOptions> = {},
): RedisClient {
  if (isCluster(redis)) {
    return redis.duplicate([], {
      ...redis.options,
      ...options,
      redisOptions: { ...redis.options.redisOptions, ...node },
    });
  }
  return redis.duplicate({ ...options, ...node });
}

/**
 * Resolves once the client can take commands. A Cluster without its offline queue refuses
 * them until it knows the slots; one server queues them itself (and fails them after its
 * reconnect attempts), so it needs no wait.
 */
export async function whenReady(redis: RedisClient, timeoutMs = 20_000): Promise<void> {
  if (!isCluster(redis) || redis.status === 'ready') return;
  let lastError: Error | undefined;
  const onError = (err: Error) => {
    lastError = err;
  };
  redis.on('error', onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `the Redis Cluster did not become ready in ${timeoutMs} ms (GITFLEET_REDIS_CLUSTER_NODES): ${lastError?.message ?? redis.status}`,
            ),
          ),
        timeoutMs,
      );
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    redis.off('error', onError);
  }
}

/**
 * The connection of a Cluster to the primary that holds `key` now, for commands that act on
 * one connection's writes (WAIT) rather than on a key.
 */
export function nodeOf(cluster: Cluster, key: string): Redis | undefined {
  const primary = cluster.slots[new Command('exists', [key]).getSlot()]?.[0];
  return cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === primary);
}

/** The primaries to SCAN: a Cluster's keys are spread over them, and SCAN sees one node's. */
export function primaries(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}
