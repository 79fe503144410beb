// Applying a bundle to the cluster with server-side apply, in stages (see sort.ts), with a
// ChangeSet as the result: created / configured / unchanged / failed per object.
//
// An object that did not change is not written. How we know, cheapest first:
//   1. Verified cache (in memory). After the agent applied or compared an object, it records
//      the digest of the desired object and the live object's resourceVersion. The API server
//      bumps resourceVersion on every write to an object, by anyone, so when both still match
//      nothing can have drifted and nothing needs to change: `unchanged` without a request of
//      its own. The live objects come from one LIST per resource across namespaces (selected
//      by our fleet label), not one GET per object: that is what makes a warm apply of a
//      thousand objects a handful of requests.
//   2. Dry-run. Otherwise (first apply after a restart, the desired object changed, or
//      someone, a controller's status update included, wrote to the object) the object is
//      applied with dryRun=All and the result compared with the live object, ignoring what
//      the server maintains (managedFields, resourceVersion, generation, creationTimestamp,
//      uid) and status: equal means `unchanged`, as in Flux's ssa. Fields owned by other
//      managers are in both, so they never count as a change.
//   3. Apply. Only when the dry-run differs, or when the object is not in the LIST: then the
//      HTTP status says whether the apply created it (201 `created`) or took over an object
//      that existed without our label (200 `configured`), without a GET first.
// We chose the cache over a digest annotation on the object: an annotation only says what we
// applied last, not whether someone changed the object since, so it could not skip the
// dry-run without missing drift; the resourceVersion can. The costs: the cache does not
// survive a restart (the first apply after one takes the dry-run path for every object), and
// entries expire (see VerifiedObjects) so that webhook or CRD default changes are seen too.
//
// `force` (default true) takes over fields that another manager set since our last apply
// (`kubectl edit`, `kubectl scale`): without it such drift could be reported but not
// corrected, the apply failing with FieldConflict; Flux and Argo CD force too. A fleet
// that shares fields with another tool on purpose turns it off to see the conflicts instead.

import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { canonicalJson, FLEET_LABEL } from '@gitfleet/proto/core';
import type { KubeClient, ResourceInfo } from '../kube/client.ts';
import { mapConcurrent } from '../kube/client.ts';
import type { KubeObject, ObjectRef } from '../objects.ts';
import { formatRef, isKubeObject, refKey, refOf, splitApiVersion } from '../objects.ts';
import type { ChangeSet, ChangeSetEntry } from './changeset.ts';
import { changeEntry, failedEntry } from './changeset.ts';
import { ApplyError, fromApiStatus, isApplyError } from './errors.ts';
import type { ApplyStageName } from './sort.ts';
import { sortForApply } from './sort.ts';
import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_WAIT_TIMEOUT_MS, waitForCurrent } from './wait.ts';

export const DEFAULT_FIELD_MANAGER = 'gitfleet';
export const DEFAULT_CONCURRENCY = 8;

export interface ApplyOptions {
  // The fleet the objects belong to; becomes the value of the FLEET_LABEL label.
  fleet: string;
  fieldManager?: string;
  // Server-side apply's force: take over fields other managers own (see the top of the file).
  force?: boolean;
  // Requests in flight at once.
  concurrency?: number;
  // How long to wait for CRDs and Namespaces to be Current before the next stage.
  waitTimeoutMs?: number;
  pollIntervalMs?: number;
}

export type ResolvedApplyOptions = Required<ApplyOptions>;

export function applyOptionsWithDefaults(options: ApplyOptions): ResolvedApplyOptions {
  const resolved: ResolvedApplyOptions = {
    fleet: options.fleet,
    fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER,
    force: options.force ?? true,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    waitTimeoutMs: options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS,
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
  };
  if (!isLabelValue(resolved.fleet) || resolved.fleet === '') {
    throw new Error(
      `fleet name "${resolved.fleet}" cannot be a label value (${FLEET_LABEL}): use at most 63 letters, ` +
        'digits, "-", "_" or ".", starting and ending with a letter or digit',
    );
  }
  if (!Number.isInteger(resolved.concurrency) || resolved.concurrency < 1) {
    throw new Error(`concurrency must be a positive integer, got ${resolved.concurrency}`);
  }
  return resolved;
}

// ---- pure helpers (unit-tested in apply.test.ts) ------------------------------------------

// Server-maintained metadata a manifest must not carry into an apply: a resourceVersion
// would turn the apply into a compare-and-swap against an old version (a manifest exported
// with `kubectl get -o yaml` has one), and the others are refused or ignored.
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'selfLink',
];

// What the agent applies for a manifest: server fields removed, the namespace as kubectl
// would have it (`default` for a namespaced object without one, none for a cluster-scoped
// object), and the fleet label. `namespaced` undefined means unknown: left as written. The
// inventory keys on the result, so this must run before any ref is taken.
export function normalizeForApply(
  obj: KubeObject,
  options: { fleet: string; namespaced: boolean | undefined },
): KubeObject {
  const copy = structuredClone(obj);
  const meta = copy.metadata;
  for (const field of SERVER_METADATA) delete meta[field];
  if (options.namespaced === true && !meta.namespace) meta.namespace = 'default';
  if (options.namespaced === false) delete meta.namespace;
  meta.labels = { ...meta.labels, [FLEET_LABEL]: options.fleet };
  return copy;
}

// The part of a live (or dry-run) object that says what it is, not when and by whom it was
// written: what apply compares.
export function comparableObject(obj: KubeObject): KubeObject {
  const { status: _status, ...rest } = obj;
  const metadata = { ...obj.metadata };
  for (const field of ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid']) {
    delete metadata[field];
  }
  return { ...rest, metadata } as KubeObject;
}

export function sameComparable(a: KubeObject, b: KubeObject): boolean {
  return isDeepStrictEqual(comparableObject(a), comparableObject(b));
}

// The fields that differ between the live object and what apply would make of it, from the
// cluster's point of view: `spec.replicas changed`, `metadata.labels.team removed` (we set it,
// it is gone), `spec.paused added` (the cluster has it, apply would remove it). Values are
// left out: they may be secrets. At most `limit` paths, then `and N more`.
export function changedPaths(live: KubeObject, desired: KubeObject, limit = 20): string[] {
  const out = changedFields(live, desired).map((c) => `${formatPath(c.path)} ${c.change}`);
  if (out.length <= limit) return out;
  return [...out.slice(0, limit), `and ${out.length - limit} more`];
}

/** A field that differs: its path (object keys and list indexes) and how, from the cluster's side. */
export type ChangedField = { path: (string | number)[]; change: 'changed' | 'added' | 'removed' };

export function changedFields(live: KubeObject, desired: KubeObject): ChangedField[] {
  const out: ChangedField[] = [];
  walk(comparableObject(live), comparableObject(desired), [], out);
  return out;
}

function walk(live: unknown, desired: unknown, path: (string | number)[], out: ChangedField[]): void {
  if (isDeepStrictEqual(live, desired)) return;
  if (live === undefined) {
    out.push({ path, change: 'removed' });
    return;
  }
  if (desired === undefined) {
    out.push({ path, change: 'added' });
    return;
  }
  if (Array.isArray(live) && Array.isArray(desired) && live.length === desired.length) {
    live.forEach((item, i) => {
      walk(item, desired[i], [...path, i], out);
    });
    return;
  }
  if (isPlainObject(live) && isPlainObject(desired)) {
    const keys = [...new Set([...Object.keys(live), ...Object.keys(desired)])].sort();
    for (const key of keys) walk(live[key], desired[key], [...path, key], out);
    return;
  }
  out.push({ path, change: 'changed' });
}

function formatPath(path: (string | number)[]): string {
  if (path.length === 0) return '(object)';
  return path.reduce<string>(
    (text, seg) => (typeof seg === 'number' ? `${text}[${seg}]` : joinPath(text, seg)),
    '',
  );
}

function joinPath(path: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// sha256 of the object with its keys sorted, and of how it is applied: the same manifest
// applied by another field manager or with another force setting is a different apply.
export function applyDigest(obj: KubeObject, how: { fieldManager: string; force: boolean }): string {
  return createHash('sha256')
    .update(canonicalJson([how.fieldManager, how.force, obj]))
    .digest('hex');
}

// Scope of the custom kinds a bundle defines itself, `group/kind` → namespaced, for objects
// whose CRD is applied in the same bundle, before discovery can know them.
export function bundleCrdScopes(objects: readonly KubeObject[]): Map<string, boolean> {
  const scopes = new Map<string, boolean>();
  for (const obj of objects) {
    if (
      obj.kind !== 'CustomResourceDefinition' ||
      splitApiVersion(obj.apiVersion).group !== 'apiextensions.k8s.io'
    )
      continue;
    const spec = obj.spec as { group?: unknown; names?: { kind?: unknown }; scope?: unknown } | undefined;
    if (typeof spec?.group === 'string' && typeof spec.names?.kind === 'string') {
      scopes.set(`${spec.group}/${spec.names.kind}`, spec.scope !== 'Cluster');
    }
  }
  return scopes;
}

// Label values: at most 63 characters, alphanumerics, '-', '_' and '.', alphanumeric at both ends.
export function isLabelValue(value: string): boolean {
  return value === '' || /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value);
}

// ---- the verified cache --------------------------------------------------------------------

// refKey → what was verified: this desired digest matched the live object at this version.
// An entry expires after at most `ttlMs` (default 10 min), because applying is not purely a
// function of the manifest and the live object: a mutating webhook or a CRD's defaults that
// changed since would make the same apply give another result. Expiry bounds how long that
// goes unnoticed, at the price of one dry-run per object per period. Each object's lifetime
// is between half and all of `ttlMs`, spread by its key: objects verified together (a whole
// fleet, by one apply) are then checked again a few at a time over several drift checks, not
// all in one that holds every live object at once.
export class VerifiedObjects {
  readonly ttlMs: number;
  readonly #entries = new Map<string, { digest: string; resourceVersion: string; expiresAt: number }>();

  constructor(options: { ttlMs?: number } = {}) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
  }

  has(key: string, digest: string, resourceVersion: string | undefined, now = Date.now()): boolean {
    const entry = this.#entries.get(key);
    return (
      entry !== undefined &&
      entry.digest === digest &&
      entry.resourceVersion === resourceVersion &&
      now < entry.expiresAt
    );
  }

  record(key: string, digest: string, resourceVersion: string | undefined, now = Date.now()): void {
    if (resourceVersion) {
      this.#entries.set(key, { digest, resourceVersion, expiresAt: now + this.lifetimeMs(key) });
    } else {
      this.#entries.delete(key);
    }
  }

  // Between ttlMs/2 and ttlMs, the same for a key every time (FNV-1a of the key, mixed with
  // murmur3's finalizer: keys that differ only in their last characters spread evenly too).
  lifetimeMs(key: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
    hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
    hash ^= hash >>> 16;
    return Math.floor(this.ttlMs * (0.5 + (hash >>> 0) / 2 ** 33));
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  // All objects of an API group (refKeys start with it): after its CRD changed, applying an
  // unchanged custom resource may give another result (new defaults, pruned fields).
  forgetGroup(group: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(`${group}/`)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

// ---- the bundle, prepared ------------------------------------------------------------------

export interface DesiredObject {
  obj: KubeObject;
  ref: ObjectRef;
  key: string;
  digest: string;
}

export interface PreparedBundle {
  // In apply order, by stage.
  stages: { name: ApplyStageName; waitForCurrent: boolean; objects: DesiredObject[] }[];
  // Objects that appear more than once: all but the first fail.
  duplicates: ChangeSetEntry[];
}

// `group/kind` → how this apply wrote the CRD that defines the kind.
export type WrittenKinds = Map<string, 'created' | 'configured'>;

// What the live objects are, from one LIST per resource.
export interface LiveObjects {
  // refKey → the live object carrying our fleet label, when the verified cache could not vouch
  // for it: the objects an apply or a drift check compares with a dry-run.
  found: Map<string, KubeObject>;
  // refKeys of live objects the verified cache vouched for as they were listed (same desired
  // digest, same resourceVersion): unchanged, and not kept, so a check of a thousand verified
  // objects holds one LIST page at a time rather than every object.
  verified: Set<string>;
  // refKeys whose resource was listed: neither found nor verified means absent, or there
  // without our label. The others (kind not served yet, LIST failed) are read one by one.
  listed: Set<string>;
}

export interface ApplierOptions {
  // How long a verified object is trusted without a dry-run (see VerifiedObjects).
  verifiedTtlMs?: number;
}

export class Applier {
  readonly client: KubeClient;
  readonly verified: VerifiedObjects;

  constructor(client: KubeClient, options: ApplierOptions = {}) {
    this.client = client;
    this.verified = new VerifiedObjects(
      options.verifiedTtlMs === undefined ? {} : { ttlMs: options.verifiedTtlMs },
    );
  }

  async apply(objects: readonly KubeObject[], options: ApplyOptions): Promise<ChangeSet> {
    const opts = applyOptionsWithDefaults(options);
    const bundle = await this.prepare(objects, opts);
    const entries: ChangeSetEntry[] = [];
    // The live objects of every stage are listed at once, before anything is written: see
    // loadLive.
    const all = bundle.stages.flatMap((stage) => stage.objects);
    const live = await this.loadLive(all, await this.resolve(all), opts);
    // Custom kinds whose CRD this apply created or changed.
    const written: WrittenKinds = new Map();
    for (const stage of bundle.stages) {
      const stageEntries = await this.#applyStage(stage.objects, live, opts, written);
      if (stage.waitForCurrent) await this.#waitForDefinitions(stage.objects, stageEntries, opts, written);
      entries.push(...stageEntries);
    }
    entries.push(...bundle.duplicates);
    return { entries };
  }

  // Normalizes, digests and sorts the bundle. Discovery answers for every apiVersion and kind
  // in it are fetched here (one request per group/version the agent has not seen yet).
  async prepare(objects: readonly KubeObject[], opts: ResolvedApplyOptions): Promise<PreparedBundle> {
    for (const obj of objects) {
      if (!isKubeObject(obj)) {
        throw new TypeError(
          `bundle holds something that is not a Kubernetes object (needs apiVersion, kind and metadata.name): ${JSON.stringify(obj)?.slice(0, 200)}`,
        );
      }
    }
    const kinds = new Map<string, { group: string; version: string; kind: string }>();
    for (const obj of objects) {
      const { group, version } = splitApiVersion(obj.apiVersion);
      kinds.set(`${obj.apiVersion}/${obj.kind}`, { group, version, kind: obj.kind });
    }
    // A failed discovery request leaves the kind unknown here; applying the object then
    // fails with the reason.
    await Promise.all(
      [...kinds.values()].map((k) =>
        this.client.resourceFor(k.group, k.version, k.kind).catch(() => undefined),
      ),
    );
    const crdScopes = bundleCrdScopes(objects);
    const isNamespaced = (ref: Pick<ObjectRef, 'group' | 'version' | 'kind'>): boolean | undefined =>
      this.client.cachedResource(ref.group, ref.version, ref.kind)?.namespaced ??
      crdScopes.get(`${ref.group}/${ref.kind}`);

    const seen = new Set<string>();
    const unique: KubeObject[] = [];
    const duplicates: ChangeSetEntry[] = [];
    for (const obj of objects) {
      const { group, version } = splitApiVersion(obj.apiVersion);
      const normalized = normalizeForApply(obj, {
        fleet: opts.fleet,
        namespaced: isNamespaced({ group, version, kind: obj.kind }),
      });
      const ref = refOf(normalized);
      const key = refKey(ref);
      if (seen.has(key)) {
        duplicates.push(
          changeEntry(ref, 'failed', {
            reason: 'Duplicate',
            message: `${formatRef(ref)} is in the bundle more than once; the first one is applied: remove the others from Git`,
          }),
        );
        continue;
      }
      seen.add(key);
      unique.push(normalized);
    }
    const how = { fieldManager: opts.fieldManager, force: opts.force };
    const stages = sortForApply(unique, { isNamespaced }).map((stage) => ({
      name: stage.name,
      waitForCurrent: stage.waitForCurrent,
      objects: stage.objects.map((obj): DesiredObject => {
        const ref = refOf(obj);
        return { obj, ref, key: refKey(ref), digest: applyDigest(obj, how) };
      }),
    }));
    return { stages, duplicates };
  }

  // The resource serving each object (undefined: not served), looked up again now, since a
  // CRD applied by an earlier stage may serve it by now.
  async resolve(objects: readonly DesiredObject[]): Promise<Map<string, ResourceInfo | undefined>> {
    const resources = new Map<string, ResourceInfo | undefined>();
    const lookups = new Map<string, Promise<ResourceInfo | undefined>>();
    for (const d of objects) {
      const id = `${d.ref.group}/${d.ref.version}/${d.ref.kind}`;
      let lookup = lookups.get(id);
      if (!lookup) {
        lookup = this.client.resourceFor(d.ref.group, d.ref.version, d.ref.kind).catch(() => undefined);
        lookups.set(id, lookup);
      }
      resources.set(d.key, await lookup);
    }
    return resources;
  }

  // The live objects with our fleet label: one LIST per resource, across namespaces, all at
  // once. Whatever the bundle's size, a warm apply waits for one round of LISTs: a LIST is a
  // consistent read, which the API server may hold until its watch cache has caught up with
  // etcd (tens of milliseconds right after writes; a second and more for the custom
  // resources of a CRD that was just created or changed, whose cache is being rebuilt, which
  // is why this runs before the definitions stage writes). A snapshot from before the
  // apply is what it should compare against anyway: a change made while the apply runs is
  // concurrent with it, and the next apply or drift check sees it by its resourceVersion.
  async loadLive(
    objects: readonly DesiredObject[],
    resources: Map<string, ResourceInfo | undefined>,
    opts: Pick<ResolvedApplyOptions, 'fleet' | 'concurrency'>,
  ): Promise<LiveObjects> {
    const lists = new Map<string, { info: ResourceInfo; keys: string[] }>();
    const digests = new Map<string, string>();
    for (const d of objects) {
      const info = resources.get(d.key);
      if (!info) continue;
      digests.set(d.key, d.digest);
      const id = `${info.group}/${info.version}/${info.plural}`;
      const list = lists.get(id) ?? { info, keys: [] };
      list.keys.push(d.key);
      lists.set(id, list);
    }
    const live: LiveObjects = { found: new Map(), verified: new Set(), listed: new Set() };
    await mapConcurrent([...lists.values()], opts.concurrency, async (list) => {
      try {
        await this.client.forEachListed(
          list.info,
          { labelSelector: `${FLEET_LABEL}=${opts.fleet}` },
          (item) => {
            const key = refKey(refOf(item));
            const digest = digests.get(key);
            // Not desired (on its way to being pruned): nothing here compares it.
            if (digest === undefined) return;
            if (this.verified.has(key, digest, item.metadata.resourceVersion)) live.verified.add(key);
            else live.found.set(key, item);
          },
        );
        for (const key of list.keys) live.listed.add(key);
      } catch {
        // Not allowed to list across namespaces, say: these objects are read one by one.
      }
    });
    return live;
  }

  async #applyStage(
    objects: readonly DesiredObject[],
    live: LiveObjects,
    opts: ResolvedApplyOptions,
    written: WrittenKinds,
  ): Promise<ChangeSetEntry[]> {
    // Again: a CRD applied by an earlier stage may serve some of these kinds by now.
    const resources = await this.resolve(objects);
    return mapConcurrent(objects, opts.concurrency, async (d) => {
      try {
        return await this.#applyOne(d, resources.get(d.key), live, opts, written);
      } catch (err) {
        this.verified.forget(d.key);
        return failedEntry(asApplyError(d.ref, err));
      }
    });
  }

  async #applyOne(
    d: DesiredObject,
    info: ResourceInfo | undefined,
    live: LiveObjects,
    opts: ResolvedApplyOptions,
    written: WrittenKinds,
  ): Promise<ChangeSetEntry> {
    if (!info) throw fromApiStatus(d.ref, 404, '404 page not found');
    if (live.verified.has(d.key)) return changeEntry(d.ref, 'unchanged');
    const how = { fieldManager: opts.fieldManager, force: opts.force };
    let current = live.found.get(d.key);
    // Not listed: its kind was not served yet, or the LIST failed. Objects of a CRD this
    // apply created cannot exist yet; the others are read.
    if (
      current === undefined &&
      !live.listed.has(d.key) &&
      written.get(`${d.ref.group}/${d.ref.kind}`) !== 'created'
    ) {
      current = await this.client.get(d.ref);
    }
    if (current !== undefined) {
      const rv = current.metadata.resourceVersion;
      if (this.verified.has(d.key, d.digest, rv)) return changeEntry(d.ref, 'unchanged');
      const dryRun = await this.client.apply(d.obj, d.ref, info, { ...how, dryRun: true });
      if (sameComparable(dryRun.object, current)) {
        this.verified.record(d.key, d.digest, rv);
        return changeEntry(d.ref, 'unchanged');
      }
    }
    const applied = await this.client.apply(d.obj, d.ref, info, how);
    this.verified.record(d.key, d.digest, applied.object.metadata.resourceVersion);
    return changeEntry(d.ref, applied.created ? 'created' : 'configured');
  }

  // Definitions that were written are waited for: CRDs until Established and served by
  // discovery, Namespaces until Active. Unchanged ones were Current when they were written,
  // and a warm apply should not pay a GET for each.
  async #waitForDefinitions(
    objects: readonly DesiredObject[],
    entries: ChangeSetEntry[],
    opts: ResolvedApplyOptions,
    writtenKinds: WrittenKinds,
  ): Promise<void> {
    const written = objects
      .map((d, i) => ({ d, i }))
      .filter(({ i }) => entries[i]?.action === 'created' || entries[i]?.action === 'configured');
    if (written.length === 0) return;
    const deadline = Date.now() + opts.waitTimeoutMs;
    const results = await waitForCurrent(
      this.client,
      written.map(({ d }) => d.ref),
      { timeoutMs: opts.waitTimeoutMs, pollIntervalMs: opts.pollIntervalMs, concurrency: opts.concurrency },
    );
    await Promise.all(
      written.map(async ({ d, i }, n) => {
        const crd = d.ref.kind === 'CustomResourceDefinition' ? crdServes(d.obj) : undefined;
        if (crd) {
          writtenKinds.set(
            `${crd.group}/${crd.kind}`,
            entries[i]?.action === 'created' ? 'created' : 'configured',
          );
        }
        const error = results[n]?.error;
        if (error) {
          entries[i] = failedEntry(error);
          return;
        }
        if (!crd) return;
        this.client.invalidateDiscovery(crd.group);
        this.verified.forgetGroup(crd.group);
        const missing = await this.#waitForDiscovery(crd, deadline, opts.pollIntervalMs);
        if (missing.length > 0) {
          entries[i] = failedEntry(
            new ApplyError({
              ref: d.ref,
              code: 'WaitTimeout',
              message:
                `${formatRef(d.ref)} is established but the API server does not serve ` +
                `${missing.join(', ')} after ${Math.round(opts.waitTimeoutMs / 1000)}s`,
            }),
          );
        }
      }),
    );
  }

  // Established is set before the discovery document lists the new kind; custom resources
  // applied in between would fail with KindNotServed. Returns the versions still missing.
  async #waitForDiscovery(
    crd: { group: string; kind: string; versions: string[] },
    deadline: number,
    pollIntervalMs: number,
  ): Promise<string[]> {
    let delay = 50;
    for (;;) {
      const missing: string[] = [];
      for (const version of crd.versions) {
        const info = await this.client.resourceFor(crd.group, version, crd.kind).catch(() => undefined);
        if (!info) missing.push(`${crd.kind} in ${crd.group}/${version}`);
      }
      if (missing.length === 0 || Date.now() >= deadline) return missing;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, pollIntervalMs);
      for (const version of crd.versions) {
        if (!this.client.cachedResource(crd.group, version, crd.kind))
          this.client.invalidateDiscovery(crd.group);
      }
    }
  }
}

// The group, kind and served versions a CRD manifest declares.
function crdServes(obj: KubeObject): { group: string; kind: string; versions: string[] } | undefined {
  const spec = obj.spec as
    | { group?: unknown; names?: { kind?: unknown }; versions?: { name?: unknown; served?: unknown }[] }
    | undefined;
  if (typeof spec?.group !== 'string' || typeof spec.names?.kind !== 'string') return undefined;
  const versions = (spec.versions ?? [])
    .filter((v) => v.served !== false && typeof v.name === 'string')
    .map((v) => v.name as string);
  return { group: spec.group, kind: spec.names.kind, versions };
}

// Anything thrown while applying one object, as an ApplyError about it.
export function asApplyError(ref: ObjectRef, err: unknown): ApplyError {
  if (isApplyError(err)) return err;
  return new ApplyError({
    ref,
    code: 'ApplyFailed',
    message: `${formatRef(ref)}: apply failed: ${(err as Error)?.message ?? String(err)}`,
  });
}
