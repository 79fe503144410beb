// BullMQ connections. On one server (or through Sentinel) they are options, not shared ioredis
// instances, so that each Queue and Worker owns (and closes) its connections. On a Redis
// Cluster BullMQ needs a Cluster instance (options would make it open a plain connection to
// one node, which answers MOVED for most keys), and its scripts touch several keys of a queue
// at once, so every queue key must be in one slot: the prefix is a hash tag.
import type { ConnectionOptions } from 'bullmq';
import type { Cluster } from 'ioredis';
import { duplicateRedis, isCluster, type RedisClient } from './connect.ts';

// BullMQ's own connections do not inherit the main client's auto-pipelining: its workers
// block on Redis, and BullMQ users have reported lost job data with it (OptimalBits/bull#2276).
const NO_AUTO_PIPELINING = { enableAutoPipelining: false };

export interface BullConnection {
  connection: ConnectionOptions;
  /** The Cluster a Queue was given (its writes' connections, for WAIT); undefined on one server. */
  cluster: Cluster | undefined;
  /** Closes what BullMQ leaves open: a client it is given is the caller's. Call after BullMQ's close. */
  close(): Promise<void>;
}

/**
 * The BullMQ prefix. Single-server installations keep `<prefix>:bull`, where their queues
 * already are; on a Cluster all BullMQ keys share the slot of `{<prefix>:bull}`.
 */
export function bullPrefix(redis: RedisClient, prefix: string): string {
  return isCluster(redis) ? `{${prefix}:bull}` : `${prefix}:bull`;
}

/** Workers block on Redis and wait for it while it is away (BullMQ needs maxRetriesPerRequest null). */
export function bullConnection(redis: RedisClient): BullConnection {
  if (isCluster(redis)) {
    // Never connected itself: BullMQ duplicates it for the worker's own and blocking
    // connections, and owns (and closes) those. A worker waits for Redis rather than failing
    // (its offline queue on, as on one server).
    const template = duplicateRedis(
      redis,
      { ...NO_AUTO_PIPELINING, lazyConnect: true, enableOfflineQueue: true },
      { maxRetriesPerRequest: null },
    ) as Cluster;
    return {
      connection: template,
      cluster: undefined,
      close: async () => template.disconnect(),
    };
  }
  return {
    connection: { ...redis.options, ...NO_AUTO_PIPELINING, maxRetriesPerRequest: null } as ConnectionOptions,
    cluster: undefined,
    close: async () => {},
  };
}

/**
 * Queues are used on request paths (an agent's ReportStatus, an API call): while Redis is away
 * their commands fail like every other one, after a few reconnect attempts, so the caller
 * gets an error it can retry instead of a call that hangs until Redis returns.
 */
export function bullQueueConnection(redis: RedisClient): BullConnection {
  if (isCluster(redis)) {
    const cluster = duplicateRedis(redis, { ...NO_AUTO_PIPELINING, lazyConnect: true }) as Cluster;
    return {
      connection: cluster,
      cluster,
      close: async () => {
        await cluster.quit().catch(() => cluster.disconnect());
      },
    };
  }
  return {
    connection: { ...redis.options, ...NO_AUTO_PIPELINING } as ConnectionOptions,
    cluster: undefined,
    close: async () => {},
  };
}
