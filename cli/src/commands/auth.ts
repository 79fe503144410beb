// login / logout: the server and token kept in the config file (see config.ts). `login --sso`
// signs a person in at the identity provider the control plane names (GET /api/v1/sso), the
// way native apps do (RFC 8252): the browser is sent to the provider, which redirects it to a
// listener of this process on loopback with a code; the code and the PKCE verifier only this
// process knows are traded for an ID token, which is then the saved token.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { paths } from '../api.gen.ts';
import type { Cluster } from '../api.ts';
import type { CommandSpec, Context, Input } from '../args.ts';
import { Client } from '../client.ts';
import { normalizeServer, readConfig, removeConfig, writeConfig } from '../config.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import { CliError, ConnectionError, EXIT, TimeoutError, UsageError } from '../errors.ts';
import { renderFields } from '../output.ts';
import { emit, note, readSecret } from './common.ts';

type Json<P extends keyof paths> = paths[P]['get'] extends {
  responses: { 200: { content: { 'application/json': infer Body } } };
}
  ? Body
  : never;
type Sso = Json<'/api/v1/sso'>;
type WhoAmI = Json<'/api/v1/whoami'>;

const login: CommandSpec = {
  name: 'login',
  summary: 'Check a server URL and API token (or sign in with SSO) and save them for the next commands',
  usage: '--server URL (--token TOKEN | --token-stdin | --sso [--no-browser])',
  description: [
    'Calls the API with the token first, so a wrong URL or token is not saved. The config file',
    'is $GITFLEET_CONFIG, else ~/.config/gitfleet/config.json (mode 0600). GITFLEET_SERVER and',
    'GITFLEET_TOKEN, and --server/--token on any command, override what it holds. Without',
    '--server, login keeps the server saved before.',
    '',
    'With --sso, you sign in at the identity provider the control plane names: login prints',
    'a URL (and opens it in a browser unless --no-browser), waits on 127.0.0.1 for the',
    "provider to send the browser back, and saves the provider's ID token. It expires as the",
    'provider decides (often within an hour): run login --sso again then.',
  ].join('\n'),
  options: {
    'token-stdin': { type: 'boolean', description: 'read the token from stdin (keeps it out of `ps`)' },
    sso: { type: 'boolean', description: "sign in at the control plane's identity provider" },
    'no-browser': { type: 'boolean', description: 'with --sso: only print the URL to open' },
    timeout: {
      type: 'string',
      value: 'DURATION',
      description: 'with --sso: how long to wait for the sign-in (default 5m)',
    },
  },
  examples: [
    'gitfleet login --server https://gitfleet.example.com --token "$TOKEN"',
    'gitfleet login --server https://gitfleet.example.com --token-stdin < token.txt',
    'gitfleet login --server https://gitfleet.example.com --sso',
  ],
  minArgs: 0,
  maxArgs: 0,
  async run(ctx, input) {
    const stored = readConfig(ctx.configFile);
    const serverArg = ctx.flags.server ?? (ctx.env.GITFLEET_SERVER || undefined) ?? stored.server;
    if (!serverArg) throw new UsageError('give the control plane URL with --server URL', 'login');
    if (input.bool('sso')) return ssoLogin(ctx, input, normalizeServer(serverArg));
    for (const option of ['no-browser', 'timeout']) {
      if (input.values[option] !== undefined) {
        throw new UsageError(`--${option} goes with --sso`, 'login');
      }
    }
    if (input.bool('token-stdin') && ctx.flags.token) {
      throw new UsageError('give the token with --token or --token-stdin, not both', 'login');
    }
    const token = input.bool('token-stdin')
      ? await readSecret(ctx.io, 'Token', 'login')
      : (ctx.flags.token ?? (ctx.env.GITFLEET_TOKEN || undefined));
    if (!token) throw new UsageError('give the API token with --token TOKEN or --token-stdin', 'login');
    const server = normalizeServer(serverArg);
    const clusters = await new Client({ server, token }).get<{ items: Cluster[] }>('/api/v1/clusters');
    writeConfig(ctx.configFile, { server, token });
    const result = { server, config: ctx.configFile, clusters: clusters.items.length };
    emit(ctx, result, () =>
      renderFields([
        ['Logged in to', server],
        ['Clusters', clusters.items.length],
        ['Saved in', ctx.configFile],
      ]),
    );
    return 0;
  },
};

// ---- single sign-on ---------------------------------------------------------------------------

const DEFAULT_SSO_TIMEOUT = '5m';

/** The identity provider refused, or answered something that is not for this sign-in. */
const refused = (message: string) => new CliError(message, EXIT.api);

const base64url = (bytes: Buffer) => bytes.toString('base64url');
const random = () => base64url(randomBytes(32));

/** HTTPS, or plain HTTP on this machine: the code and the verifier travel to these URLs. */
function providerUrl(value: unknown, what: string, issuer: string): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  const local = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && local(url.hostname)))) {
    throw refused(
      `the identity provider ${issuer} names no usable ${what} (${JSON.stringify(value)}): it must be an https:// URL`,
    );
  }
  return url;
}

async function providerJson(url: URL, init: RequestInit, what: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      headers: { accept: 'application/json', ...init.headers },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as Error).cause instanceof Error ? ((err as Error).cause as Error) : (err as Error);
    throw new ConnectionError(
      `cannot reach the identity provider at ${url.origin} (${what}): ${cause.message}`,
    );
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // said below, with the status
  }
  if (!res.ok) {
    const said =
      typeof body.error === 'string'
        ? `: ${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description})` : ''}`
        : '';
    throw refused(`the identity provider refused ${what} with HTTP ${res.status}${said}`);
  }
  return body;
}

function claimsOf(jwt: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Opens `url` in the desktop's browser when there is a way to; silent when there is not. */
function openBrowser(url: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? undefined : 'xdg-open';
  if (!command) return;
  try {
    const child = spawn(command, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // the URL is printed: that is enough
  }
}

const page = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')}</p></body></html>\n`;

/** Resolves once the page is handed to the system: the process may exit right after. */
function answer(res: ServerResponse, status: number, title: string, text: string): Promise<void> {
  const sent = new Promise<void>((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    connection: 'close',
  });
  res.end(page(title, text));
  return sent;
}

interface Callback {
  code: string;
  /** Answers the browser once the sign-in is through (or not). */
  respond(status: number, title: string, text: string): Promise<void>;
}

/**
 * Waits for the provider to send the browser to /callback with this sign-in's state. A
 * request with another state (an old tab, another program) is refused and waiting goes on;
 * a refusal by the provider with this state ends it.
 */
function awaitCallback(
  server: Server,
  expected: { state: string; issuer: string },
  timeoutMs: number,
  warn: (text: string) => void,
): Promise<Callback> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(
        new TimeoutError(
          `no sign-in within ${formatDuration(timeoutMs)}: open the URL printed above and sign in, or run \`gitfleet login --sso\` again`,
        ),
      );
    }, timeoutMs);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method !== 'GET' || url.pathname !== '/callback') {
        answer(res, 404, 'Not found', 'gitfleet login waits for the identity provider at /callback only.');
        return;
      }
      if (done) {
        answer(
          res,
          409,
          'Already done',
          'gitfleet login has finished with this sign-in; run it again to sign in again.',
        );
        return;
      }
      const params = url.searchParams;
      if (params.get('state') !== expected.state) {
        answer(
          res,
          400,
          'Not this sign-in',
          'This is not the sign-in gitfleet login is waiting for (its state does not match): open the URL it printed last.',
        );
        warn('ignored a sign-in answer whose state does not match: still waiting for this one\n');
        return;
      }
      done = true;
      clearTimeout(timer);
      const fail = (message: string) => {
        void answer(res, 400, 'Not signed in', message).then(() => reject(refused(message)));
      };
      if (params.has('iss') && params.get('iss') !== expected.issuer) {
        fail(`the answer came from ${params.get('iss')}, not from the identity provider ${expected.issuer}`);
        return;
      }
      const error = params.get('error');
      if (error) {
        const description = params.get('error_description');
        fail(`the identity provider did not sign you in: ${error}${description ? ` (${description})` : ''}`);
        return;
      }
      const code = params.get('code');
      if (!code) {
        fail('the identity provider sent no code');
        return;
      }
      resolve({ code, respond: (status, title, text) => answer(res, status, title, text) });
    });
  });
}

async function ssoLogin(ctx: Context, input: Input, server: string): Promise<number> {
  if (ctx.flags.token || input.bool('token-stdin')) {
    throw new UsageError('--sso signs in without a token: leave out --token and --token-stdin', 'login');
  }
  const timeoutMs = parseDuration(input.string('timeout') ?? DEFAULT_SSO_TIMEOUT, '--timeout');
  const sso = await new Client({ server, token: '' }).get<Sso>('/api/v1/sso');
  const issuer = sso.issuer;
  const discovery = await providerJson(
    new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`),
    {},
    'the request for its discovery document',
  );
  if (discovery.issuer !== issuer) {
    throw refused(
      `the identity provider's discovery document names issuer ${JSON.stringify(discovery.issuer)}, but the control plane says ${issuer}`,
    );
  }
  const authorizationEndpoint = providerUrl(
    discovery.authorization_endpoint,
    'authorization endpoint',
    issuer,
  );
  const tokenEndpoint = providerUrl(discovery.token_endpoint, 'token endpoint', issuer);

  const listener = createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    const redirectUri = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/callback`;
    const state = random();
    const nonce = random();
    const verifier = random();
    const challenge = base64url(createHash('sha256').update(verifier).digest());
    const url = new URL(authorizationEndpoint);
    for (const [key, value] of Object.entries({
      response_type: 'code',
      client_id: sso.clientId,
      redirect_uri: redirectUri,
      scope: sso.scopes.join(' '),
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })) {
      url.searchParams.set(key, value);
    }
    note(
      ctx,
      `To sign in at ${issuer}, open this URL in a browser:\n\n  ${url.href}\n\nWaiting for the sign-in (at most ${formatDuration(timeoutMs)})...\n`,
    );
    if (!input.bool('no-browser')) openBrowser(url.href);
    const callback = await awaitCallback(listener, { state, issuer }, timeoutMs, (text) => ctx.io.err(text));

    let token: string;
    let who: WhoAmI;
    try {
      const tokens = await providerJson(
        tokenEndpoint,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code: callback.code,
            redirect_uri: redirectUri,
            client_id: sso.clientId,
            code_verifier: verifier,
          }),
        },
        'the code',
      );
      const idToken = typeof tokens.id_token === 'string' ? tokens.id_token : undefined;
      const claims = idToken ? claimsOf(idToken) : undefined;
      if (!idToken || !claims) {
        throw refused(
          `the identity provider returned no ID token: is openid among the scopes (${sso.scopes.join(' ')})?`,
        );
      }
      if (claims.nonce !== nonce || claims.iss !== issuer || ![claims.aud].flat().includes(sso.clientId)) {
        throw refused('the ID token is not for this sign-in (its nonce, issuer or audience does not match)');
      }
      token = idToken;
      who = await new Client({ server, token }).get<WhoAmI>('/api/v1/whoami');
    } catch (err) {
      await callback.respond(400, 'Not signed in', `gitfleet login failed: ${(err as Error).message}`);
      throw err;
    }
    await callback.respond(
      200,
      'Signed in',
      `Signed in to ${server} as ${who.name}. You can close this tab.`,
    );
    writeConfig(ctx.configFile, { server, token });
    const exp = claimsOf(token)?.exp;
    const expiresAt = typeof exp === 'number' ? new Date(exp * 1000).toISOString() : undefined;
    const projects = Object.entries(who.projects).map(([project, role]) => `${project} (${role})`);
    const result = {
      server,
      config: ctx.configFile,
      name: who.name,
      role: who.role,
      projects: who.projects,
      expiresAt,
    };
    emit(ctx, result, () =>
      renderFields([
        ['Logged in to', server],
        ['As', `${who.name} (${who.role})`],
        ['Projects', projects.join(', ')],
        ['Expires', expiresAt],
        ['Saved in', ctx.configFile],
      ]),
    );
    return 0;
  } finally {
    listener.closeAllConnections();
    listener.close();
  }
}

const logout: CommandSpec = {
  name: 'logout',
  summary: 'Forget the saved token (the server URL is kept for the next login)',
  usage: '',
  minArgs: 0,
  maxArgs: 0,
  async run(ctx) {
    const stored = readConfig(ctx.configFile);
    if (stored.server) writeConfig(ctx.configFile, { server: stored.server });
    else removeConfig(ctx.configFile);
    ctx.io.err(
      stored.token
        ? `Logged out${stored.server ? ` of ${stored.server}` : ''}: the token is removed from ${ctx.configFile}\n`
        : `Not logged in: ${ctx.configFile} holds no token\n`,
    );
    if (ctx.env.GITFLEET_TOKEN) ctx.io.err('Note: GITFLEET_TOKEN is set and still applies\n');
    return 0;
  },
};

export const authCommands: CommandSpec[] = [login, logout];
