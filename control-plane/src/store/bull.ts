// BullMQ connections: options, not shared ioredis instances, so that each Queue and Worker
// owns (and closes) its connections; workers need maxRetriesPerRequest null to block.
import type { ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';

export function bullConnection(redis: Redis): ConnectionOptions {
  return { ...redis.options, maxRetriesPerRequest: null } as ConnectionOptions;
}
