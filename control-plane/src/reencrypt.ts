// `gitfleet-control-plane reencrypt` (server.ts): seals every fleet's credentials again with
// the primary key, GITFLEET_SECRET_KEY — the step of a key rotation after every replica has
// the new key and the previous one (docs/operations.md, "Secrets at rest"), and the way
// credentials stored in clear before sealing existed get sealed. It runs beside live replicas:
// each field is replaced only if it still holds what was read. Running it again changes nothing.
import type { Config } from './config.ts';
import { NotificationTargets } from './notifications/targets.ts';
import { FleetStore } from './reconcile/fleet-store.ts';
import { connectRedis } from './store/connect.ts';
import { keys } from './store/keys.ts';

export interface ReencryptResult {
  /** Fleets with at least one field re-sealed. */
  resealed: number;
  /** Fleets whose credentials were all sealed with the primary key already. */
  current: number;
  /** Fleets whose credentials did not open (the message says why), left as they were. */
  failed: { fleet: string; message: string }[];
}

export async function reencrypt(config: Config, print: (line: string) => void): Promise<ReencryptResult> {
  // A one-off command: a few reconnects ride out a blip, then it fails instead of waiting forever.
  const redis = connectRedis(config.redis, {
    maxRetriesPerRequest: 3,
    lazyConnect: true,
    retryStrategy: (attempt) => (attempt > 3 ? null : attempt * 200),
  });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await redis.connect().catch((err: Error) => {
      // Not the URL: it may hold a password.
      throw new Error(`cannot reach Redis: ${(lastError ?? err).message}`);
    });
    const store = new FleetStore(redis, keys(config.redisPrefix), config.secrets);
    const result: ReencryptResult = { resealed: 0, current: 0, failed: [] };
    for (const fleet of await store.names()) {
      try {
        if ((await store.reseal(fleet)) > 0) result.resealed++;
        else result.current++;
      } catch (err) {
        const message = (err as Error).message;
        result.failed.push({ fleet, message });
        print(`fleet ${fleet}: not re-sealed: ${message}`);
      }
    }
    // Notification targets hold sealed URLs and secrets too.
    const targets = new NotificationTargets(redis, config.redisPrefix, config.secrets);
    for (const name of await targets.names()) {
      try {
        if ((await targets.reseal(name)) > 0) result.resealed++;
        else result.current++;
      } catch (err) {
        const message = (err as Error).message;
        result.failed.push({ fleet: `notification target ${name}`, message });
        print(`notification target ${name}: not re-sealed: ${message}`);
      }
    }
    print(
      `re-sealed the credentials of ${result.resealed} fleet(s) and notification target(s) with key ${config.secrets.keyId}; ` +
        `${result.current} already sealed with it${result.failed.length ? `; ${result.failed.length} failed` : ''}`,
    );
    return result;
  } finally {
    // Every command was awaited: nothing is left to flush.
    redis.disconnect();
  }
}
