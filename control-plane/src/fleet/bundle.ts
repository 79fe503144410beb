// Content-addressed bundles: the rendered objects for one cluster, identified by a digest of
// their canonical encoding. Canonical means: objects sorted by identity, object keys sorted
// (by UTF-16 code units, as RFC 8785 JCS does), no whitespace, JavaScript number formatting.
// So file order, YAML style (flow vs block, quoting, comments, anchors) and key order do not
// change the digest, and two clusters that render the same objects share one bundle. The
// digest is the sha256 of exactly the bytes encodeBundle returns, so an agent can verify what
// it received without re-serializing anything.

import { createHash } from 'node:crypto';
import { FleetError } from './errors.ts';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
};

export type Bundle = {
  /** Sorted by identity (see objectIdentity). */
  objects: KubeObject[];
  /** "sha256:<64 hex>" of encodeBundle(bundle). */
  digest: string;
};

/** `group/kind/namespace/name`; the core group is empty, cluster-scoped objects have no namespace. */
export function objectIdentity(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const slash = obj.apiVersion.lastIndexOf('/');
  const group = slash === -1 ? '' : obj.apiVersion.slice(0, slash);
  return `${group}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

// Plain code-unit order: localeCompare would make the digest depend on the host's locale.
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Canonical JSON of a JSON-shaped value. Throws a TypeError naming the path of anything JSON
 * cannot carry (NaN, Infinity, dates, binary, bigint, functions): silently changing such a
 * value would deploy something other than what Git says.
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

function sortObjects(objects: KubeObject[]): KubeObject[] {
  return objects
    .map((o) => ({ o, id: objectIdentity(o) }))
    .sort((a, b) => byCodeUnits(a.id, b.id))
    .map(({ o }) => o);
}

// Canonical JSON of each object, computed once: renders share parsed objects between the
// bundles of every cluster that reads the same text (see render.ts), so a fleet of thousands
// of clusters serializes each distinct object once. Objects are never mutated once rendered.
const canonicalOfObject = new WeakMap<KubeObject, string>();

/** canonicalJson of a rendered object, serialized once per object. */
export function canonicalObject(object: KubeObject): string {
  let json = canonicalOfObject.get(object);
  if (json === undefined) {
    json = canonicalJson(object);
    canonicalOfObject.set(object, json);
  }
  return json;
}

/** Seeds the cache with an object's canonical JSON, known without serializing it (render.ts's templates). */
export function rememberCanonical(object: KubeObject, json: string): void {
  canonicalOfObject.set(object, json);
}

/** The bytes agents receive: UTF-8 canonical JSON of `{"objects":[...]}`. */
export function encodeBundle(bundle: Pick<Bundle, 'objects'>): Uint8Array {
  // Exactly canonicalJson({ objects: sorted }), assembled from the per-object pieces.
  return new TextEncoder().encode(
    `{"objects":[${sortObjects(bundle.objects).map(canonicalObject).join(',')}]}`,
  );
}

/** "sha256:<hex>" of the bytes. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Sorts the objects and computes the digest. */
export function makeBundle(objects: KubeObject[]): Bundle {
  const sorted = sortObjects(objects);
  return { objects: sorted, digest: digestOf(encodeBundle({ objects: sorted })) };
}

/**
 * Reads bytes made by encodeBundle, checking them against the digest they were sent under.
 * Throws FleetError 'DigestMismatch' or 'InvalidBundle'.
 */
export function decodeBundle(bytes: Uint8Array, digest: string): Bundle {
  const actual = digestOf(bytes);
  if (actual !== digest) {
    throw new FleetError(
      'DigestMismatch',
      `bundle bytes have digest ${actual}, expected ${digest}; refetch the bundle`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new FleetError('InvalidBundle', `bundle ${digest} is not JSON: ${(err as Error).message}`);
  }
  const objects = (parsed as { objects?: unknown })?.objects;
  if (!Array.isArray(objects)) throw new FleetError('InvalidBundle', `bundle ${digest} has no objects list`);
  return { objects: objects as KubeObject[], digest };
}
