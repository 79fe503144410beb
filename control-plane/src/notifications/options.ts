// Settings of notification delivery, from the environment (config.ts keeps them with the rest
// of the configuration), validated so that a bad value stops the process at start.
export interface NotificationOptions {
  /** Where people reach the API: messages link <publicUrl>/api/v1/fleets/<name>. */
  publicUrl: string;
  /** Events of one (target, fleet, cluster, type) within this many seconds are one message; 0: none coalesced. */
  windowSeconds: number;
  /** Attempts per notification (the first and the retries) before the target is marked failing. */
  attempts: number;
  /** First retry after this long, doubling each time (with jitter) up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** One attempt's time limit (connect, send, answer). */
  timeoutMs: number;
  /** Deliveries in flight at once in this replica. */
  concurrency: number;
}

export const DEFAULT_NOTIFICATION_OPTIONS: Readonly<NotificationOptions> = {
  publicUrl: 'http://127.0.0.1:8080',
  windowSeconds: 30,
  attempts: 20,
  backoffMs: 1000,
  maxBackoffMs: 300_000,
  timeoutMs: 10_000,
  concurrency: 8,
};

function int(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${key}=${raw} is not valid: use an integer ≥ ${min}`);
  return n;
}

/**
 * GITFLEET_PUBLIC_URL (default http://127.0.0.1:<GITFLEET_HTTP_PORT>), GITFLEET_NOTIFY_WINDOW_SECONDS
 * (30), GITFLEET_NOTIFY_ATTEMPTS (20: about an hour), GITFLEET_NOTIFY_TIMEOUT_SECONDS (10),
 * GITFLEET_NOTIFY_CONCURRENCY (8), GITFLEET_NOTIFY_BACKOFF_MS and GITFLEET_NOTIFY_MAX_BACKOFF_MS
 * (the first retry's delay, doubling up to the most).
 */
export function notificationOptions(env: NodeJS.ProcessEnv = process.env): NotificationOptions {
  const publicUrl = env.GITFLEET_PUBLIC_URL?.trim() || `http://127.0.0.1:${env.GITFLEET_HTTP_PORT || 8080}`;
  let parsed: URL | undefined;
  try {
    parsed = new URL(publicUrl);
  } catch {
    parsed = undefined;
  }
  if (
    !parsed ||
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    parsed.search ||
    parsed.hash
  ) {
    throw new Error(
      `GITFLEET_PUBLIC_URL=${publicUrl} is not valid: use the http:// or https:// address people reach the API at, e.g. https://gitfleet.example.com`,
    );
  }
  return {
    ...DEFAULT_NOTIFICATION_OPTIONS,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    windowSeconds: int(env, 'GITFLEET_NOTIFY_WINDOW_SECONDS', DEFAULT_NOTIFICATION_OPTIONS.windowSeconds, 0),
    attempts: int(env, 'GITFLEET_NOTIFY_ATTEMPTS', DEFAULT_NOTIFICATION_OPTIONS.attempts, 1),
    timeoutMs:
      int(env, 'GITFLEET_NOTIFY_TIMEOUT_SECONDS', DEFAULT_NOTIFICATION_OPTIONS.timeoutMs / 1000, 1) * 1000,
    concurrency: int(env, 'GITFLEET_NOTIFY_CONCURRENCY', DEFAULT_NOTIFICATION_OPTIONS.concurrency, 1),
    backoffMs: int(env, 'GITFLEET_NOTIFY_BACKOFF_MS', DEFAULT_NOTIFICATION_OPTIONS.backoffMs, 1),
    maxBackoffMs: int(env, 'GITFLEET_NOTIFY_MAX_BACKOFF_MS', DEFAULT_NOTIFICATION_OPTIONS.maxBackoffMs, 1),
  };
}
