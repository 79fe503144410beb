// The bundle codec: how the objects one cluster runs travel from the control plane to the
// agent. A bundle's bytes are the canonical JSON of `{"objects":[...]}`; its digest is their
// sha256, so the agent checks what it received without re-serializing anything; on the way
// (stored, and sent in chunks) they are gzip'd.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

/** A bundle that does not check out: nothing of it may be applied. */
export class BundleError extends Error {
  readonly code: 'DigestMismatch' | 'BundleInvalid';

  constructor(message: string, code: BundleError['code'] = 'BundleInvalid') {
    super(message);
    this.code = code;
  }
}

// Plain code-unit order: localeCompare would make the digest depend on the host's locale.
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Canonical JSON of a JSON-shaped value: object keys sorted (by UTF-16 code units, as RFC 8785
 * JCS does), no whitespace, JavaScript number formatting, undefined properties left out. So key
 * order and YAML style do not change a digest. Throws a TypeError naming the path of anything
 * JSON cannot carry (NaN, Infinity, dates, binary, bigint, functions, undefined in an array):
 * silently changing such a value would deploy something other than what Git says.
 */
export function canonicalJson(value: unknown, path = '$'): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON cannot represent`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          `${path} is a ${proto?.constructor?.name ?? 'non-plain object'}, which JSON cannot represent`,
        );
      }
      const entries = Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort(byCodeUnits)
        .map(
          (k) =>
            `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], `${path}.${k}`)}`,
        );
      return `{${entries.join(',')}}`;
    }
    default:
      throw new TypeError(`${path} is a ${typeof value}, which JSON cannot represent`);
  }
}

/**
 * A bundle's bytes: UTF-8 canonical JSON of `{"objects":[...]}`, the objects in the order given.
 * `canonical` is canonicalJson, or a cache of it (objects shared by many bundles are serialized
 * once).
 */
export function encodeBundle<T>(
  objects: readonly T[],
  canonical: (object: T) => string = canonicalJson,
): Uint8Array {
  return new TextEncoder().encode(`{"objects":[${objects.map((o) => canonical(o)).join(',')}]}`);
}

/** "sha256:<hex>" of a bundle's bytes. */
export function bundleDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

// Bundles are a few KB: a small window and memLevel cut zlib's per-call setup (most of the cost
// of compressing one) to a third, with the same output size at these sizes.
const GZIP = { level: 6, windowBits: 12, memLevel: 4 } as const;

/** A bundle's bytes as they are stored and sent. */
export function compressBundle(bytes: Uint8Array): Buffer {
  return gzipSync(bytes, GZIP);
}

/**
 * The bytes of a compressed bundle, never more than `maxBytes`: no gzip bomb gets through.
 * Throws zlib's error, with code ERR_BUFFER_TOO_LARGE for one that decompresses to more.
 */
export function decompressBundle(payload: Uint8Array, maxBytes: number): Buffer {
  return gunzipSync(payload, { maxOutputLength: maxBytes });
}

/**
 * The objects of a bundle's bytes, once they match the digest they were sent under. A bare
 * array of objects is read too. Throws BundleError.
 */
export function decodeBundle(bytes: Uint8Array, digest: string, fleet: string): unknown[] {
  const actual = bundleDigest(bytes);
  if (actual !== digest) {
    throw new BundleError(
      `bundle for fleet ${fleet} does not match its digest (got ${actual}, expected ${digest}); it was not applied`,
      'DigestMismatch',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new BundleError(`bundle for fleet ${fleet} is not JSON (${(err as Error).message})`);
  }
  const objects = Array.isArray(parsed) ? parsed : (parsed as { objects?: unknown } | null)?.objects;
  if (!Array.isArray(objects)) throw new BundleError(`bundle for fleet ${fleet} has no objects array`);
  return objects;
}
