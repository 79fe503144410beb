// A real OpenID Connect provider on loopback (the certified oidc-provider package), for the
// OIDC tests: discovery, a JWKS, and JWT access tokens from a real client_credentials grant,
// with the client's groups in them. Its signing key lives in the test process, so a test can
// also sign tokens the provider never would (expired, not yet valid) with the real key, and
// rotate() replaces the key the way an identity provider does, at the same address.

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

export interface TestOidcProviderOptions {
  clients?: TestOidcClient[];
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

export async function startOidcProvider(options: TestOidcProviderOptions = {}): Promise<TestOidcProvider> {
  const clients = options.clients ?? TEAMS;
  const audiences = options.audiences ?? ['gitfleet', 'another-service'];
  const secrets = new Map(clients.map((c) => [c.id, randomBytes(24).toString('base64url')]));
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const tokenEndpoint = `${issuer}/token`;
  let key = options.key ?? (await generateSigningKey());
  let server: Server | undefined;

  const configuration = (signing: SigningKey) => ({
    adapter: memoryAdapter(),
    ttl: { ClientCredentials: 300 },
    clients: clients.map((c) => ({
      client_id: c.id,
      client_secret: secrets.get(c.id),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signing.jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: {
      devInteractions: { enabled: false },
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
