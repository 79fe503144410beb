// Content-addressed bundles: the rendered objects for one cluster, identified by the digest of
// their encoding (the codec is @gitfleet/proto/core's). Objects are sorted by identity and
// encoded as canonical JSON, so file order, YAML style (flow vs block, quoting, comments,
// anchors) and key order do not change the digest, and two clusters that render the same
// objects share one bundle.

import { bundleDigest, canonicalJson, encodeBundle } from '@gitfleet/proto/core';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
};

export type Bundle = {
  /** Sorted by identity (see objectIdentity). */
  objects: KubeObject[];
  /** "sha256:<64 hex>" of bundleBytes(bundle). */
  digest: string;
};

/** `group/kind/namespace/name`; the core group is empty, cluster-scoped objects have no namespace. */
export function objectIdentity(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const slash = obj.apiVersion.lastIndexOf('/');
  const group = slash === -1 ? '' : obj.apiVersion.slice(0, slash);
  return `${group}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

// Plain code-unit order, as canonicalJson sorts keys: localeCompare would make the digest
// depend on the host's locale.
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

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

/** The bytes agents receive (encodeBundle's), each object's canonical JSON serialized once. */
export function bundleBytes(bundle: Pick<Bundle, 'objects'>): Uint8Array {
  return encodeBundle(sortObjects(bundle.objects), canonicalObject);
}

/** Sorts the objects and computes the digest. */
export function makeBundle(objects: KubeObject[]): Bundle {
  const sorted = sortObjects(objects);
  return { objects: sorted, digest: bundleDigest(encodeBundle(sorted, canonicalObject)) };
}
