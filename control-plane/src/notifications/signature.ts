// How a webhook target's deliveries are signed, and how a receiver checks them.
//
//   X-Gitfleet-Timestamp: <unix seconds when this attempt was sent>
//   X-Gitfleet-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the target's secret>
//   X-Gitfleet-Delivery:  <idempotency key: the same on every attempt of one notification>
//
// The timestamp is signed with the body, so a captured request cannot be replayed later with
// a fresh one: a receiver rejects a timestamp older than a few minutes (verifySignature's
// tolerance, 5 minutes by default), and drops a delivery id it has already handled (retries
// are at-least-once). Each attempt is signed anew, so a retry an hour later is not stale.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-gitfleet-timestamp';
export const SIGNATURE_HEADER = 'x-gitfleet-signature';
export const DELIVERY_HEADER = 'x-gitfleet-delivery';
export const EVENT_HEADER = 'x-gitfleet-event';
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** `sha256=<hex>` over `<timestamp>.<body>`. */
export function signBody(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type Verification = { ok: true } | { ok: false; reason: string };

/**
 * What a receiver does with a delivery: the signature must be the HMAC of exactly these bytes
 * with the shared secret, and the timestamp within `toleranceSeconds` of now (either way: a
 * clock a little ahead is not an attack). Compares in constant time.
 */
export function verifySignature(input: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): Verification {
  const { secret, body, timestamp, signature } = input;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'no valid timestamp' };
  if (!signature?.startsWith('sha256=')) return { ok: false, reason: 'no sha256= signature' };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - Number(timestamp)) > tolerance) {
    return { ok: false, reason: `timestamp is more than ${tolerance} s away from now (a replay?)` };
  }
  const expected = Buffer.from(signBody(secret, timestamp, body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature does not match the body' };
  }
  return { ok: true };
}
