// OpenID Connect bearer tokens: a person or a workload signs in at the installation's identity
// provider and calls the API with the JWT access token it issued. The provider is found by
// discovery, its signing keys are fetched from its JWKS (again when a token names a key not
// seen yet, so a key rotation needs no restart), and the token's groups decide the role.
//
// Every refusal is DomainError Unauthorized with a message that says what is wrong with the
// token (never the token itself) and `details.reason`, a short stable word for logs and tests.
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { DomainError } from '../errors.ts';

export interface OidcSettings {
  /** Exactly as the provider names itself in its discovery document and in the tokens' `iss`. */
  issuer: string;
  /** The `aud` tokens must carry: the API is one resource server among the provider's. */
  audience: string;
  groupsClaim: string;
  adminGroups: string[];
  viewerGroups: string[];
  clockSkewSeconds: number;
  algorithms: string[];
}

export interface OidcIdentity {
  name: string;
  subject: string;
  /** The installation-wide role; 'none' when only projects give the caller one (see verify). */
  role: 'admin' | 'viewer' | 'none';
  groups: string[];
  issuer: string;
}

export type OidcRefusal =
  | 'malformed'
  | 'alg-none'
  | 'alg-hmac'
  | 'alg-not-allowed'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'expired'
  | 'not-yet-valid'
  | 'missing-claim'
  | 'invalid-claim'
  | 'bad-signature'
  | 'unknown-key'
  | 'ambiguous-key'
  | 'provider-unreachable'
  | 'discovery-mismatch'
  | 'no-role';

/** What the API answers for a refused OpenID Connect token. */
export const oidcRefused = (reason: OidcRefusal, message: string) =>
  new DomainError('Unauthorized', message, { reason });

const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
// The asymmetric algorithms jose verifies: a provider's tokens are checked with its public keys,
// so a symmetric one would let anyone holding those keys mint tokens.
const ASYMMETRIC = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);
const MAX_TOKEN_LENGTH = 16 * 1024;

const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** True for a URL the provider may be reached at: HTTPS, or plain HTTP on this machine only. */
function acceptableUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost');
}

/** GITFLEET_OIDC_*; undefined when GITFLEET_OIDC_ISSUER is unset (OpenID Connect is off). */
export function oidcSettingsFromEnv(env: NodeJS.ProcessEnv): OidcSettings | undefined {
  const issuer = env.GITFLEET_OIDC_ISSUER?.trim();
  if (!issuer) return undefined;
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(
      `GITFLEET_OIDC_ISSUER "${issuer}" is not a URL: use the provider's issuer, e.g. https://idp.example.com`,
    );
  }
  if (!acceptableUrl(url)) {
    throw new Error(
      `GITFLEET_OIDC_ISSUER "${issuer}" must be an https:// URL (plain http:// is accepted only for http://127.0.0.1 and http://localhost, for tests and an identity provider on this machine)`,
    );
  }
  const audience = env.GITFLEET_OIDC_AUDIENCE?.trim();
  if (!audience) {
    throw new Error(
      'GITFLEET_OIDC_AUDIENCE is required with GITFLEET_OIDC_ISSUER: the audience (aud) the provider puts in access tokens for this API',
    );
  }
  const groupsClaim = env.GITFLEET_OIDC_GROUPS_CLAIM?.trim() || 'groups';
  const adminGroups = list(env.GITFLEET_OIDC_ADMIN_GROUPS);
  const viewerGroups = list(env.GITFLEET_OIDC_VIEWER_GROUPS);
  if (adminGroups.length === 0 && viewerGroups.length === 0) {
    throw new Error(
      'GITFLEET_OIDC_ADMIN_GROUPS or GITFLEET_OIDC_VIEWER_GROUPS must name at least one group (comma-separated): without them no one signing in has a role',
    );
  }
  const rawSkew = env.GITFLEET_OIDC_CLOCK_SKEW_SECONDS?.trim() || '60';
  const clockSkewSeconds = Number(rawSkew);
  if (!/^\d+$/.test(rawSkew) || clockSkewSeconds > 300) {
    throw new Error(
      `GITFLEET_OIDC_CLOCK_SKEW_SECONDS "${rawSkew}" must be a whole number of seconds from 0 to 300`,
    );
  }
  const algorithms =
    env.GITFLEET_OIDC_ALGORITHMS === undefined ? DEFAULT_ALGORITHMS : list(env.GITFLEET_OIDC_ALGORITHMS);
  if (algorithms.length === 0) {
    throw new Error(
      `GITFLEET_OIDC_ALGORITHMS is empty: name the signing algorithms to accept, e.g. ${DEFAULT_ALGORITHMS.join(',')}`,
    );
  }
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none') {
      throw new Error(
        'GITFLEET_OIDC_ALGORITHMS must not contain "none": unsigned tokens would let anyone be anyone',
      );
    }
    if (/^HS/i.test(alg)) {
      throw new Error(
        `GITFLEET_OIDC_ALGORITHMS must not contain ${alg}: HMAC tokens are signed with a shared secret, and the provider's keys here are public`,
      );
    }
    if (!ASYMMETRIC.has(alg)) {
      throw new Error(
        `GITFLEET_OIDC_ALGORITHMS: unknown algorithm "${alg}" (known: ${[...ASYMMETRIC].join(', ')})`,
      );
    }
  }
  return { issuer, audience, groupsClaim, adminGroups, viewerGroups, clockSkewSeconds, algorithms };
}

/**
 * Sign-in for people (the dashboard, `gitfleet login --sso`): the provider's public client
 * they sign in with by authorization code and PKCE, and the scopes asked for. The ID token
 * they get is the bearer, so its `aud`, the client id, is what GITFLEET_OIDC_AUDIENCE names.
 */
export interface SsoSettings {
  issuer: string;
  clientId: string;
  scopes: string[];
}

const DEFAULT_SSO_SCOPES = ['openid', 'email', 'groups'];

/** GITFLEET_OIDC_CLIENT_ID and GITFLEET_OIDC_SCOPES; undefined when no client is set (API tokens only). */
export function ssoSettingsFromEnv(env: NodeJS.ProcessEnv): SsoSettings | undefined {
  const clientId = env.GITFLEET_OIDC_CLIENT_ID?.trim();
  const rawScopes = env.GITFLEET_OIDC_SCOPES?.trim();
  if (!clientId) {
    if (rawScopes) {
      throw new Error(
        'GITFLEET_OIDC_SCOPES is set without GITFLEET_OIDC_CLIENT_ID: set the client people sign in with, or remove the scopes',
      );
    }
    return undefined;
  }
  const issuer = env.GITFLEET_OIDC_ISSUER?.trim();
  if (!issuer) {
    throw new Error(
      'GITFLEET_OIDC_CLIENT_ID needs GITFLEET_OIDC_ISSUER: the identity provider people sign in at',
    );
  }
  if (!/^[\x21-\x7e]+$/.test(clientId)) {
    throw new Error(
      `GITFLEET_OIDC_CLIENT_ID ${JSON.stringify(clientId)} is not valid: a client id is printable ASCII without spaces`,
    );
  }
  const scopes = rawScopes ? rawScopes.split(/[\s,]+/).filter(Boolean) : DEFAULT_SSO_SCOPES;
  if (!scopes.includes('openid')) {
    throw new Error(
      `GITFLEET_OIDC_SCOPES "${rawScopes}" must include openid: without it the provider issues no ID token to sign in with`,
    );
  }
  return { issuer, clientId, scopes: [...new Set(scopes)] };
}

/** Shaped like a compact JWS, the signature possibly empty: worth trying as an OpenID Connect token. */
export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_LENGTH && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

export interface OidcVerifierOptions {
  /**
   * How soon after fetching the keys a token naming an unknown key fetches them again (jose's
   * cooldown, which keeps forged key ids from turning into a flood of requests to the provider).
   */
  jwksCooldownMs?: number;
  /** Bound of each request to the provider (discovery, keys). */
  timeoutMs?: number;
}

/** A claim value fit for a message: short, and quoted so odd characters stay visible. */
const shown = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};
const when = (seconds: unknown) =>
  typeof seconds === 'number' && Number.isFinite(seconds)
    ? new Date(seconds * 1000).toISOString()
    : shown(seconds);

export class OidcVerifier {
  readonly settings: OidcSettings;
  readonly #options: Required<OidcVerifierOptions>;
  #keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(settings: OidcSettings, options: OidcVerifierOptions = {}) {
    this.settings = settings;
    this.#options = {
      jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
      timeoutMs: options.timeoutMs ?? 5_000,
    };
  }

  /** For the auth hook: OpenID Connect is tried only for JWT-shaped bearer tokens. */
  accepts(token: string): boolean {
    return looksLikeJwt(token);
  }

  /**
   * `projectGroups`: the groups that have a role in some project. A caller in none of the
   * installation's groups but in one of those is let through with role 'none' (the projects
   * say what they may do); in neither, refused.
   */
  async verify(token: string, projectGroups: ReadonlySet<string> = new Set()): Promise<OidcIdentity> {
    const { issuer, audience, algorithms, clockSkewSeconds } = this.settings;
    if (!looksLikeJwt(token)) {
      throw oidcRefused(
        'malformed',
        'the bearer token is not a well-formed JWT (three base64url parts separated by dots)',
      );
    }
    let alg: unknown;
    let kid: unknown;
    let unverified: JWTPayload;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
      unverified = decodeJwt(token);
    } catch {
      throw oidcRefused(
        'malformed',
        'the bearer token is not a well-formed JWT: its header or payload is not base64url-encoded JSON',
      );
    }
    if (typeof alg !== 'string') throw oidcRefused('malformed', 'the token names no signing algorithm (alg)');
    if (alg.toLowerCase() === 'none') {
      throw oidcRefused(
        'alg-none',
        'the token is unsigned (alg: none): only tokens signed by the identity provider are accepted',
      );
    }
    if (/^HS/i.test(alg)) {
      throw oidcRefused(
        'alg-hmac',
        `the token is HMAC-signed (alg: ${shown(alg)}): only tokens signed with the identity provider's private keys are accepted`,
      );
    }
    if (!algorithms.includes(alg)) {
      throw oidcRefused(
        'alg-not-allowed',
        `the token is signed with ${shown(alg)}, which is not allowed (GITFLEET_OIDC_ALGORITHMS: ${algorithms.join(', ')})`,
      );
    }
    // Checked before the keys are looked up: a token of another provider names keys this one
    // does not have, and "unknown key" would hide the real mistake (and cost a refetch).
    if (unverified.iss !== issuer) {
      throw oidcRefused(
        'wrong-issuer',
        `the token was issued by ${shown(unverified.iss)}, not by the configured identity provider ${issuer}`,
      );
    }
    const keys = await this.#keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms,
        clockTolerance: clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw this.#refusal(err, kid);
    }
    return this.#identity(payload, projectGroups);
  }

  #identity(payload: JWTPayload, projectGroups: ReadonlySet<string>): OidcIdentity {
    const { groupsClaim, adminGroups, viewerGroups, issuer } = this.settings;
    const subject = payload.sub as string;
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
    const name = text(payload.email) ?? text(payload.preferred_username) ?? subject;
    const claim = claimAt(payload, groupsClaim);
    const groups =
      typeof claim === 'string'
        ? [claim]
        : Array.isArray(claim)
          ? claim.filter((g): g is string => typeof g === 'string')
          : [];
    const role = groups.some((g) => adminGroups.includes(g))
      ? 'admin'
      : groups.some((g) => viewerGroups.includes(g))
        ? 'viewer'
        : groups.some((g) => projectGroups.has(g))
          ? 'none'
          : undefined;
    if (!role) {
      const named = (gs: string[]) => (gs.length > 0 ? gs.join(', ') : '(none)');
      throw oidcRefused(
        'no-role',
        `${name} signed in, but in none of the groups that have a role: admin ${named(adminGroups)}; viewer ${named(viewerGroups)} (the token's "${groupsClaim}" claim: ${claim === undefined ? 'absent' : shown(groups)})`,
      );
    }
    return { name, subject, role, groups, issuer };
  }

  #refusal(err: unknown, kid: unknown): Error {
    if (err instanceof DomainError) return err;
    const { audience, clockSkewSeconds } = this.settings;
    if (err instanceof errors.JWTExpired) {
      return oidcRefused(
        'expired',
        `the token expired at ${when(err.payload.exp)} (clock skew allowed: ${clockSkewSeconds} s): get a new one from the identity provider`,
      );
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      const value = err.payload[err.claim];
      if (err.reason === 'missing') {
        return oidcRefused('missing-claim', `the token has no "${err.claim}" claim, which is required`);
      }
      switch (err.claim) {
        case 'nbf':
          return oidcRefused(
            'not-yet-valid',
            `the token is not valid before ${when(value)} (clock skew allowed: ${clockSkewSeconds} s): check the clocks of this machine and the identity provider`,
          );
        case 'aud':
          return oidcRefused(
            'wrong-audience',
            `the token is for audience ${shown(value)}, not ${shown(audience)} (GITFLEET_OIDC_AUDIENCE): request it for this API's resource`,
          );
        case 'iss':
          return oidcRefused(
            'wrong-issuer',
            `the token was issued by ${shown(value)}, not by ${this.settings.issuer}`,
          );
        default:
          return oidcRefused(
            'invalid-claim',
            `the token's "${err.claim}" claim ${shown(value)} is not valid`,
          );
      }
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return oidcRefused(
        'bad-signature',
        `the token's signature does not verify with the identity provider's key ${shown(kid)}: it was altered or not signed by the provider`,
      );
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      return oidcRefused(
        'unknown-key',
        `the token is signed with key ${shown(kid)}, which is not among the keys the identity provider publishes (they are fetched again for an unknown key, at most every ${this.#options.jwksCooldownMs / 1000} s): a key rotated out? get a new token`,
      );
    }
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      return oidcRefused(
        'ambiguous-key',
        'the token names no key id (kid) and the identity provider publishes several keys for its algorithm',
      );
    }
    if (err instanceof errors.JOSEAlgNotAllowed) {
      return oidcRefused(
        'alg-not-allowed',
        `the token's signing algorithm is not allowed (GITFLEET_OIDC_ALGORITHMS: ${this.settings.algorithms.join(', ')})`,
      );
    }
    if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
      return oidcRefused('malformed', `the bearer token is not a well-formed JWT: ${err.message}`);
    }
    if (err instanceof errors.JOSENotSupported) {
      return oidcRefused('alg-not-allowed', `the token's key or algorithm is not supported: ${err.message}`);
    }
    return oidcRefused(
      'invalid-claim',
      `the token could not be verified: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  /** The provider's keys, found by discovery on first use; a failed discovery is tried again next time. */
  #keySet(): Promise<JWTVerifyGetKey> {
    if (!this.#keys) {
      const pending = this.#discover();
      this.#keys = pending;
      pending.catch(() => {
        if (this.#keys === pending) this.#keys = undefined;
      });
    }
    return this.#keys;
  }

  async #discover(): Promise<JWTVerifyGetKey> {
    const { issuer } = this.settings;
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${url}`);
      document = (await res.json()) as typeof document;
    } catch (err) {
      throw this.#unreachable(err);
    }
    if (document.issuer !== issuer) {
      throw oidcRefused(
        'discovery-mismatch',
        `the identity provider's discovery document (${url}) names issuer ${shown(document.issuer)}, but GITFLEET_OIDC_ISSUER is ${shown(issuer)}: they must be identical`,
      );
    }
    let jwksUri: URL | undefined;
    try {
      jwksUri = typeof document.jwks_uri === 'string' ? new URL(document.jwks_uri) : undefined;
    } catch {
      jwksUri = undefined;
    }
    if (!jwksUri || !acceptableUrl(jwksUri)) {
      throw oidcRefused(
        'discovery-mismatch',
        `the identity provider's discovery document (${url}) has no usable jwks_uri (${shown(document.jwks_uri)}): it must be an https:// URL`,
      );
    }
    const remote = createRemoteJWKSet(jwksUri, {
      cooldownDuration: this.#options.jwksCooldownMs,
      timeoutDuration: this.#options.timeoutMs,
    });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        if (
          err instanceof errors.JWKSNoMatchingKey ||
          err instanceof errors.JWKSMultipleMatchingKeys ||
          err instanceof errors.JOSENotSupported
        ) {
          throw err;
        }
        throw this.#unreachable(err);
      }
    };
  }

  #unreachable(err: unknown): DomainError {
    const cause =
      err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    return oidcRefused(
      'provider-unreachable',
      `the identity provider ${this.settings.issuer} could not be reached (${cause}): retry in a few seconds`,
    );
  }
}

/**
 * A claim by name, or by a dotted path into nested claims when no claim has that name
 * (Keycloak puts roles in `realm_access.roles`).
 */
export function claimAt(payload: Record<string, unknown>, name: string): unknown {
  if (name in payload) return payload[name];
  let at: unknown = payload;
  for (const part of name.split('.')) {
    if (!at || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}
