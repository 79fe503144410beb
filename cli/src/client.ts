// The REST client: fetch with the bearer token, JSON in and out, and every failure turned
// into an error the CLI maps to an exit code: ApiError (the API said no: its `code` and
// `message` as worded by the API), ConnectionError (nothing answered), TimeoutError.
import { CliError, ConnectionError, EXIT, TimeoutError } from './errors.ts';

/** An error the API returned: `{ code, message, details? }` with an HTTP status. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    // A refused promotion is a verdict scripts act on, like a halted rollout.
    super(message, code === 'PromotionRefused' ? EXIT.halted : EXIT.api);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export interface ClientOptions {
  /** Base URL of the control plane, e.g. https://gitfleet.example.com */
  server: string;
  token: string;
  /** Per-request limit in milliseconds (default 120 s: creating a fleet fetches its repository). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type Query = Record<string, string | undefined>;

/** Joins the server URL and an API path; a server URL may carry a path prefix. */
export function apiUrl(server: string, path: string, query?: Query): string {
  const url = new URL(server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  return url.toString();
}

/** `/api/v1/clusters/{name}` with the name escaped. */
export const path = (strings: TemplateStringsArray, ...names: string[]): string =>
  strings.reduce((out, s, i) => out + s + (i < names.length ? encodeURIComponent(names[i]!) : ''), '');

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.message) return cause.message;
  if (cause?.code) return cause.code;
  return (err as Error).message;
}

export class Client {
  readonly server: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#fetch = options.fetch ?? fetch;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, undefined, query);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const res = await this.#send(method, path, {
      query,
      body,
      signal: AbortSignal.timeout(this.#timeoutMs),
      accept: 'application/json',
    });
    const text = await res.text();
    if (res.status === 204 || text === '') return undefined as T;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError(
        res.status,
        'UnexpectedResponse',
        `${method} ${path} answered with something other than JSON (${res.headers.get('content-type') ?? 'no content type'}): is ${this.server} a gitfleet control plane?`,
      );
    }
    return parsed as T;
  }

  /**
   * Opens a streaming GET (server-sent events) and returns the response once its headers
   * arrived; the caller reads `body` and aborts `signal` to close it.
   */
  stream(
    path: string,
    signal: AbortSignal,
    query?: Query,
    headers?: Record<string, string>,
  ): Promise<Response> {
    return this.#send('GET', path, {
      query,
      signal,
      accept: 'text/event-stream',
      connectTimeout: true,
      ...(headers ? { headers } : {}),
    });
  }

  async #send(
    method: string,
    path: string,
    options: {
      query: Query | undefined;
      body?: unknown;
      signal: AbortSignal;
      accept: string;
      connectTimeout?: boolean;
      headers?: Record<string, string>;
    },
  ): Promise<Response> {
    const url = apiUrl(this.server, path, options.query);
    const headers: Record<string, string> = {
      ...options.headers,
      authorization: `Bearer ${this.#token}`,
      accept: options.accept,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    // A stream may stay open forever, but its headers must come back in time.
    const connect = options.connectTimeout ? AbortSignal.timeout(this.#timeoutMs) : undefined;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: connect ? AbortSignal.any([options.signal, connect]) : options.signal,
      });
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError') {
        throw new TimeoutError(
          `${this.server} did not answer ${method} ${path} within ${Math.round(this.#timeoutMs / 1000)} s`,
        );
      }
      if (name === 'AbortError') throw err;
      throw new ConnectionError(`cannot reach the control plane at ${this.server}: ${describeCause(err)}`);
    }
    if (!res.ok) throw await errorFrom(res, method, path);
    return res;
  }
}

/** The API's `{ code, message, details? }`, or a description of whatever else came back. */
async function errorFrom(res: Response, method: string, path: string): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; details?: unknown };
    if (typeof body.code === 'string' && typeof body.message === 'string') {
      return new ApiError(res.status, body.code, body.message, body.details);
    }
  } catch {
    // not JSON: a proxy or something that is not a control plane answered
  }
  const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return new ApiError(
    res.status,
    'UnexpectedResponse',
    `${method} ${path} failed with HTTP ${res.status} ${res.statusText}${snippet ? `: ${snippet}` : ''}`,
  );
}
