// The REST API and the event stream, as the dashboard calls them: every request carries the
// bearer token typed at login or got by single sign-on, kept in sessionStorage (this tab only,
// gone when it closes).
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

// ---- single sign-on -------------------------------------------------------------------------
// Authorization code with PKCE at the identity provider (GET /api/v1/sso names it): the page
// goes to the provider, comes back to / with a code, and trades it at the token endpoint for
// an ID token, which is then kept and sent exactly like a pasted token. What the round trip
// needs across the navigation (state, nonce, PKCE verifier) waits in sessionStorage, this tab
// only, and is removed once it comes back, whatever the answer.

const SSO_KEY = 'gitfleet.sso';

const signInError = (code, message) => new ApiError(0, { code, message });

/** How people sign in here (GET /api/v1/sso), or undefined when the control plane takes tokens only. */
export async function ssoSettings() {
  let res;
  try {
    res = await fetch('/api/v1/sso', { headers: { accept: 'application/json' } });
  } catch (err) {
    throw signInError('Unreachable', `the control plane did not answer: ${err.message}`);
  }
  if (res.status === 404) return undefined;
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const randomText = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

async function providerJson(url, init, what) {
  let res;
  try {
    res = await fetch(url, { ...init, headers: { accept: 'application/json', ...init?.headers } });
  } catch (err) {
    // A CORS refusal looks the same as no answer from here.
    throw signInError(
      'ProviderUnreachable',
      `the identity provider did not answer ${what} (${err.message}): is it up, and does it allow this page's origin?`,
    );
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const said = body.error
      ? `: ${body.error}${body.error_description ? ` (${body.error_description})` : ''}`
      : '';
    throw signInError(
      'SignInRefused',
      `the identity provider refused ${what} with HTTP ${res.status}${said}`,
    );
  }
  return body;
}

/** Goes to the identity provider's sign-in page; the provider sends the browser back to this page. */
export async function startSignIn(sso) {
  if (!crypto.subtle) {
    throw signInError(
      'InsecurePage',
      'single sign-on needs the dashboard served over HTTPS (the browser hashes the PKCE verifier only on secure pages)',
    );
  }
  const discovery = `${sso.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const provider = await providerJson(discovery, {}, 'its discovery document');
  if (provider.issuer !== sso.issuer) {
    throw signInError(
      'ProviderMismatch',
      `the identity provider's discovery document names issuer ${provider.issuer}, not ${sso.issuer}`,
    );
  }
  const verifier = randomText();
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const pending = {
    state: randomText(),
    nonce: randomText(),
    verifier,
    issuer: sso.issuer,
    clientId: sso.clientId,
    tokenEndpoint: provider.token_endpoint,
    redirectUri: `${location.origin}${location.pathname}`,
    // The view to come back to: the fragment does not travel through the provider.
    hash: location.hash,
  };
  const url = new URL(provider.authorization_endpoint);
  for (const [key, value] of Object.entries({
    response_type: 'code',
    client_id: sso.clientId,
    redirect_uri: pending.redirectUri,
    scope: sso.scopes.join(' '),
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })) {
    url.searchParams.set(key, value);
  }
  sessionStorage.setItem(SSO_KEY, JSON.stringify(pending));
  location.assign(url.href);
}

/** True when this load is the identity provider sending the browser back with an answer. */
export function isSignInReturn() {
  const params = new URLSearchParams(location.search);
  return params.has('state') && (params.has('code') || params.has('error'));
}

const claimsOf = (jwt) => {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch {
    return undefined;
  }
};

/**
 * The ID token the provider's answer in the address bar is worth: its state and nonce checked
 * against what this tab sent. The control plane verifies the token's signature when it is used.
 */
export async function finishSignIn() {
  const params = new URLSearchParams(location.search);
  let pending;
  try {
    pending = JSON.parse(sessionStorage.getItem(SSO_KEY) ?? 'null') ?? undefined;
  } catch {
    pending = undefined;
  }
  sessionStorage.removeItem(SSO_KEY);
  // The code leaves the address bar and the history at once, used or not.
  history.replaceState(null, '', `${location.pathname}${pending?.hash ?? ''}`);
  if (!pending) {
    throw signInError(
      'NoSignInPending',
      'this tab was not waiting for a sign-in (it began in another tab, or was finished already): sign in again',
    );
  }
  if (params.get('state') !== pending.state) {
    throw signInError(
      'StateMismatch',
      'the answer from the identity provider is not for the sign-in this tab began (its state does not match): sign in again',
    );
  }
  if (params.has('iss') && params.get('iss') !== pending.issuer) {
    throw signInError(
      'ProviderMismatch',
      `the answer came from ${params.get('iss')}, not from the identity provider ${pending.issuer}`,
    );
  }
  if (params.has('error')) {
    const description = params.get('error_description');
    throw signInError(
      'SignInRefused',
      `the identity provider did not sign you in: ${params.get('error')}${description ? ` (${description})` : ''}`,
    );
  }
  const tokens = await providerJson(
    pending.tokenEndpoint,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: params.get('code') ?? '',
        redirect_uri: pending.redirectUri,
        client_id: pending.clientId,
        code_verifier: pending.verifier,
      }),
    },
    'the code',
  );
  const claims = tokens.id_token ? claimsOf(tokens.id_token) : undefined;
  if (!claims) {
    throw signInError('NoIdToken', 'the identity provider returned no ID token: is openid among the scopes?');
  }
  const audiences = [claims.aud].flat();
  if (
    claims.nonce !== pending.nonce ||
    claims.iss !== pending.issuer ||
    !audiences.includes(pending.clientId)
  ) {
    throw signInError(
      'TokenMismatch',
      'the ID token is not for this sign-in (its nonce, issuer or audience does not match): sign in again',
    );
  }
  return tokens.id_token;
}
