// A real OpenID Connect provider on loopback (the certified oidc-provider package), for the
// OIDC tests: discovery, a JWKS, and JWT access tokens from a real client_credentials grant,
// with the client's groups in them. Its signing key lives in the test process, so a test can
// also sign tokens the provider never would (expired, not yet valid) with the real key, and
// rotate() replaces the key the way an identity provider does, at the same address.
//
// Given `people`, it also signs people in: the provider's own development login and consent
// pages (any password), the public client `gitfleet` (no secret, PKCE) a browser or the CLI
// signs in with by authorization code, and ID tokens with the person's email and groups.

import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { errors, Provider } from 'oidc-provider';
import { freePort } from './process.ts';

export interface TestOidcClient {
  id: string;
  groups: string[];
  email?: string;
  preferredUsername?: string;
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The private JWK the provider signs with. */
  jwk: JWK;
}

export const ALG = 'RS256';

export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = `test-${randomBytes(6).toString('hex')}`;
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: ALG, use: 'sig' };
  return { kid, privateKey, publicKey, jwk };
}

/** The teams: in an admin group, in a viewer group, in a group with no role (GITFLEET_OIDC_*_GROUPS in the tests). */
export const TEAMS: TestOidcClient[] = [
  { id: 'team-a', groups: ['platform-admins'], email: 'team-a@example.com' },
  { id: 'team-b', groups: ['shop-viewers'], preferredUsername: 'team-b-bot' },
  { id: 'team-c', groups: ['interns'] },
];

/** A person who signs in at the login page with their email (and any password). */
export interface TestPerson {
  email: string;
  groups: string[];
}

export const PEOPLE: TestPerson[] = [
  { email: 'sam@shop.example', groups: ['shop-team'] },
  { email: 'ada@example.com', groups: ['platform-admins'] },
];

/** The client people sign in with: public (PKCE, no secret), so its ID tokens' `aud` is this. */
export const PUBLIC_CLIENT = 'gitfleet';
/** The CLI's redirect: a native client's loopback URI matches whatever port the CLI listens on. */
export const LOOPBACK_REDIRECT = 'http://127.0.0.1/callback';

export interface TestOidcProviderOptions {
  clients?: TestOidcClient[];
  /** People who may sign in; without them there are no login pages and no public client. */
  people?: TestPerson[];
  /** Redirect URIs of the public client besides the CLI's loopback one (a dashboard's `<url>/`). */
  redirectUris?: string[];
  /** Resource servers by audience: a token is asked for one with `resource=urn:test:<audience>`. */
  audiences?: string[];
  key?: SigningKey;
  /** Listen on this port (say, one a verifier already points at); a free one otherwise. */
  port?: number;
}

export interface TestOidcProvider {
  readonly issuer: string;
  readonly port: number;
  /** The key it signs with now. */
  readonly key: SigningKey;
  /** A JWT access token from a real client_credentials grant at the token endpoint. */
  token(client: string, options?: { audience?: string }): Promise<string>;
  /**
   * Signs `email` in the way a browser would, over plain HTTP: opens `authorizationUrl`, fills
   * in the login page, gives consent, and returns the URL the provider then redirects to (the
   * client's redirect URI with the code and state), without requesting it.
   */
  signIn(authorizationUrl: string, email: string): Promise<string>;
  /** A token signed with its current key, with these claims (iss and kid set unless given). */
  sign(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  /** Restarts it at the same address with a new signing key; the old one is no longer published. */
  rotate(): Promise<SigningKey>;
  stop(): Promise<void>;
}

type Payload = Record<string, unknown>;

// Given explicitly, so that the provider does not warn at every start that its default one is
// for development only: a test provider keeps nothing across a restart anyway.
function memoryAdapter() {
  const store = new Map<string, Payload>();
  const where = (match: (p: Payload) => boolean) => [...store.entries()].filter(([, p]) => match(p));
  return class MemoryAdapter {
    readonly model: string;
    constructor(model: string) {
      this.model = model;
    }
    key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Payload) {
      store.set(this.key(id), payload);
    }
    async find(id: string) {
      return store.get(this.key(id));
    }
    async findByUid(uid: string) {
      return where((p) => p.uid === uid)[0]?.[1];
    }
    async findByUserCode(userCode: string) {
      return where((p) => p.userCode === userCode)[0]?.[1];
    }
    async consume(id: string) {
      const payload = store.get(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [key] of where((p) => p.grantId === grantId)) store.delete(key);
    }
  };
}

export const resourceFor = (audience: string) => `urn:test:${audience}`;

interface SignInClient {
  clientAuthMethod: string;
  redirectUris: string[];
}

/** Accounts, the claims of the sign-in scopes, and CORS for the public client's pages. */
function signInConfiguration(people: TestPerson[]) {
  return {
    findAccount: async (_ctx: unknown, id: string) => {
      const person = people.find((p) => p.email === id);
      if (!person) return undefined;
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          email: person.email,
          email_verified: true,
          groups: person.groups,
        }),
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
    // The ID token is what people call the API with, so it carries the email and groups
    // even when an access token comes with it (by default those go to userinfo only).
    conformIdTokenClaims: false,
    // A page may call the token endpoint from the origin of one of its client's redirect URIs.
    clientBasedCORS: (_ctx: unknown, origin: string, client: SignInClient) =>
      client.clientAuthMethod === 'none' &&
      client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin),
  };
}

/** The cookies a browser would keep between the provider's pages (paths aside: one site). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => {
        const [key = '', v = ''] = a.split('=').map((x) => x.trim());
        return (
          (key.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) ||
          (key.toLowerCase() === 'max-age' && Number(v) <= 0)
        );
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const unescapeHtml = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : "'",
  );

async function signInOverHttp(issuer: string, authorizationUrl: string, email: string): Promise<string> {
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  let form: URLSearchParams | undefined;
  const seen: string[] = [];
  for (let hop = 0; hop < 20; hop++) {
    seen.push(`${form ? 'POST' : 'GET'} ${url.pathname}`);
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: form } : {}),
    });
    jar.take(res);
    form = undefined;
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      // Leaving the provider: this is the client's redirect URI, for the caller to deliver.
      if (next.origin !== new URL(issuer).origin) return next.href;
      url = next;
      continue;
    }
    const page = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(page)?.[1];
    if (res.status !== 200 || !action || (prompt !== 'login' && prompt !== 'consent')) {
      throw new Error(
        `signing ${email} in: ${res.status} at ${url.pathname} after ${seen.join(', ')}: ${page
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 300)}`,
      );
    }
    url = new URL(unescapeHtml(action), url);
    form = new URLSearchParams(
      prompt === 'login' ? { prompt, login: email, password: 'any password' } : { prompt },
    );
  }
  throw new Error(`signing ${email} in: no redirect to the client after ${seen.join(', ')}`);
}

export async function startOidcProvider(options: TestOidcProviderOptions = {}): Promise<TestOidcProvider> {
  const clients = options.clients ?? TEAMS;
  const audiences = options.audiences ?? ['gitfleet', 'another-service'];
  const secrets = new Map(clients.map((c) => [c.id, randomBytes(24).toString('base64url')]));
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const tokenEndpoint = `${issuer}/token`;
  let key = options.key ?? (await generateSigningKey());
  let server: Server | undefined;

  const people = options.people;
  const publicClients = people
    ? [
        {
          client_id: PUBLIC_CLIENT,
          // Native: loopback redirect URIs match on any port, as the CLI's must (RFC 8252).
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [LOOPBACK_REDIRECT, ...(options.redirectUris ?? [])],
        },
      ]
    : [];

  const configuration = (signing: SigningKey) => ({
    adapter: memoryAdapter(),
    // All given, so that the provider does not note at every start that its defaults are
    // for development.
    ttl: {
      ClientCredentials: 300,
      AccessToken: 300,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    clients: [
      ...clients.map((c) => ({
        client_id: c.id,
        client_secret: secrets.get(c.id),
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      ...publicClients,
    ],
    ...(people ? signInConfiguration(people) : {}),
    jwks: { keys: [signing.jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: {
      // The provider's own login and consent pages; it warns at start that they are for
      // development, so only providers that sign people in have them.
      devInteractions: { enabled: Boolean(people) },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string) => oneOf,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          const audience = audiences.find((a) => resourceFor(a) === resource);
          if (!audience) throw new errors.InvalidTarget(`no resource server ${resource}`);
          return {
            audience,
            scope: 'api',
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: ALG } },
          };
        },
      },
    },
    extraTokenClaims: async (_ctx: unknown, token: { clientId?: string }) => {
      const client = clients.find((c) => c.id === token.clientId);
      if (!client) return undefined;
      return {
        groups: client.groups,
        ...(client.email ? { email: client.email } : {}),
        ...(client.preferredUsername ? { preferred_username: client.preferredUsername } : {}),
      };
    },
  });

  const listen = (signing: SigningKey) =>
    new Promise<Server>((resolve, reject) => {
      const provider = new Provider(issuer, configuration(signing));
      const s = provider.listen(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  const close = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    // Keep-alive connections of the verifier would otherwise hold the old provider open.
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  };

  server = await listen(key);
  return {
    issuer,
    port,
    get key() {
      return key;
    },
    async token(client, { audience = 'gitfleet' } = {}) {
      const secret = secrets.get(client);
      if (!secret) throw new Error(`the test provider has no client ${client}`);
      const res = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(client)}:${encodeURIComponent(secret)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: resourceFor(audience) }),
      });
      const body = (await res.json()) as {
        access_token?: string;
        error?: string;
        error_description?: string;
      };
      if (res.status !== 200 || !body.access_token) {
        throw new Error(
          `token request for ${client} failed: ${res.status} ${body.error}: ${body.error_description}`,
        );
      }
      return body.access_token;
    },
    signIn(authorizationUrl, email) {
      return signInOverHttp(issuer, authorizationUrl, email);
    },
    sign(claims, header = {}) {
      return new SignJWT({ iss: issuer, ...claims })
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'at+jwt', ...header })
        .sign(key.privateKey);
    },
    async rotate() {
      await close();
      key = await generateSigningKey();
      server = await listen(key);
      return key;
    },
    stop: close,
  };
}
