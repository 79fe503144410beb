// Health of live objects: read them (readHealth) or poll until they are Current
// (waitForCurrent). The rules are kstatus's, in health/health.ts; this is only the IO.
//
// Polling rather than a watch: the applier waits for a handful of definitions (CRDs,
// Namespaces) that are usually Current within a second, and the status reporter reads
// health on its own schedule. Polls start fast (25 ms) and slow down to `pollIntervalMs`.

import type { HealthOptions, HealthResult, ObjectHealth } from '../health/health.ts';
import { computeHealth, notFoundHealth } from '../health/health.ts';
import type { KubeClient } from '../kube/client.ts';
import { mapConcurrent } from '../kube/client.ts';
import type { ObjectRef } from '../objects.ts';
import type { ApplyError } from './errors.ts';
import { isApplyError, waitTimeoutError } from './errors.ts';

export interface ReadHealthOptions {
  // Requests in flight (default 8).
  concurrency?: number;
  health?: HealthOptions;
}

export interface WaitOptions extends ReadHealthOptions {
  // Default 60 s.
  timeoutMs?: number;
  // The longest pause between two polls (default 1 s); the first polls come sooner.
  pollIntervalMs?: number;
}

export interface WaitResult {
  ref: ObjectRef;
  // The last health read.
  health: HealthResult;
  // Set when the object was not Current by the deadline: code WaitTimeout.
  error?: ApplyError;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 60_000;
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
const FIRST_POLL_DELAY_MS = 25;

// GETs each object and computes its health; a missing object is NotFound (also when its kind
// is no longer served), one that could not be read is Unknown with the reason.
export async function readHealth(
  client: KubeClient,
  refs: readonly ObjectRef[],
  options: ReadHealthOptions = {},
): Promise<ObjectHealth[]> {
  return mapConcurrent(refs, options.concurrency ?? 8, async (ref) => ({
    ref,
    health: await readOne(client, ref, options.health),
  }));
}

async function readOne(client: KubeClient, ref: ObjectRef, options?: HealthOptions): Promise<HealthResult> {
  try {
    const live = await client.get(ref);
    return live === undefined ? notFoundHealth() : computeHealth(live, options);
  } catch (err) {
    if (isApplyError(err) && err.code === 'KindNotServed') return notFoundHealth();
    const reason = isApplyError(err) ? err.code : 'ReadFailed';
    return { status: 'Unknown', reason, message: `could not read it: ${(err as Error).message}` };
  }
}

// Polls until every object is Current or the timeout passes. Never throws for an object:
// each that is not Current in time gets a WaitTimeout error with its last health, so the
// caller can report it and carry on with the others.
export async function waitForCurrent(
  client: KubeClient,
  refs: readonly ObjectRef[],
  options: WaitOptions = {},
): Promise<WaitResult[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const maxInterval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  const results: WaitResult[] = refs.map((ref) => ({
    ref,
    health: { status: 'Unknown', reason: 'NotRead', message: 'not read yet' },
  }));
  let pending = results;
  let delay = FIRST_POLL_DELAY_MS;
  for (;;) {
    const read = await readHealth(
      client,
      pending.map((r) => r.ref),
      options,
    );
    read.forEach((r, i) => {
      (pending[i] as WaitResult).health = r.health;
    });
    pending = pending.filter((r) => r.health.status !== 'Current');
    const left = deadline - Date.now();
    if (pending.length === 0 || left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    delay = Math.min(delay * 2, maxInterval);
  }
  for (const r of pending) r.error = waitTimeoutError(r.ref, timeoutMs, r.health);
  return results;
}
