// BullMQ connections: options, not shared ioredis instances, so that each Queue and Worker
// owns (and closes) its connections.
import type { ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';

// BullMQ's own connections do not inherit the main client's auto-pipelining: its workers
// block on Redis, and BullMQ users have reported lost job data with it (OptimalBits/bull#2276).
const NO_AUTO_PIPELINING = { enableAutoPipelining: false };

/** Workers block on Redis and wait for it while it is away (BullMQ needs maxRetriesPerRequest null). */
export function bullConnection(redis: Redis): ConnectionOptions {
  return { ...redis.options, ...NO_AUTO_PIPELINING, maxRetriesPerRequest: null } as ConnectionOptions;
}

/**
 * Queues are used on request paths (an agent's ReportStatus, an API call): while Redis is away
 * their commands fail like every other one, after a few reconnect attempts, so the caller
 * gets an error it can retry instead of a call that hangs until Redis returns.
 */
export function bullQueueConnection(redis: Redis): ConnectionOptions {
  return { ...redis.options, ...NO_AUTO_PIPELINING } as ConnectionOptions;
}
