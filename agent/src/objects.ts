// Kubernetes objects as the agent sees them: plain JSON from a bundle or from the API server,
// and the identity (ObjectRef) every other module keys on. Identity is group, kind, namespace
// and name, never the version: the API server serves one object under every version of its
// group, so `apps/v1` and `apps/v1beta2` name the same Deployment and must not be pruned as
// two different things when a manifest changes apiVersion.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: unknown[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

export interface ObjectRef {
  group: string; // '' for the core group (apiVersion `v1`)
  version: string; // informational: '' when parsed from a ref key
  kind: string;
  namespace: string; // '' for cluster-scoped objects
  name: string;
}

// Splits `apps/v1` into group and version; the core group is written without a group part.
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  if (slash === -1) return { group: '', version: apiVersion };
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

// True when the value has what the API server needs to address it. Renderers meet files that
// look like manifests but are not objects (a kustomization.yaml has no metadata.name), so the
// check is here for them to make a deliberate decision.
export function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  const meta = v.metadata as Record<string, unknown> | undefined;
  return (
    typeof v.apiVersion === 'string' &&
    v.apiVersion !== '' &&
    typeof v.kind === 'string' &&
    v.kind !== '' &&
    typeof meta === 'object' &&
    meta !== null &&
    typeof meta.name === 'string' &&
    meta.name !== '' &&
    (meta.namespace === undefined || typeof meta.namespace === 'string')
  );
}

// The namespace is taken as written. A namespaced object without metadata.namespace gets
// namespace '' here, which is a different identity from the same object in `default`: the
// renderer or the IO layer must fill in namespaces before refs are taken, or pruning would
// see the live object as "no longer desired".
export function refOf(obj: KubeObject): ObjectRef {
  if (!isKubeObject(obj)) {
    throw new TypeError(
      `not a Kubernetes object (needs apiVersion, kind and metadata.name): ${JSON.stringify(obj)?.slice(0, 200)}`,
    );
  }
  const { group, version } = splitApiVersion(obj.apiVersion);
  return { group, version, kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name };
}

// `group/kind/namespace/name`, e.g. `apps/Deployment/shop/web`, `/ConfigMap/shop/settings`,
// `/Namespace//shop`. Slash-separated because no part can contain a slash: groups are DNS
// subdomains, kinds are identifiers and names of addressable objects are path segments.
export function refKey(ref: ObjectRef): string {
  return `${ref.group}/${ref.kind}/${ref.namespace}/${ref.name}`;
}

// Inverse of refKey. Throws on anything refKey cannot have produced, so a corrupted inventory
// is noticed instead of silently pruning the wrong object.
export function parseRefKey(key: string): ObjectRef {
  const parts = key.split('/');
  if (parts.length !== 4) throw new TypeError(`invalid object key "${key}": want group/kind/namespace/name`);
  const [group, kind, namespace, name] = parts as [string, string, string, string];
  if (kind === '' || name === '')
    throw new TypeError(`invalid object key "${key}": kind and name are required`);
  return { group, version: '', kind, namespace, name };
}

// For messages people read: `Deployment/shop/web`, `Namespace/shop`. The group is left out
// as kubectl and Flux do; the key is the unambiguous form.
export function formatRef(ref: ObjectRef): string {
  return ref.namespace === '' ? `${ref.kind}/${ref.name}` : `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function sameRef(a: ObjectRef, b: ObjectRef): boolean {
  return a.group === b.group && a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}
