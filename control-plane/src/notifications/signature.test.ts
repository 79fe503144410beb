import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { signBody, verifySignature } from './signature.ts';

describe('webhook signatures', () => {
  const secret = 'a-shared-secret-of-some-length';
  const body = '{"type":"RolloutHalted","fleet":"shop"}';

  test('are HMAC-SHA256 over "<timestamp>.<body>", as receivers compute them', () => {
    const expected = createHmac('sha256', secret).update(`1733300000.${body}`).digest('hex');
    assert.equal(signBody(secret, 1733300000, body), `sha256=${expected}`);
  });

  test('verify: the right secret and a fresh timestamp pass', () => {
    const timestamp = '1733300000';
    const signature = signBody(secret, timestamp, body);
    assert.deepEqual(verifySignature({ secret, body, timestamp, signature, nowSeconds: 1733300100 }), {
      ok: true,
    });
  });

  test('verify: a changed body, another secret, a stale or missing timestamp fail', () => {
    const timestamp = '1733300000';
    const signature = signBody(secret, timestamp, body);
    const now = 1733300010;
    const fails = (input: Partial<Parameters<typeof verifySignature>[0]>) => {
      const r = verifySignature({ secret, body, timestamp, signature, nowSeconds: now, ...input });
      assert.equal(r.ok, false);
      return r.ok ? '' : r.reason;
    };
    assert.match(fails({ body: body.replace('shop', 'shoq') }), /does not match/);
    assert.match(fails({ secret: 'another-secret-entirely' }), /does not match/);
    // The old signature with a new timestamp: the timestamp is signed too.
    assert.match(fails({ timestamp: String(now) }), /does not match/);
    assert.match(fails({ nowSeconds: 1733300000 + 301 }), /replay/);
    assert.match(fails({ timestamp: undefined }), /timestamp/);
    assert.match(fails({ signature: 'md5=00' }), /sha256=/);
    assert.equal(
      verifySignature({ secret, body, timestamp, signature, nowSeconds: now + 600, toleranceSeconds: 900 })
        .ok,
      true,
    );
  });
});
