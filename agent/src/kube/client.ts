// The agent's connection to its cluster's API server: discovery with a cache, and raw JSON
// requests over one keep-alive agent. Where the server is and how to authenticate comes from
// kubeconfig.ts (a kubeconfig file or the Pod's ServiceAccount).
//
// Requests are made here with node:https rather than through a generated client, because an
// applier needs the API server's JSON as it is (generated models turn timestamps into Dates
// and drop fields they do not know: newer API fields, anything in a custom resource), the
// HTTP status (server-side apply answers 201 when it created the object), and one pool of
// kept-alive TLS connections for a thousand requests.
// Discovery is cached per group/version; a kind that is missing is looked up again (at most
// once per `discoveryRefreshMs`, concurrent lookups sharing one request), and the applier
// invalidates a group when it has just applied a CustomResourceDefinition of it.

import type http from 'node:http';
import type https from 'node:https';
import { ApplyError, fromApiStatus } from '../apply/errors.ts';
import type { KubeObject, ObjectRef } from '../objects.ts';
import { formatRef } from '../objects.ts';
import {
  type ClusterAccess,
  type CredentialReader,
  credentialReader,
  type KubeConfigSource,
  loadKubeConfig,
} from './kubeconfig.ts';

export { type ClusterAccess, type KubeConfigSource, loadKubeConfig } from './kubeconfig.ts';

// Not ES imports: importing node:http reads its lazy WebSocket export, which loads Node's
// bundled undici (~13 MiB of resident memory) for nothing; see probes.ts.
const nodeHttp = process.getBuiltinModule('node:http');
const nodeHttps = process.getBuiltinModule('node:https');

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface KubeRequest {
  method: HttpMethod;
  // Absolute API path, e.g. `/apis/apps/v1/namespaces/shop/deployments/web`.
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  // Sent as JSON (JSON is YAML too, so it serves application/apply-patch+yaml as well).
  body?: unknown;
  contentType?: string;
  accept?: string;
}

export interface KubeResponse {
  status: number;
  // Parsed JSON when the server sent JSON, the text otherwise ('404 page not found').
  body: unknown;
}

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  // The resource's path segment, e.g. `deployments`.
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

export interface KubeClientOptions {
  // Sockets kept open to the API server (default 32); the applier's parallelism is lower.
  maxSockets?: number;
  // Per request (default 30 s).
  requestTimeoutMs?: number;
  // A missing kind or group/version is asked again at most this often (default 2 s).
  discoveryRefreshMs?: number;
  // Retries of throttled (429), unavailable (503) and dropped requests (default 3).
  maxRetries?: number;
  userAgent?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  // The object errors name (default: the whole collection).
  about?: ObjectRef;
}

// Objects per LIST request. A page is read whole and parsed at once: 100 Deployments with
// their managedFields and status are ~0.5 MB of JSON, so a smaller page keeps what a check
// of a thousand objects holds at any moment small, for a few more requests.
const LIST_PAGE_SIZE = 100;

interface GroupVersionEntry {
  fetchedAt: number;
  // undefined: the API server does not serve this group/version.
  resources: Map<string, ResourceInfo> | undefined;
}

interface Connection {
  createdAt: number;
  agent: http.Agent;
  headers: Record<string, string>;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

// Authentication material is read again this often, so rotated tokens and certificates are
// picked up (projected ServiceAccount tokens are refreshed by the kubelet well before expiry).
const AUTH_REFRESH_MS = 60_000;

export class KubeClient {
  readonly access: ClusterAccess;
  readonly server: string;
  readonly #credentials: CredentialReader;
  readonly #options: Required<KubeClientOptions>;
  #connection: Promise<Connection> | undefined;
  readonly #groupVersions = new Map<string, GroupVersionEntry>();
  readonly #pendingGroupVersions = new Map<string, Promise<GroupVersionEntry>>();
  #preferred: { fetchedAt: number; versions: Map<string, string> } | undefined;
  #pendingPreferred: Promise<Map<string, string>> | undefined;

  constructor(access: ClusterAccess, options: KubeClientOptions = {}) {
    this.access = access;
    this.server = access.server;
    this.#credentials = credentialReader(access);
    this.#options = {
      maxSockets: options.maxSockets ?? 32,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      discoveryRefreshMs: options.discoveryRefreshMs ?? 2_000,
      maxRetries: options.maxRetries ?? 3,
      userAgent: options.userAgent ?? 'gitfleet-agent',
    };
  }

  static fromSource(source: KubeConfigSource = {}, options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(loadKubeConfig(source), options);
  }

  // Closes the kept-alive sockets, so a process can exit.
  close(): void {
    const connection = this.#connection;
    this.#connection = undefined;
    void connection?.then((c) => c.agent.destroy()).catch(() => {});
  }

  // ---- raw requests ------------------------------------------------------------------------

  // Never throws for an HTTP status; throws for a request that got no answer, after retries.
  async request(req: KubeRequest): Promise<KubeResponse> {
    let attempt = 0;
    let refreshAuth = false;
    for (;;) {
      let response: KubeResponse;
      try {
        response = await this.#send(req, await this.#connect(refreshAuth));
      } catch (err) {
        // A kept-alive socket the server closed in the meantime fails the first write; the
        // request never reached the server, so sending it again is safe for every verb.
        if (attempt < this.#options.maxRetries && isRetryableNetworkError(err)) {
          attempt += 1;
          await sleep(backoffMs(attempt));
          continue;
        }
        throw err;
      }
      if (response.status === 401 && attempt === 0) {
        // A token that expired since it was read: read it again, once.
        refreshAuth = true;
        attempt += 1;
        continue;
      }
      if ((response.status === 429 || response.status === 503) && attempt < this.#options.maxRetries) {
        attempt += 1;
        await sleep(retryAfterMs(response.body) ?? backoffMs(attempt));
        continue;
      }
      return response;
    }
  }

  async #connect(refresh: boolean): Promise<Connection> {
    const seen = this.#connection;
    const current = seen ? await seen.catch(() => undefined) : undefined;
    if (current && !refresh && Date.now() - current.createdAt < AUTH_REFRESH_MS) return current;
    // Another request renewed it while this one waited: use theirs rather than renew twice.
    if (this.#connection !== seen && this.#connection) return this.#connect(false);
    const pending = this.#makeConnection(current, refresh);
    this.#connection = pending;
    try {
      return await pending;
    } catch (err) {
      if (this.#connection === pending) this.#connection = undefined;
      throw err;
    }
  }

  async #makeConnection(previous: Connection | undefined, refresh: boolean): Promise<Connection> {
    const { authorization, ...tls } = await this.#credentials(refresh);
    const headers: Record<string, string> = { 'User-Agent': this.#options.userAgent };
    if (authorization) headers.Authorization = authorization;
    if (previous && sameTls(previous.tls, tls)) {
      return { createdAt: Date.now(), agent: previous.agent, headers, tls };
    }
    previous?.agent.destroy();
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      maxSockets: this.#options.maxSockets,
      ...tls,
      rejectUnauthorized: !this.access.insecureSkipTlsVerify,
    };
    if (this.access.tlsServerName) agentOptions.servername = this.access.tlsServerName;
    const agent = this.server.startsWith('http:')
      ? new nodeHttp.Agent(agentOptions)
      : new nodeHttps.Agent(agentOptions);
    return { createdAt: Date.now(), agent, headers, tls };
  }

  #send(req: KubeRequest, connection: Connection): Promise<KubeResponse> {
    const url = new URL(this.server + req.path);
    for (const [name, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = {
      ...connection.headers,
      Accept: req.accept ?? 'application/json',
    };
    if (payload) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const transport = url.protocol === 'http:' ? nodeHttp : nodeHttps;
    return new Promise<KubeResponse>((resolve, reject) => {
      const request = transport.request(
        url,
        { method: req.method, agent: connection.agent, headers, timeout: this.#options.requestTimeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const isJson = /json/.test(res.headers['content-type'] ?? '');
            let body: unknown = text;
            if (isJson && text !== '') {
              try {
                body = JSON.parse(text);
              } catch {
                body = text;
              }
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      request.on('timeout', () => {
        request.destroy(
          new Error(
            `${req.method} ${url.pathname}: no answer from ${this.server} in ${this.#options.requestTimeoutMs} ms`,
          ),
        );
      });
      request.on('error', reject);
      request.end(payload);
    });
  }

  // ---- discovery ---------------------------------------------------------------------------

  // The resource serving `kind` in exactly this group/version, or undefined when the API
  // server does not serve it there (a CRD not installed yet, a removed API version).
  async resourceFor(group: string, version: string, kind: string): Promise<ResourceInfo | undefined> {
    const key = groupVersion(group, version);
    let entry = this.#groupVersions.get(key);
    const stale = (e: GroupVersionEntry) => Date.now() - e.fetchedAt >= this.#options.discoveryRefreshMs;
    if (!entry || (!entry.resources?.has(kind) && stale(entry))) {
      entry = await this.#fetchGroupVersion(group, version);
    }
    return entry.resources?.get(kind);
  }

  // What is already known, without asking the server: for sortForApply's IsNamespaced.
  cachedResource(group: string, version: string, kind: string): ResourceInfo | undefined {
    return this.#groupVersions.get(groupVersion(group, version))?.resources?.get(kind);
  }

  // For refs from an inventory: the version they were applied with, or (when it is empty or
  // no longer served, e.g. a CRD dropped a version) the group's preferred version.
  async resourceForRef(
    ref: Pick<ObjectRef, 'group' | 'version' | 'kind'>,
  ): Promise<ResourceInfo | undefined> {
    if (ref.version !== '') {
      const exact = await this.resourceFor(ref.group, ref.version, ref.kind);
      if (exact) return exact;
    }
    const preferred = await this.preferredVersion(ref.group);
    if (preferred === undefined || preferred === ref.version) return undefined;
    return this.resourceFor(ref.group, preferred, ref.kind);
  }

  // The group's preferred version ('v1' for the core group), undefined when not served.
  async preferredVersion(group: string): Promise<string | undefined> {
    if (group === '') return 'v1';
    const cached = this.#preferred;
    if (
      cached &&
      (cached.versions.has(group) || Date.now() - cached.fetchedAt < this.#options.discoveryRefreshMs)
    ) {
      return cached.versions.get(group);
    }
    this.#pendingPreferred ??= (async () => {
      try {
        const res = await this.request({ method: 'GET', path: '/apis' });
        if (res.status !== 200) throw discoveryError('/apis', res);
        const versions = new Map<string, string>();
        for (const g of (res.body as { groups?: APIGroup[] }).groups ?? []) {
          const v = g.preferredVersion?.version ?? g.versions?.[0]?.version;
          if (v) versions.set(g.name, v);
        }
        this.#preferred = { fetchedAt: Date.now(), versions };
        return versions;
      } finally {
        this.#pendingPreferred = undefined;
      }
    })();
    return (await this.#pendingPreferred).get(group);
  }

  // Forget what discovery said about a group (all groups without an argument): called after
  // a CustomResourceDefinition of it was applied or deleted.
  invalidateDiscovery(group?: string): void {
    for (const key of [...this.#groupVersions.keys()]) {
      if (group === undefined || groupOf(key) === group) this.#groupVersions.delete(key);
    }
    this.#preferred = undefined;
  }

  #fetchGroupVersion(group: string, version: string): Promise<GroupVersionEntry> {
    const key = groupVersion(group, version);
    const pending = this.#pendingGroupVersions.get(key);
    if (pending) return pending;
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const fetching = (async () => {
      try {
        const res = await this.request({ method: 'GET', path });
        let resources: Map<string, ResourceInfo> | undefined;
        if (res.status === 200) {
          resources = new Map();
          for (const r of (res.body as { resources?: APIResource[] }).resources ?? []) {
            // Subresources (`deployments/scale`) share the kind of their parent.
            if (r.name.includes('/')) continue;
            resources.set(r.kind, {
              group,
              version,
              kind: r.kind,
              plural: r.name,
              namespaced: r.namespaced,
              verbs: r.verbs ?? [],
            });
          }
        } else if (res.status !== 404) {
          throw discoveryError(path, res);
        }
        const entry = { fetchedAt: Date.now(), resources };
        this.#groupVersions.set(key, entry);
        return entry;
      } finally {
        this.#pendingGroupVersions.delete(key);
      }
    })();
    this.#pendingGroupVersions.set(key, fetching);
    return fetching;
  }

  // ---- objects -----------------------------------------------------------------------------

  // The resource for an object's apiVersion and kind; throws KindNotServed, naming the object.
  async requireResource(ref: ObjectRef, options: { anyVersion?: boolean } = {}): Promise<ResourceInfo> {
    const info = options.anyVersion
      ? await this.resourceForRef(ref)
      : await this.resourceFor(ref.group, ref.version, ref.kind);
    if (!info) throw fromApiStatus(ref, 404, '404 page not found');
    return info;
  }

  // The object as the API server has it now, or undefined when it does not exist. A kind the
  // server does not serve throws KindNotServed: callers decide whether that means "gone".
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const info = await this.requireResource(ref, { anyVersion: true });
    const res = await this.#call(ref, { method: 'GET', path: objectPath(info, ref.namespace, ref.name) });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw fromApiStatus(ref, res.status, res.body);
    return res.body as KubeObject;
  }

  // Server-side apply. `created` is true when the server created the object (HTTP 201).
  async apply(
    obj: KubeObject,
    ref: ObjectRef,
    info: ResourceInfo,
    options: { fieldManager: string; force: boolean; dryRun?: boolean },
  ): Promise<{ object: KubeObject; created: boolean }> {
    const res = await this.#call(ref, {
      method: 'PATCH',
      path: objectPath(info, ref.namespace, ref.name),
      query: {
        fieldManager: options.fieldManager,
        force: options.force ? true : undefined,
        dryRun: options.dryRun ? 'All' : undefined,
      },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
    if (res.status !== 200 && res.status !== 201) throw fromApiStatus(ref, res.status, res.body);
    return { object: res.body as KubeObject, created: res.status === 201 };
  }

  // Returns false when the object was already gone.
  async delete(
    ref: ObjectRef,
    info: ResourceInfo,
    options: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; uid?: string } = {},
  ): Promise<boolean> {
    const body: Record<string, unknown> = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: options.propagationPolicy ?? 'Background',
    };
    // Deletes the object that was read, not one re-created under its name in the meantime.
    if (options.uid) body.preconditions = { uid: options.uid };
    const res = await this.#call(ref, {
      method: 'DELETE',
      path: objectPath(info, ref.namespace, ref.name),
      body,
    });
    if (res.status === 404) return false;
    if (res.status !== 200 && res.status !== 202) throw fromApiStatus(ref, res.status, res.body);
    return true;
  }

  // Every object of a resource (in one namespace, or all for '' / cluster-scoped), page by
  // page. Throws the API server's answer as an ApplyError about `about`.
  async list(info: ResourceInfo, options: ListOptions = {}): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    await this.forEachListed(info, options, (item) => {
      items.push(item);
    });
    return items;
  }

  // The same, handing each object to `visit` as its page arrives, so a caller that keeps
  // little of each (the applier keeps resourceVersions) holds one page at a time, not all.
  async forEachListed(
    info: ResourceInfo,
    options: ListOptions,
    visit: (item: KubeObject) => void,
  ): Promise<void> {
    const about: ObjectRef = options.about ?? {
      group: info.group,
      version: info.version,
      kind: info.kind,
      namespace: options.namespace ?? '',
      name: `(all ${info.plural})`,
    };
    const apiVersion = groupVersion(info.group, info.version);
    let continueToken: string | undefined;
    do {
      const res = await this.#call(about, {
        method: 'GET',
        path: collectionPath(info, info.namespaced ? (options.namespace ?? '') : ''),
        query: { labelSelector: options.labelSelector, limit: LIST_PAGE_SIZE, continue: continueToken },
      });
      if (res.status !== 200) throw fromApiStatus(about, res.status, res.body);
      const page = res.body as { items?: KubeObject[]; metadata?: { continue?: string } };
      // List items carry no apiVersion and kind; callers compare them with full objects.
      for (const item of page.items ?? []) {
        item.apiVersion = apiVersion;
        item.kind = info.kind;
        visit(item);
      }
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
  }

  // A request about one object: a request that got no answer becomes a Transient ApplyError
  // naming it, like the API server's own refusals.
  async #call(ref: ObjectRef, req: KubeRequest): Promise<KubeResponse> {
    try {
      return await this.request(req);
    } catch (err) {
      throw new ApplyError({
        ref,
        code: 'Transient',
        retryable: true,
        message: `${formatRef(ref)}: could not reach the API server at ${this.server}, will retry: ${(err as Error).message}`,
      });
    }
  }
}

interface APIResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
}

interface APIGroup {
  name: string;
  versions?: { version: string }[];
  preferredVersion?: { version: string };
}

export function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

function groupOf(gv: string): string {
  const slash = gv.indexOf('/');
  return slash === -1 ? '' : gv.slice(0, slash);
}

export function collectionPath(
  info: Pick<ResourceInfo, 'group' | 'version' | 'plural'>,
  namespace: string,
): string {
  const root = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  const ns = namespace === '' ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${root}${ns}/${info.plural}`;
}

export function objectPath(
  info: Pick<ResourceInfo, 'group' | 'version' | 'plural' | 'namespaced'>,
  namespace: string,
  name: string,
): string {
  return `${collectionPath(info, info.namespaced ? namespace : '')}/${encodeURIComponent(name)}`;
}

// Runs `fn` over `items` with at most `limit` calls in flight; results in input order.
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function discoveryError(path: string, res: KubeResponse): Error {
  const detail = typeof res.body === 'string' ? res.body : JSON.stringify(res.body)?.slice(0, 300);
  return new Error(`discovery GET ${path} failed with HTTP ${res.status}: ${detail}`);
}

function sameTls(a: Connection['tls'], b: Connection['tls']): boolean {
  const eq = (x?: Buffer, y?: Buffer) => (x === undefined ? y === undefined : y !== undefined && x.equals(y));
  return eq(a.ca, b.ca) && eq(a.cert, b.cert) && eq(a.key, b.key);
}

function isRetryableNetworkError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNREFUSED';
}

function retryAfterMs(body: unknown): number | undefined {
  const seconds = (body as { details?: { retryAfterSeconds?: number } } | undefined)?.details
    ?.retryAfterSeconds;
  return typeof seconds === 'number' ? Math.min(seconds, 10) * 1000 : undefined;
}

function backoffMs(attempt: number): number {
  return Math.min(100 * 2 ** attempt, 2_000) * (0.5 + Math.random() / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
