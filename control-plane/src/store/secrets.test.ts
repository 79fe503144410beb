import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { decodeSecretKey, SealedSecretError, SecretBox, secretKeyId } from './secrets.ts';

const A = randomBytes(32);
const B = randomBytes(32);
const CONTEXT = 'fleet/web/credentials';
const SECRET = '{"username":"git","password":"hunter2-very-secret"}';

/** The SealedSecretError `fn` throws. */
function unsealError(fn: () => unknown): SealedSecretError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SealedSecretError, String(err));
    return err;
  }
  assert.fail('it opened');
}

describe('secret keys as configured', () => {
  test('32 bytes in base64 (padded or not, standard or URL-safe) or hex', () => {
    const key = randomBytes(32);
    assert.deepEqual(decodeSecretKey(key.toString('base64')), key);
    assert.deepEqual(decodeSecretKey(key.toString('base64').replace(/=$/, '')), key);
    assert.deepEqual(decodeSecretKey(key.toString('base64url')), key);
    assert.deepEqual(decodeSecretKey(key.toString('hex')), key);
    assert.deepEqual(decodeSecretKey(key.toString('hex').toUpperCase()), key);
    assert.deepEqual(decodeSecretKey(` ${key.toString('base64')}\n`), key, 'a trailing newline from a file');
  });

  test('anything else is refused', () => {
    for (const text of [
      '',
      'secret',
      randomBytes(16).toString('base64'),
      randomBytes(31).toString('hex'),
      randomBytes(33).toString('base64'),
      `${randomBytes(32).toString('hex')}0`,
      `${'a'.repeat(43)}!`,
    ]) {
      assert.equal(decodeSecretKey(text), undefined, text);
    }
  });

  test('a key id is the first 8 hex digits of its SHA-256', () => {
    // sha256 of 32 zero bytes: 66687aadf862bd77...
    assert.equal(secretKeyId(Buffer.alloc(32)), '66687aad');
    assert.equal(new SecretBox(A).keyId, secretKeyId(A));
    assert.deepEqual(new SecretBox(A, B).keyIds, [secretKeyId(A), secretKeyId(B)]);
  });

  test('a box takes 32-byte keys only', () => {
    assert.throws(() => new SecretBox(randomBytes(16)), RangeError);
    assert.throws(() => new SecretBox(A, randomBytes(31)), RangeError);
  });
});

describe('SecretBox', () => {
  test('opens what it sealed; the sealed form names the key and hides the plaintext', () => {
    const box = new SecretBox(A);
    const sealed = box.seal(SECRET, CONTEXT);
    assert.match(
      sealed,
      new RegExp(`^v1:${secretKeyId(A)}:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$`),
    );
    assert.ok(!sealed.includes('hunter2'));
    assert.ok(
      !Buffer.from(sealed.split(':')[4] ?? '', 'base64')
        .toString('latin1')
        .includes('hunter2'),
    );
    assert.equal(box.open(sealed, CONTEXT), SECRET);
    assert.equal(SecretBox.keyIdOf(sealed), secretKeyId(A));
    assert.equal(box.open(box.seal('', CONTEXT), CONTEXT), '', 'the empty string too');
    assert.equal(box.open(box.seal('ünïcödé ✓', CONTEXT), CONTEXT), 'ünïcödé ✓');
  });

  test('every seal is different (a fresh IV), and each opens', () => {
    const box = new SecretBox(A);
    const one = box.seal(SECRET, CONTEXT);
    const two = box.seal(SECRET, CONTEXT);
    assert.notEqual(one, two);
    assert.notEqual(one.split(':')[2], two.split(':')[2]);
    assert.equal(box.open(two, CONTEXT), SECRET);
  });

  test('rotation: sealed with the primary key, opened with either', () => {
    const old = new SecretBox(A).seal(SECRET, CONTEXT);
    const rotating = new SecretBox(B, A);
    assert.equal(rotating.keyId, secretKeyId(B));
    assert.equal(rotating.open(old, CONTEXT), SECRET);
    const resealed = rotating.seal(rotating.open(old, CONTEXT), CONTEXT);
    assert.equal(SecretBox.keyIdOf(resealed), secretKeyId(B));
    assert.equal(new SecretBox(B).open(resealed, CONTEXT), SECRET, 'the new key alone opens it');
  });

  test('a value sealed with a key the box lacks: the error names that key and what to set', () => {
    const sealed = new SecretBox(B).seal(SECRET, CONTEXT);
    const err = unsealError(() => new SecretBox(A).open(sealed, CONTEXT));
    assert.equal(err.reason, 'unknown-key');
    assert.equal(err.keyId, secretKeyId(B));
    assert.match(
      err.message,
      new RegExp(
        `^sealed with key ${secretKeyId(B)}, which this replica does not have \\(it has ${secretKeyId(A)}\\)`,
      ),
    );
    assert.match(err.message, /GITFLEET_SECRET_KEY_PREVIOUS/);
    const both = unsealError(() => new SecretBox(A, randomBytes(32)).open(sealed, CONTEXT));
    assert.match(both.message, /it has [0-9a-f]{8} and [0-9a-f]{8}\)/);
  });

  test('another context (fleet, field) does not open it', () => {
    const box = new SecretBox(A);
    const sealed = box.seal(SECRET, CONTEXT);
    for (const context of ['fleet/api/credentials', 'fleet/web/chartCredentials', '']) {
      const err = unsealError(() => box.open(sealed, context));
      assert.equal(err.reason, 'not-authentic');
      assert.match(err.message, /copied from another fleet or field/);
    }
  });

  test('any change to a sealed value is detected', () => {
    const box = new SecretBox(A);
    const parts = box.seal(SECRET, CONTEXT).split(':');
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      return bytes.toString('base64');
    };
    for (const i of [2, 3, 4]) {
      const changed = parts.map((p, j) => (j === i ? flip(p) : p)).join(':');
      assert.equal(unsealError(() => box.open(changed, CONTEXT)).reason, 'not-authentic', `part ${i}`);
    }
    // Another key's id in the header, when the box has that key too.
    const other = new SecretBox(A, B);
    const relabelled = [parts[0], secretKeyId(B), ...parts.slice(2)].join(':');
    assert.equal(unsealError(() => other.open(relabelled, CONTEXT)).reason, 'not-authentic');
  });

  test('what is not a sealed value is malformed', () => {
    const box = new SecretBox(A);
    const sealed = box.seal(SECRET, CONTEXT);
    for (const value of [
      '',
      SECRET,
      'v1:nothex!!:a:b:c',
      `v2${sealed.slice(2)}`,
      sealed.split(':').slice(0, 4).join(':'),
      `${sealed}:extra`,
      sealed.replace(/:[^:]+:/, ':AAAA:'),
    ]) {
      assert.equal(unsealError(() => box.open(value, CONTEXT)).reason, 'malformed', value);
    }
  });

  test('no key material in what a logger or an error shows', () => {
    const box = new SecretBox(A, B);
    for (const shown of [inspect(box, { showHidden: true, depth: 5 }), JSON.stringify(box), String(box)]) {
      for (const key of [A, B]) {
        for (const encoding of ['base64', 'hex'] as const) {
          assert.ok(!shown.includes(key.toString(encoding)), shown);
        }
      }
    }
    const err = unsealError(() => new SecretBox(B).open(box.seal(SECRET, CONTEXT), CONTEXT));
    assert.ok(!err.message.includes('hunter2'));
    assert.ok(!inspect(err).includes(A.toString('hex')));
  });
});
