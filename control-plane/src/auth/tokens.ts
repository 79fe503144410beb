// API tokens for automation, created over the API: each with a name, a role and an expiry,
// stored only as a SHA-256 hash (the token is shown once, when created), revocable at once.
// The tokens of GITFLEET_API_TOKENS (routes/auth.ts) stay as the installation's bootstrap.
import { createHash, randomBytes } from 'node:crypto';
import { conflict, notFound } from '../errors.ts';
import type { RedisClient } from '../store/connect.ts';
import type { Keys } from '../store/keys.ts';
import { script } from '../store/script.ts';

/** 'none': a token with no installation-wide role, only what the projects naming it give it. */
export type Role = 'admin' | 'viewer' | 'none';

export interface ApiTokenRecord {
  name: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
  /** Who created it (a caller's name), for the audit. */
  createdBy: string;
}

const PREFIX = 'gft_';

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** Whether a bearer token has the shape of one of these (so other kinds are not looked up). */
export const isApiToken = (token: string) => token.startsWith(PREFIX);

// KEYS: by name, by hash. ARGV: name, hash, record. Both or neither, and never over a name taken.
const createToken = script(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1
`);

// KEYS: by name, by hash. ARGV: name. The hash is found from the record, so both go together.
const revokeToken = script(`
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return 0 end
redis.call('HDEL', KEYS[2], cjson.decode(record).hash)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`);

type Stored = ApiTokenRecord & { hash: string };

export class ApiTokenStore {
  readonly #redis: RedisClient;
  readonly #keys: Keys;

  constructor(redis: RedisClient, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Creates a token; the returned `token` is the only time it is seen. */
  async create(
    input: { name: string; role: Role; expiresInSeconds: number; createdBy: string },
    now = new Date(),
  ): Promise<ApiTokenRecord & { token: string }> {
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: ApiTokenRecord = {
      name: input.name,
      role: input.role,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + input.expiresInSeconds * 1000).toISOString(),
      createdBy: input.createdBy,
    };
    const hash = tokenHash(token);
    const created = await createToken(
      this.#redis,
      [this.#keys.apiTokens(), this.#keys.apiTokenHashes()],
      [input.name, hash, JSON.stringify({ ...record, hash })],
    );
    if (!created) {
      throw conflict(
        'Conflict',
        `API token ${input.name} already exists; revoke it first or pick another name`,
      );
    }
    return { ...record, token };
  }

  async list(): Promise<ApiTokenRecord[]> {
    const all = await this.#redis.hgetall(this.#keys.apiTokens());
    return Object.values(all)
      .map((json) => withoutHash(JSON.parse(json) as Stored))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async revoke(name: string): Promise<void> {
    const removed = await revokeToken(
      this.#redis,
      [this.#keys.apiTokens(), this.#keys.apiTokenHashes()],
      [name],
    );
    if (!removed) throw notFound('NotFound', `API token ${name} does not exist`);
  }

  /** The token's record, or why it is refused: unknown (or revoked), or expired. */
  async lookup(token: string, now = Date.now()): Promise<ApiTokenRecord | 'unknown' | 'expired'> {
    const name = await this.#redis.hget(this.#keys.apiTokenHashes(), tokenHash(token));
    if (!name) return 'unknown';
    const json = await this.#redis.hget(this.#keys.apiTokens(), name);
    if (!json) return 'unknown';
    const record = withoutHash(JSON.parse(json) as Stored);
    return Date.parse(record.expiresAt) <= now ? 'expired' : record;
  }
}

function withoutHash({ hash: _hash, ...record }: Stored): ApiTokenRecord {
  return record;
}
