// The REST API and the event stream, as the dashboard calls them: every request carries the
// bearer token typed at login, kept in sessionStorage (this tab only, gone when it closes).
// The event stream is read with fetch() and a stream reader, because EventSource cannot send
// an Authorization header.

const TOKEN_KEY = 'gitfleet.token';
const CALLER_KEY = 'gitfleet.caller';

export class ApiError extends Error {
  /** @param {number} status @param {{ code?: string, message?: string, details?: any }} body */
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || 'Error';
    this.details = body.details;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(CALLER_KEY);
    }
  },
  /** Who the token is (GET /api/v1/whoami), kept beside it: a reload draws at once and checks after. */
  get caller() {
    try {
      return JSON.parse(sessionStorage.getItem(CALLER_KEY) ?? 'null') ?? undefined;
    } catch {
      return undefined;
    }
  },
  set caller(value) {
    if (value) sessionStorage.setItem(CALLER_KEY, JSON.stringify(value));
    else sessionStorage.removeItem(CALLER_KEY);
  },
};

/** Called with the ApiError of any request refused with 401 (token revoked, control plane re-keyed). */
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/**
 * One REST call. Resolves with the parsed body; rejects with an ApiError saying what the
 * control plane said, or what went wrong on the way.
 */
const marks = new WeakMap();

/**
 * The newest event id the control plane had recorded when it read `data` (x-gitfleet-event-id),
 * for views that say; every event up to it is in `data`.
 */
export const eventMarkOf = (data) => (data && typeof data === 'object' ? marks.get(data) : undefined);

export async function api(method, path, body, token = session.token) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ApiError(0, {
      code: 'Unreachable',
      message: `the control plane did not answer: ${err.message}`,
    });
  }
  const text = await res.text();
  let parsed = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (!res.ok) {
    const error = new ApiError(res.status, parsed);
    if (res.status === 401 && token === session.token) onUnauthorized(error);
    throw error;
  }
  const mark = res.headers.get('x-gitfleet-event-id');
  if (mark && parsed && typeof parsed === 'object') marks.set(parsed, mark);
  return parsed;
}

// ---- live events -----------------------------------------------------------------------------

const listeners = new Set();
const connectionListeners = new Set();
let connection = { state: 'closed', since: Date.now() };

/** Calls `handler(event)` for every event (and `{ type: 'Resync' }` after a reconnect); returns an unsubscribe. */
export function onEvent(handler) {
  listeners.add(handler);
  return () => listeners.delete(handler);
}

export function onConnection(handler) {
  connectionListeners.add(handler);
  handler(connection);
  return () => connectionListeners.delete(handler);
}

function setConnection(state, detail) {
  connection = { state, since: Date.now(), ...(detail ? { detail } : {}) };
  for (const l of connectionListeners) l(connection);
}

function emit(event) {
  for (const l of listeners) {
    try {
      l(event);
    } catch (err) {
      console.error(err);
    }
  }
}

let controller;

/** Opens the event stream and keeps it open (reconnecting with backoff) until stopEvents(). */
export function startEvents() {
  stopEvents();
  const mine = new AbortController();
  controller = mine;
  void (async () => {
    let attempt = 0;
    while (!mine.signal.aborted) {
      setConnection(attempt === 0 ? 'connecting' : 'reconnecting');
      try {
        const res = await fetch('/api/v1/events', {
          headers: { authorization: `Bearer ${session.token}`, accept: 'text/event-stream' },
          signal: mine.signal,
          cache: 'no-store',
        });
        if (res.status === 401) {
          onUnauthorized(new ApiError(401, await res.json().catch(() => ({}))));
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        setConnection('live');
        // Events missed while away: views reload what they show.
        if (attempt > 0) emit({ type: 'Resync' });
        attempt = 0;
        await readEvents(res.body, emit);
        if (!mine.signal.aborted) throw new Error('the stream ended');
      } catch (err) {
        if (mine.signal.aborted) return;
        setConnection('reconnecting', err.message);
      }
      attempt++;
      const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)) * (0.75 + Math.random() / 2);
      await new Promise((r) => setTimeout(r, delay));
    }
  })();
}

export function stopEvents() {
  controller?.abort();
  controller = undefined;
  setConnection('closed');
}

/** Parses a text/event-stream body: `event:` and `data:` lines, frames separated by a blank line. */
export async function readEvents(body, handler) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data) {
        try {
          handler(JSON.parse(data));
        } catch {
          // not an event of ours
        }
      }
      end = buffer.indexOf('\n\n');
    }
  }
}
