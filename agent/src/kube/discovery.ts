// The cluster's discovery summary as Helm's .Capabilities.APIVersions has it, so that the
// control plane renders charts for this cluster as `helm install` run against it would: each
// served "group/version" ("v1" for the core group) and "group/version/Kind" of each resource.
// Subresources (`deployments/scale`) are left out: they are not kinds a chart can create.
//
// Read with aggregated discovery (one request for /api, one for /apis) when the API server
// offers it, else the classic way, one request per group version. Each document is reduced to
// its strings as it arrives and then dropped, so only the summary stays in memory. A part that
// cannot be read is left out and named in `problems`; the rest is still returned, because a
// summary without one broken APIService is more use to the control plane than none.

import { API_VERSIONS_LIMITS } from '@gitfleet/proto';
import { type KubeRequest, type KubeResponse, mapConcurrent } from './client.ts';

const AGGREGATED_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;q=0.9';

export interface DiscoverySummary {
  /** Sorted, without duplicates. */
  apiVersions: string[];
  /** What could not be read; the list lacks (at least) what those parts would have added. */
  problems: string[];
}

export interface DiscoveryOptions {
  /** Ask for aggregated discovery first (default true); false reads it the classic way. */
  aggregated?: boolean;
  /** Classic discovery: group versions read at once (default 8). */
  concurrency?: number;
  /**
   * After this long, what has arrived is the answer (default 15 s): the Hello waits for it,
   * and an API server that hangs must not keep the agent from its control plane.
   */
  timeoutMs?: number;
}

export interface DiscoveryClient {
  request(req: KubeRequest): Promise<KubeResponse>;
}

export async function discoverApiVersions(
  client: DiscoveryClient,
  options: DiscoveryOptions = {},
): Promise<DiscoverySummary> {
  const found = new Set<string>();
  const problems: string[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const accept = options.aggregated === false ? 'application/json' : AGGREGATED_ACCEPT;
  // Results that come in after the deadline are not the answer any more.
  let open = true;
  const get = async (path: string, accept?: string): Promise<unknown> => {
    const res = await beforeDeadline(
      client.request({ method: 'GET', path, ...(accept ? { accept } : {}) }),
      deadline,
      `GET ${path}`,
    );
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}${detailOf(res.body)}`);
    return res.body;
  };

  const classic: string[] = [];
  await Promise.all(
    ['/api', '/apis'].map(async (path) => {
      try {
        const doc = await get(path, accept);
        if (!open) return;
        if (isAggregatedList(doc)) {
          problems.push(...addAggregated(found, doc));
        } else {
          for (const gv of classicGroupVersions(doc)) {
            found.add(gv);
            classic.push(gv);
          }
        }
      } catch (err) {
        problems.push((err as Error).message);
      }
    }),
  );
  await mapConcurrent(classic, options.concurrency ?? 8, async (gv) => {
    const path = gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`;
    try {
      const doc = await get(path);
      if (open) addResourceList(found, gv, doc);
    } catch (err) {
      problems.push((err as Error).message);
    }
  });
  open = false;
  return { apiVersions: [...found].sort(), problems };
}

// ---- the documents, pure ------------------------------------------------------------------

interface AggregatedList {
  kind: 'APIGroupDiscoveryList';
  items?: {
    metadata?: { name?: string };
    versions?: {
      version?: string;
      freshness?: string;
      resources?: { resource?: string; responseKind?: { kind?: string } | null }[];
    }[];
  }[];
}

/** An APIGroupDiscoveryList (apidiscovery.k8s.io/v2): what /api and /apis answer when asked for it. */
export function isAggregatedList(doc: unknown): doc is AggregatedList {
  const d = doc as { kind?: unknown; apiVersion?: unknown } | undefined;
  return d?.kind === 'APIGroupDiscoveryList' && d.apiVersion === 'apidiscovery.k8s.io/v2';
}

/**
 * Adds what an aggregated document lists. A Stale version (its APIService did not answer the
 * API server) counts as served but its kinds as unknown, as client-go, and so Helm, read it.
 * Returns those versions as problems.
 */
export function addAggregated(found: Set<string>, doc: AggregatedList): string[] {
  const stale: string[] = [];
  for (const group of doc.items ?? []) {
    const name = group.metadata?.name ?? '';
    for (const v of group.versions ?? []) {
      if (!v.version) continue;
      const gv = name === '' ? v.version : `${name}/${v.version}`;
      found.add(gv);
      if (v.freshness === 'Stale') {
        stale.push(`${gv}: the API server's discovery of it is stale (is its APIService available?)`);
        continue;
      }
      // Subresources are listed inside their resource here, never as resources of their own.
      for (const r of v.resources ?? []) {
        const kind = r.responseKind?.kind;
        if (kind) found.add(`${gv}/${kind}`);
      }
    }
  }
  return stale;
}

/**
 * The group versions of a classic discovery document: APIVersions (/api, the core group's
 * versions) or APIGroupList (/apis). Every version of a group counts, not only the preferred.
 */
export function classicGroupVersions(doc: unknown): string[] {
  const d = doc as {
    versions?: unknown;
    groups?: { name?: string; versions?: { groupVersion?: string; version?: string }[] }[];
  };
  if (Array.isArray(d?.versions)) return d.versions.filter((v): v is string => typeof v === 'string');
  const out: string[] = [];
  for (const g of Array.isArray(d?.groups) ? d.groups : []) {
    for (const v of g.versions ?? []) {
      const gv = v.groupVersion ?? (g.name && v.version ? `${g.name}/${v.version}` : undefined);
      if (gv) out.push(gv);
    }
  }
  return out;
}

/** Adds the kinds of an APIResourceList (/api/v1, /apis/<group>/<version>). */
export function addResourceList(found: Set<string>, gv: string, doc: unknown): void {
  const resources = (doc as { resources?: unknown } | undefined)?.resources;
  for (const r of Array.isArray(resources) ? (resources as { name?: string; kind?: string }[]) : []) {
    if (typeof r.name !== 'string' || r.name.includes('/') || !r.kind) continue;
    found.add(`${gv}/${r.kind}`);
  }
}

/**
 * The list as the control plane accepts it: entries it would refuse are dropped (and named),
 * and a list longer than it accepts is not sent at all (empty: "unknown"), since a part of it
 * would claim that the rest is not served.
 */
export function withinLimits(apiVersions: readonly string[]): { apiVersions: string[]; problems: string[] } {
  const problems: string[] = [];
  const kept = apiVersions.filter((v) => {
    if (v.length <= API_VERSIONS_LIMITS.length && API_VERSIONS_LIMITS.entry.test(v)) return true;
    problems.push(`left out ${JSON.stringify(v.slice(0, 80))}: not an API version the control plane accepts`);
    return false;
  });
  const bytes = kept.reduce((n, v) => n + v.length, 0);
  if (kept.length > API_VERSIONS_LIMITS.entries || bytes > API_VERSIONS_LIMITS.bytes) {
    problems.push(
      `the cluster serves ${kept.length} API versions and kinds (${bytes} characters), more than the control plane accepts (${API_VERSIONS_LIMITS.entries}, ${API_VERSIONS_LIMITS.bytes}): none are sent`,
    );
    return { apiVersions: [], problems };
  }
  return { apiVersions: kept, problems };
}

// ---- helpers ------------------------------------------------------------------------------

function beforeDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  const left = deadline - Date.now();
  if (left <= 0) {
    work.catch(() => {});
    return Promise.reject(new Error(`${what}: discovery ran out of time`));
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer in time`)), left);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function detailOf(body: unknown): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return `: ${message.slice(0, 200)}`;
  return typeof body === 'string' && body !== '' ? `: ${body.slice(0, 200)}` : '';
}
