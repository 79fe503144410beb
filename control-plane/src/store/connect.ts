// How the control plane reaches Redis: one server by URL, or a primary found through Redis
// Sentinel (which follows a failover). Every connection — main, subscriber, BullMQ's — is made
// from the same options (BullMQ copies them from the main client), so all follow the primary.
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisTarget {
  url: string;
  /** host:port of each sentinel; empty = connect to `url`. */
  sentinels: string[];
  /** The name the sentinels monitor the primary by. */
  sentinelMaster: string;
  /** Password of the data nodes and of the sentinels, when they ask for one. */
  password: string | undefined;
  sentinelPassword: string | undefined;
}

function hostPort(s: string): { host: string; port: number } {
  const colon = s.lastIndexOf(':');
  return { host: s.slice(0, colon), port: Number(s.slice(colon + 1)) };
}

/** Parses GITFLEET_REDIS_SENTINELS (host:port,host:port); a bad entry names what to fix. */
export function parseSentinels(raw: string | undefined): string[] {
  const list = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list) {
    const { host, port } = hostPort(s);
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`GITFLEET_REDIS_SENTINELS: '${s}' is not host:port (e.g. redis-sentinel-0:26379)`);
    }
  }
  return list;
}

export function connectRedis(target: RedisTarget, options: RedisOptions): Redis {
  if (target.sentinels.length === 0) {
    return new Redis(target.url, { ...options, ...(target.password ? { password: target.password } : {}) });
  }
  return new Redis({
    ...options,
    sentinels: target.sentinels.map(hostPort),
    name: target.sentinelMaster,
    ...(target.password ? { password: target.password } : {}),
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    // Told of a new primary by the sentinels (+switch-master) instead of waiting for the old
    // one's connection to fail.
    failoverDetector: true,
    role: 'master',
  });
}
