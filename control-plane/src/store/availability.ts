// Tells "Redis is unreachable" apart from other failures, so that callers get an error they
// can retry (HTTP 503 StoreUnavailable, gRPC UNAVAILABLE) instead of an internal one. While
// Redis is down, commands fail after maxRetriesPerRequest reconnect attempts; a command cut
// off by a dropped connection fails with the socket's error.
import type { Logger } from 'pino';
import type { RedisClient } from './connect.ts';

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** `redis`, when given, also counts any failure while that client is not connected. */
export function isRedisUnavailable(err: unknown, redis?: RedisClient): boolean {
  if (redis && redis.status !== 'ready') return true;
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    CONNECTION_ERRORS.has((err as NodeJS.ErrnoException).code ?? '') ||
    err.message === 'Connection is closed.' ||
    // A Redis Cluster that lost slots with no replica to take them, or that the client cannot
    // reach at all (no node answers its slot map).
    err.name === 'ClusterAllFailedError' ||
    err.message.startsWith('CLUSTERDOWN') ||
    err.message.startsWith("Cluster isn't ready")
  );
}

/** One log line when a connection to Redis is lost and one when it is back, not one per reconnect attempt. */
export function logAvailability(redis: RedisClient, name: string, logger: Logger): void {
  let lost = false;
  redis.on('error', (err: Error) => {
    if (lost) return;
    lost = true;
    logger.error(
      { connection: name, err: { message: err.message } },
      'Redis unreachable: the API answers 503 and agents’ reports are refused until it is back',
    );
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.info({ connection: name }, 'Redis reachable again');
  });
}
