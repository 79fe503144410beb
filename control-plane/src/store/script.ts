// Lua scripts run by their SHA, sent whole only when Redis does not have them yet (first use,
// after SCRIPT FLUSH or a restart): one definition per script, one place for the fallback.
// On a Redis Cluster each primary has a script cache of its own (hence the fallback there too),
// and a script runs on the node of its keys: every script's KEYS share one slot (hash tags, or
// a single key), and scripts touch no key they are not given in KEYS.
import { createHash } from 'node:crypto';
import type { RedisClient } from './connect.ts';

export type Script = (redis: RedisClient, keys: string[], args: (string | number)[]) => Promise<unknown>;

export function script(source: string): Script {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err as Error).message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
