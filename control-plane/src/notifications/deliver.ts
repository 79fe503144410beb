// One HTTP attempt at a target, and what to make of its answer: 2xx delivered; 408, 429, 5xx,
// a timeout or no connection are worth another attempt; any other answer (a 4xx: a revoked
// Slack webhook answers 404 no_service, a bad one 400/403) will not change by retrying. Every
// message it returns is secret-free: a target's URL (Slack's is its secret; a webhook's may
// carry a token) and secret are cut from whatever a receiver or the network stack says.

export type AttemptResult =
  | { ok: true; status: number }
  | { ok: false; retry: boolean; status: number | null; message: string };

const MAX_ANSWER_CHARS = 200;
const READ_LIMIT_BYTES = 4096;

/**
 * The strings of `url` and `secret` that must never be shown: the URL whole and decoded, its
 * path with the query, the query, userinfo and each path segment or query value long enough to
 * be a token (Slack's are `T…/B…/<24 characters>`).
 */
export function secretsOf(url: string, secret?: string): string[] {
  const out = new Set<string>([url]);
  if (secret) out.add(secret);
  try {
    const u = new URL(url);
    out.add(u.href);
    if (u.pathname.length > 1) out.add(u.pathname + u.search);
    if (u.search.length > 1) out.add(u.search.slice(1));
    if (u.username) out.add(u.username);
    if (u.password) out.add(u.password);
    for (const part of [...u.pathname.split('/'), ...u.searchParams.values()]) {
      if (part.length >= 8) out.add(part);
    }
  } catch {
    // not a URL: the string whole is all there is to cut
  }
  for (const s of [...out]) {
    try {
      const decoded = decodeURIComponent(s);
      if (decoded !== s) out.add(decoded);
    } catch {
      // not percent-encoded
    }
  }
  // Longest first: a URL is cut whole before its parts are.
  return [...out].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/** `text` with every one of `secrets` replaced by [redacted]. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ANSWER_CHARS ? `${line.slice(0, MAX_ANSWER_CHARS)}…` : line;
}

async function readSome(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < READ_LIMIT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // the answer broke off: what arrived is enough to show
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, READ_LIMIT_BYTES);
}

function networkProblem(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return `no answer within ${Math.round(timeoutMs / 100) / 10} s`;
  }
  const code = e?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset before an answer';
  if (code) return `could not connect (${code})`;
  return `request failed (${e?.cause?.message ?? e?.message ?? String(err)})`;
}

/** POSTs `body` once, within `timeoutMs`; never throws. */
export async function attempt(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; secrets: readonly string[] },
): Promise<AttemptResult> {
  const clean = (text: string) => oneLine(redact(text, options.secrets));
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'gitfleet-notifications', ...headers },
      // A redirect would take the signed body (and the headers) somewhere the target did not name.
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    // fetch refuses some ports outright (25, 6000, …: the WHATWG "bad ports"), every time.
    if ((err as { cause?: { message?: string } }).cause?.message === 'bad port') {
      return {
        ok: false,
        retry: false,
        status: null,
        message: 'the URL names a port HTTP clients refuse to send to (a "bad port" such as 25 or 6000)',
      };
    }
    return { ok: false, retry: true, status: null, message: clean(networkProblem(err, options.timeoutMs)) };
  }
  if (res.status >= 200 && res.status < 300) {
    res.body?.cancel().catch(() => {});
    return { ok: true, status: res.status };
  }
  let answer = '';
  try {
    answer = await Promise.race([
      readSome(res),
      new Promise<string>((resolve) => setTimeout(() => resolve(''), options.timeoutMs).unref()),
    ]);
  } catch {
    // no body to show
  }
  const said = answer.trim();
  const message = clean(
    `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${said ? `: ${said}` : ''}`,
  );
  if (res.status >= 300 && res.status < 400) {
    return {
      ok: false,
      retry: false,
      status: res.status,
      message: `${message} (a redirect, which is not followed: give the target the URL it redirects to)`,
    };
  }
  const retry = res.status >= 500 || res.status === 408 || res.status === 429;
  return { ok: false, retry, status: res.status, message };
}
