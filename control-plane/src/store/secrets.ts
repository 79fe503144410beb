// AES-256-GCM sealing of the secrets the control plane keeps in Redis (fleets' Git and chart
// credentials): a copy of Redis — a backup, an RDB file, a replica, MONITOR — holds no usable
// password without the key every replica is given.
//
// A sealed value is `v1:<key id>:<iv>:<tag>:<ciphertext>` (base64 parts). It names its key so
// that, during a rotation, a replica holding the new key and the previous one opens values
// sealed with either, and one without the right key can say which key it lacks. The key id is
// the first 8 hex digits of the key's SHA-256: enough to tell keys apart, nothing to attack.
// The context (e.g. the fleet and field) is authenticated with the value, so a sealed value
// copied to another fleet or field does not open there.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const KEY_BYTES = 32;
// 96-bit random nonces, the size GCM is specified for; a key seals far fewer than the 2^32
// values after which random nonces start to risk a collision.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/** A key as configured: 32 bytes in base64 (44 characters, or 43 unpadded) or hex (64). */
export function decodeSecretKey(text: string): Buffer | undefined {
  const s = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(s)) return undefined;
  const key = Buffer.from(s, 'base64');
  return key.length === KEY_BYTES ? key : undefined;
}

/** What names a key in sealed values and messages without revealing it. */
export function secretKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export type UnsealFailure = 'unknown-key' | 'not-authentic' | 'malformed';

/** A sealed value that does not open; the message says why and what to do, and holds no secret. */
export class SealedSecretError extends Error {
  readonly reason: UnsealFailure;
  /** The key the value names, when it names one. */
  readonly keyId: string | undefined;

  constructor(reason: UnsealFailure, message: string, keyId?: string) {
    super(message);
    this.name = 'SealedSecretError';
    this.reason = reason;
    this.keyId = keyId;
  }
}

export class SecretBox {
  // Private fields: util.inspect, JSON.stringify and loggers see none of the key material.
  readonly #keys = new Map<string, Buffer>();
  readonly #primaryId: string;

  /** `previous` is the key before a rotation: still opened with, never sealed with. */
  constructor(primary: Buffer, previous?: Buffer) {
    for (const key of previous ? [primary, previous] : [primary]) {
      if (key.length !== KEY_BYTES)
        throw new RangeError(`a secret key is ${KEY_BYTES} bytes, not ${key.length}`);
      this.#keys.set(secretKeyId(key), Buffer.from(key));
    }
    this.#primaryId = secretKeyId(primary);
  }

  /** The id of the key new values are sealed with. */
  get keyId(): string {
    return this.#primaryId;
  }

  /** The ids of every key this box opens with, the primary's first. */
  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** The key id a sealed value names; undefined when the value is not a sealed one. */
  static keyIdOf(value: string): string | undefined {
    const parts = value.split(':');
    return parts.length === 5 && parts[0] === VERSION && /^[0-9a-f]{8}$/.test(parts[1] ?? '')
      ? parts[1]
      : undefined;
  }

  seal(plaintext: string, context: string): string {
    const key = this.#keys.get(this.#primaryId) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.#primaryId, context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.#primaryId, iv, cipher.getAuthTag(), ciphertext]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64')))
      .join(':');
  }

  /** The plaintext; `context` must be the one it was sealed with. */
  open(sealed: string, context: string): string {
    const id = SecretBox.keyIdOf(sealed);
    const [, , iv, tag, ciphertext] = sealed.split(':').map((p) => Buffer.from(p, 'base64'));
    if (!id || iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || !ciphertext) {
      throw new SealedSecretError(
        'malformed',
        `not a sealed value (${VERSION}:<key id>:<iv>:<tag>:<ciphertext>)`,
      );
    }
    const key = this.#keys.get(id);
    if (!key) {
      throw new SealedSecretError(
        'unknown-key',
        `sealed with key ${id}, which this replica does not have (it has ${this.keyIds.join(' and ')}): ` +
          'give it that key as GITFLEET_SECRET_KEY, or as GITFLEET_SECRET_KEY_PREVIOUS while rotating to a new one',
        id,
      );
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(id, context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedSecretError(
        'not-authentic',
        `sealed with key ${id} but not authentic with it: the value was altered, or copied from another fleet or field`,
        id,
      );
    }
  }
}

// The header is authenticated too: a value relabelled with another key id fails like any other change.
function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}:${keyId}:${context}`, 'utf8');
}
