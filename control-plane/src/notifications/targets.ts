// Notification targets in Redis: where notifications go (a Slack incoming webhook, or a generic
// JSON webhook signed with a secret) and how the last deliveries went. The URL and the secret
// are sealed with the installation's key (store/secrets.ts) in fields no read path returns:
// a Slack webhook URL is itself the credential, and a webhook URL may carry a token. The API
// shows a target's type, the URL's host and its health, never the URL or the secret.
import { randomBytes } from 'node:crypto';
import { DomainError, invalid, notFound } from '../errors.ts';
import type { RedisClient } from '../store/connect.ts';
import { script } from '../store/script.ts';
import { SealedSecretError, SecretBox } from '../store/secrets.ts';
import { type NotifyKeys, notifyKeys } from './keys.ts';

export type TargetType = 'slack' | 'webhook';
export const TARGET_TYPES: readonly TargetType[] = ['slack', 'webhook'];

const NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const MAX_URL = 2048;
const MIN_SECRET = 16;
const MAX_SECRET = 256;

export interface TargetSpec {
  name: string;
  type: TargetType;
  /** The URL's host (and port): all of it that is shown. */
  host: string;
  createdAt: string;
}

export interface TargetHealth {
  /** unknown: nothing delivered or failed yet; failing: the last notification was not taken. */
  state: 'unknown' | 'ok' | 'failing';
  /** The last answer's HTTP status (null: none, e.g. a timeout). */
  status: number | null;
  /** Why it is failing, secret-free (the answer's first line, or what the network said). */
  message: string | null;
  /** Failing since (the first failure after the last delivery). */
  failingSince: string | null;
  lastDeliveryAt: string | null;
  lastAttemptAt: string | null;
  /** The last attempt that failed and will be retried (cleared by a delivery). */
  retrying: { status: number | null; message: string; at: string } | null;
}

export interface TargetView extends TargetSpec {
  health: TargetHealth;
}

/** What the worker needs to deliver: never leaves the process. */
export interface OpenTarget {
  name: string;
  type: TargetType;
  url: string;
  secret?: string;
}

export interface CreateTarget {
  name: string;
  type: TargetType;
  url: string;
  secret?: string;
}

// KEYS: target hash. ARGV: spec, sealed url, sealed secret ('' for none). All at once, or
// nothing when the name is taken.
const createTarget = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[1], 'url', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'secret', ARGV[3]) end
return 1
`);

// KEYS: target hash. ARGV: outcome (ok | failing | retrying), time, status ('' = none), message.
// Only while the target exists: a delivery finishing after a DELETE does not bring it back.
const recordHealth = script(`
if redis.call('HEXISTS', KEYS[1], 'spec') == 0 then return 0 end
if ARGV[1] == 'ok' then
  redis.call('HSET', KEYS[1], 'h.state', 'ok', 'h.status', ARGV[3], 'h.lastDeliveryAt', ARGV[2], 'h.lastAttemptAt', ARGV[2])
  redis.call('HDEL', KEYS[1], 'h.message', 'h.failingSince', 'h.retryStatus', 'h.retryMessage', 'h.retryAt')
elseif ARGV[1] == 'failing' then
  redis.call('HSET', KEYS[1], 'h.state', 'failing', 'h.status', ARGV[3], 'h.message', ARGV[4], 'h.lastAttemptAt', ARGV[2])
  redis.call('HSETNX', KEYS[1], 'h.failingSince', ARGV[2])
  redis.call('HDEL', KEYS[1], 'h.retryStatus', 'h.retryMessage', 'h.retryAt')
else
  redis.call('HSET', KEYS[1], 'h.retryStatus', ARGV[3], 'h.retryMessage', ARGV[4], 'h.retryAt', ARGV[2], 'h.lastAttemptAt', ARGV[2])
end
return 1
`);

// KEYS: target hash. ARGV: field, value read, new value. Only while the field still holds the
// value read: re-sealing never overwrites a target deleted and created again meanwhile.
const replaceIfUnchanged = script(`
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`);

const HEALTH_FIELDS = [
  'h.state',
  'h.status',
  'h.message',
  'h.failingSince',
  'h.lastDeliveryAt',
  'h.lastAttemptAt',
  'h.retryStatus',
  'h.retryMessage',
  'h.retryAt',
] as const;

// Authenticated with the sealed value: it opens only for the target and field it was sealed for.
const sealContext = (name: string, field: 'url' | 'secret') => `notify-target/${name}/${field}`;

/** A Slack incoming-webhook URL or a webhook URL: http(s), absolute, no fragment. */
export function validateTargetUrl(type: TargetType, text: string): URL {
  if (text.length > MAX_URL) throw invalid(`url is longer than ${MAX_URL} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The value itself is not echoed: it is a secret.
    throw invalid(
      type === 'slack'
        ? 'url is not a URL: give the Slack incoming-webhook URL, https://hooks.slack.com/services/…'
        : 'url is not a URL: give the absolute http:// or https:// URL the notifications are POSTed to',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(`url must be an http:// or https:// URL, not ${url.protocol}`);
  }
  if (url.hash) throw invalid('url must not have a #fragment (it is never sent)');
  return url;
}

export class NotificationTargets {
  readonly #redis: RedisClient;
  readonly #keys: NotifyKeys;
  readonly #secrets: SecretBox;

  constructor(redis: RedisClient, prefix: string, secrets: SecretBox) {
    this.#redis = redis;
    this.#keys = notifyKeys(prefix);
    this.#secrets = secrets;
  }

  /**
   * Creates a target. A webhook without a secret gets a generated one, returned here once (as
   * `secret`) and never again; a given secret is not returned.
   */
  async create(input: CreateTarget): Promise<TargetView & { secret?: string }> {
    if (!NAME.test(input.name)) {
      throw invalid(
        `target name ${JSON.stringify(input.name)} is not valid: use 1-63 lowercase letters, digits and '-'`,
      );
    }
    if (!TARGET_TYPES.includes(input.type)) {
      throw invalid(`type must be one of ${TARGET_TYPES.join(', ')}`);
    }
    const url = validateTargetUrl(input.type, input.url);
    let secret = input.secret;
    let generated: string | undefined;
    if (input.type === 'slack' && secret !== undefined) {
      throw invalid(
        'a slack target takes no secret: its incoming-webhook URL is the secret (Slack does not verify signatures)',
      );
    }
    if (input.type === 'webhook') {
      if (secret === undefined) secret = generated = `gfn_${randomBytes(24).toString('base64url')}`;
      else if (secret.length < MIN_SECRET || secret.length > MAX_SECRET) {
        throw invalid(
          `secret must have ${MIN_SECRET} to ${MAX_SECRET} characters (or leave it out and one is generated)`,
        );
      }
    }
    const spec: TargetSpec = {
      name: input.name,
      type: input.type,
      host: url.host,
      createdAt: new Date().toISOString(),
    };
    const created = await createTarget(
      this.#redis,
      [this.#keys.target(spec.name)],
      [
        JSON.stringify(spec),
        this.#secrets.seal(url.href, sealContext(spec.name, 'url')),
        secret ? this.#secrets.seal(secret, sealContext(spec.name, 'secret')) : '',
      ],
    );
    if (!created) {
      throw new DomainError(
        'Conflict',
        `notification target ${spec.name} already exists; delete it first (its secret cannot be read back) or pick another name`,
      );
    }
    // The set is another key (another Cluster slot): a crash in between leaves a target found
    // by name but not listed; creating it again says it exists, DELETE removes it.
    await this.#redis.sadd(this.#keys.targets(), spec.name);
    return { ...spec, health: emptyHealth(), ...(generated ? { secret: generated } : {}) };
  }

  async names(): Promise<string[]> {
    return (await this.#redis.smembers(this.#keys.targets())).sort();
  }

  async get(name: string): Promise<TargetView> {
    const view = await this.#view(name);
    if (!view) throw notFound('NotFound', `notification target ${name} does not exist`);
    return view;
  }

  async list(): Promise<TargetView[]> {
    const views = await Promise.all((await this.names()).map((n) => this.#view(n)));
    return views.filter((v): v is TargetView => v !== null);
  }

  async delete(name: string): Promise<void> {
    const removed = await this.#redis.del(this.#keys.target(name));
    await this.#redis.srem(this.#keys.targets(), name);
    if (!removed) throw notFound('NotFound', `notification target ${name} does not exist`);
  }

  /** The target with its URL and secret opened, or null when it does not exist (any more). */
  async open(name: string): Promise<OpenTarget | null> {
    const [spec, url, secret] = await this.#redis.hmget(this.#keys.target(name), 'spec', 'url', 'secret');
    if (!spec || !url) return null;
    const parsed = JSON.parse(spec) as TargetSpec;
    try {
      return {
        name,
        type: parsed.type,
        url: this.#secrets.open(url, sealContext(name, 'url')),
        ...(secret ? { secret: this.#secrets.open(secret, sealContext(name, 'secret')) } : {}),
      };
    } catch (err) {
      if (!(err instanceof SealedSecretError)) throw err;
      throw new TargetUnreadable(`the URL or secret of notification target ${name} is ${err.message}`);
    }
  }

  /**
   * Seals the target's URL and secret again with the primary key (a key rotation's
   * `reencrypt`). Returns how many fields it re-sealed: 0 when they already were.
   */
  async reseal(name: string): Promise<number> {
    const key = this.#keys.target(name);
    let resealed = 0;
    for (const field of ['url', 'secret'] as const) {
      const stored = await this.#redis.hget(key, field);
      if (stored === null || SecretBox.keyIdOf(stored) === this.#secrets.keyId) continue;
      let plaintext: string;
      try {
        plaintext = this.#secrets.open(stored, sealContext(name, field));
      } catch (err) {
        if (!(err instanceof SealedSecretError)) throw err;
        throw new TargetUnreadable(`the ${field} of notification target ${name} is ${err.message}`);
      }
      const sealed = this.#secrets.seal(plaintext, sealContext(name, field));
      if (await replaceIfUnchanged(this.#redis, [key], [field, stored, sealed])) resealed++;
    }
    return resealed;
  }

  async record(
    name: string,
    outcome: 'ok' | 'failing' | 'retrying',
    status: number | null,
    message: string,
    at = new Date(),
  ): Promise<void> {
    await recordHealth(
      this.#redis,
      [this.#keys.target(name)],
      [outcome, at.toISOString(), status === null ? '' : String(status), message],
    );
  }

  async #view(name: string): Promise<TargetView | null> {
    const values = await this.#redis.hmget(this.#keys.target(name), 'spec', ...HEALTH_FIELDS);
    const [
      spec,
      state,
      status,
      message,
      failingSince,
      lastDeliveryAt,
      lastAttemptAt,
      rStatus,
      rMessage,
      rAt,
    ] = values;
    if (!spec) return null;
    const num = (s: string | null | undefined) => (s ? Number(s) : null);
    return {
      ...(JSON.parse(spec) as TargetSpec),
      health: {
        state: state === 'ok' || state === 'failing' ? state : 'unknown',
        status: num(status),
        message: message ?? null,
        failingSince: failingSince ?? null,
        lastDeliveryAt: lastDeliveryAt ?? null,
        lastAttemptAt: lastAttemptAt ?? null,
        retrying: rAt ? { status: num(rStatus), message: rMessage ?? '', at: rAt } : null,
      },
    };
  }
}

/** A target whose sealed URL or secret does not open with this replica's keys. */
export class TargetUnreadable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetUnreadable';
  }
}

function emptyHealth(): TargetHealth {
  return {
    state: 'unknown',
    status: null,
    message: null,
    failingSince: null,
    lastDeliveryAt: null,
    lastAttemptAt: null,
    retrying: null,
  };
}
