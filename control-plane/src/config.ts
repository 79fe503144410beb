// Configuration from the environment, with local defaults that make `make up` work on one
// machine. Every value is validated here, so a bad setting stops the process at start with
// a message naming the variable, instead of failing later somewhere else.

import { randomBytes } from 'node:crypto';
import { type OidcSettings, oidcSettingsFromEnv, type SsoSettings, ssoSettingsFromEnv } from './auth/oidc.ts';
import { DEFAULT_READ_LIMITS } from './git/mirror.ts';
import { type NotificationOptions, notificationOptions } from './notifications/options.ts';
import { type ApiToken, parseApiTokens } from './routes/auth.ts';
import { parseClusterNodes, parseSentinels, type RedisTarget } from './store/connect.ts';
import { decodeSecretKey, SecretBox } from './store/secrets.ts';

export interface Config {
  redisUrl: string;
  /**
   * Where Redis is: `redisUrl`, the primary the sentinels name, or a Redis Cluster (and the
   * passwords).
   */
  redis: RedisTarget;
  /**
   * Replicas that must hold a status report before the agent is told it is stored (WAIT): a
   * failover then cannot lose an acknowledged report. 1 with sentinels or a Cluster, else 0.
   */
  redisWaitReplicas: number;
  redisWaitTimeoutMs: number;
  /** Redis key prefix (several installations or test runs can share one Redis). */
  redisPrefix: string;
  httpHost: string;
  httpPort: number;
  /** Certificate and key of the REST API (PEM files); without them it speaks plain HTTP. */
  apiTlsCertFile: string | undefined;
  apiTlsKeyFile: string | undefined;
  grpcHost: string;
  grpcPort: number;
  /** The address agents dial, printed in the helm command (host:port). */
  grpcPublicAddress: string;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  /** Host names and IPs in a generated certificate. */
  tlsHosts: string[];
  dataDir: string;
  apiTokens: ApiToken[];
  /** True when no token was configured and one was generated (printed once at start). */
  generatedAdminToken: boolean;
  webhookSecret: string | undefined;
  /**
   * Seals fleets' Git and chart credentials in Redis: GITFLEET_SECRET_KEY, and during a
   * rotation GITFLEET_SECRET_KEY_PREVIOUS. The keys stay inside it (nothing that prints the
   * configuration prints them).
   */
  secrets: SecretBox;
  /** OpenID Connect sign-in (GITFLEET_OIDC_*); absent: only API tokens. */
  oidc: OidcSettings | undefined;
  /** Sign-in for people at that provider (GITFLEET_OIDC_CLIENT_ID, GITFLEET_OIDC_SCOPES); absent: none. */
  sso: SsoSettings | undefined;
  bootstrapTtlSeconds: number;
  pollIntervalSeconds: number;
  /** A Git server silent this long fails the fetch or push (a hung server must not stall a fleet). */
  gitTimeoutSeconds: number;
  heartbeatSeconds: number;
  agentChart: string;
  /** Domain of the author e-mail addresses in promotion commits (<caller>@<domain>). */
  commitEmailDomain: string;
  /** Largest file of a fleet read from Git, and largest total of a fleet's manifests (bytes). */
  gitMaxFileBytes: number;
  gitMaxFleetBytes: number;
  /** The real tools that render Helm and Kustomize sources (PATH names or absolute paths). */
  helmPath: string;
  kubectlPath: string;
  /** Bounds of one render subprocess, and how many run at once in this replica. */
  renderTimeoutSeconds: number;
  renderMaxMemoryMb: number;
  renderMaxOutputBytes: number;
  renderConcurrency: number;
  /** How long a replica's hold on a fleet lasts unrenewed: how soon a dead replica's fleets move. */
  fleetLeaseSeconds: number;
  /** Events kept in the history: at most this many, none older than this. */
  eventsRetainCount: number;
  eventsRetainHours: number;
  /** How long an event a script wrote waits for its writer before a sweeper records it. */
  eventsOutboxGraceMs: number;
  /** Test-only (GITFLEET_FAILPOINT): where the process kills itself, to test recovery. */
  failpoint: Failpoint | undefined;
  /** Notification delivery: GITFLEET_PUBLIC_URL, GITFLEET_NOTIFY_*. */
  notifications: NotificationOptions;
  logLevel: string;
}

/** after-event-script: the process dies right after a script that wrote events, before recording them. */
export type Failpoint = 'after-event-script';

function failpoint(env: NodeJS.ProcessEnv): Failpoint | undefined {
  const raw = env.GITFLEET_FAILPOINT;
  if (!raw) return undefined;
  if (raw === 'after-event-script') return raw;
  throw new Error(
    `GITFLEET_FAILPOINT=${raw} is not valid: it is for tests, and the one there is is after-event-script`,
  );
}

function int(env: NodeJS.ProcessEnv, key: string, fallback: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${key}=${raw} is not valid: use an integer ≥ ${min}`);
  return n;
}

const GENERATE_KEY = 'generate one with `openssl rand -base64 32`';

function secretKey(env: NodeJS.ProcessEnv, key: string): Buffer | undefined {
  const raw = env[key]?.trim();
  if (!raw) return undefined;
  const decoded = decodeSecretKey(raw);
  // The length only: a near-miss key is still mostly a key, and errors end up in logs.
  if (!decoded) {
    throw new Error(
      `${key} is not valid (${raw.length} characters): use 32 random bytes in base64 (44 characters) or hex (64 characters); ${GENERATE_KEY}`,
    );
  }
  return decoded;
}

function secretBox(env: NodeJS.ProcessEnv): SecretBox {
  const primary = secretKey(env, 'GITFLEET_SECRET_KEY');
  const previous = secretKey(env, 'GITFLEET_SECRET_KEY_PREVIOUS');
  // No default: a key generated per process would differ between replicas and restarts, and
  // every credential sealed with it would be lost with the process.
  if (!primary) {
    throw new Error(
      `GITFLEET_SECRET_KEY is not set: it is the key that seals fleets' Git and chart credentials in Redis, the same on every replica; ${GENERATE_KEY} and keep it (e.g. in a Kubernetes Secret)${previous ? '. GITFLEET_SECRET_KEY_PREVIOUS alone is not enough: it only opens values sealed before a rotation' : ''}`,
    );
  }
  return new SecretBox(primary, previous);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const httpPort = int(env, 'GITFLEET_HTTP_PORT', 8080);
  const grpcPort = int(env, 'GITFLEET_GRPC_PORT', 9090);
  let apiTokens = env.GITFLEET_API_TOKENS ? parseApiTokens(env.GITFLEET_API_TOKENS) : [];
  const generatedAdminToken = apiTokens.length === 0;
  if (generatedAdminToken) {
    apiTokens = [{ role: 'admin', name: 'admin', token: `gfa_${randomBytes(24).toString('base64url')}` }];
  }
  const grpcHost = env.GITFLEET_GRPC_HOST ?? '0.0.0.0';
  const apiTlsCertFile = env.GITFLEET_API_TLS_CERT_FILE || undefined;
  const apiTlsKeyFile = env.GITFLEET_API_TLS_KEY_FILE || undefined;
  if (Boolean(apiTlsCertFile) !== Boolean(apiTlsKeyFile)) {
    throw new Error(
      'GITFLEET_API_TLS_CERT_FILE and GITFLEET_API_TLS_KEY_FILE go together: set both (HTTPS) or neither (plain HTTP behind a TLS proxy)',
    );
  }
  const redisUrl = env.GITFLEET_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const sentinels = parseSentinels(env.GITFLEET_REDIS_SENTINELS);
  const clusterNodes = parseClusterNodes(env.GITFLEET_REDIS_CLUSTER_NODES);
  if (sentinels.length > 0 && clusterNodes.length > 0) {
    throw new Error(
      'GITFLEET_REDIS_SENTINELS and GITFLEET_REDIS_CLUSTER_NODES are both set: a Redis Cluster fails over by itself, without sentinels; set the one your Redis is',
    );
  }
  return {
    redisUrl,
    redis: {
      url: redisUrl,
      sentinels,
      sentinelMaster: env.GITFLEET_REDIS_SENTINEL_MASTER || 'gitfleet',
      clusterNodes,
      password: env.GITFLEET_REDIS_PASSWORD || undefined,
      sentinelPassword: env.GITFLEET_REDIS_SENTINEL_PASSWORD || undefined,
    },
    redisWaitReplicas: int(
      env,
      'GITFLEET_REDIS_WAIT_REPLICAS',
      sentinels.length > 0 || clusterNodes.length > 0 ? 1 : 0,
    ),
    redisWaitTimeoutMs: int(env, 'GITFLEET_REDIS_WAIT_TIMEOUT_MS', 2000, 1),
    redisPrefix: env.GITFLEET_REDIS_PREFIX ?? 'gitfleet',
    httpHost: env.GITFLEET_HTTP_HOST ?? '0.0.0.0',
    httpPort,
    apiTlsCertFile,
    apiTlsKeyFile,
    grpcHost,
    grpcPort,
    grpcPublicAddress: env.GITFLEET_GRPC_PUBLIC_ADDRESS ?? `127.0.0.1:${grpcPort}`,
    tlsCertFile: env.GITFLEET_TLS_CERT_FILE || undefined,
    tlsKeyFile: env.GITFLEET_TLS_KEY_FILE || undefined,
    tlsHosts: (env.GITFLEET_TLS_HOSTS ?? 'localhost,127.0.0.1')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    dataDir: env.GITFLEET_DATA_DIR ?? '.gitfleet/control-plane',
    apiTokens,
    generatedAdminToken,
    webhookSecret: env.GITFLEET_WEBHOOK_SECRET || undefined,
    secrets: secretBox(env),
    oidc: oidcSettingsFromEnv(env),
    sso: ssoSettingsFromEnv(env),
    bootstrapTtlSeconds: int(env, 'GITFLEET_BOOTSTRAP_TTL_SECONDS', 3600, 1),
    pollIntervalSeconds: int(env, 'GITFLEET_POLL_INTERVAL_SECONDS', 60, 1),
    gitTimeoutSeconds: int(env, 'GITFLEET_GIT_TIMEOUT_SECONDS', 60, 1),
    heartbeatSeconds: int(env, 'GITFLEET_HEARTBEAT_SECONDS', 20, 1),
    agentChart: env.GITFLEET_AGENT_CHART ?? 'charts/gitfleet-agent',
    commitEmailDomain: env.GITFLEET_COMMIT_EMAIL_DOMAIN ?? 'gitfleet.local',
    gitMaxFileBytes: int(env, 'GITFLEET_GIT_MAX_FILE_BYTES', DEFAULT_READ_LIMITS.maxFileBytes, 1),
    gitMaxFleetBytes: int(env, 'GITFLEET_GIT_MAX_FLEET_BYTES', DEFAULT_READ_LIMITS.maxTotalBytes, 1),
    helmPath: env.GITFLEET_HELM_PATH || 'helm',
    kubectlPath: env.GITFLEET_KUBECTL_PATH || 'kubectl',
    renderTimeoutSeconds: int(env, 'GITFLEET_RENDER_TIMEOUT_SECONDS', 30, 1),
    renderMaxMemoryMb: int(env, 'GITFLEET_RENDER_MAX_MEMORY_MB', 512, 16),
    renderMaxOutputBytes: int(env, 'GITFLEET_RENDER_MAX_OUTPUT_BYTES', 64 * 2 ** 20, 1024),
    renderConcurrency: int(env, 'GITFLEET_RENDER_CONCURRENCY', 2, 1),
    fleetLeaseSeconds: int(env, 'GITFLEET_FLEET_LEASE_SECONDS', 10, 1),
    eventsRetainCount: int(env, 'GITFLEET_EVENTS_RETAIN_COUNT', 100_000, 100),
    eventsRetainHours: int(env, 'GITFLEET_EVENTS_RETAIN_HOURS', 24 * 7, 1),
    eventsOutboxGraceMs: int(env, 'GITFLEET_EVENTS_OUTBOX_GRACE_MS', 5000, 100),
    failpoint: failpoint(env),
    notifications: notificationOptions(env),
    logLevel: env.GITFLEET_LOG_LEVEL ?? 'info',
  };
}
