// Where the agent's cluster is and how to authenticate to it: a kubeconfig file (the subset
// of client-go's format an agent needs) or the Pod's ServiceAccount.
//
// This replaces @kubernetes/client-node's KubeConfig, whose import alone cost the agent
// ~76 MiB of its resident memory (it loads every generated API and model).
//
// Supported: several files in $KUBECONFIG (merged as kubectl does: the first file defining a
// name wins), --context or current-context, cluster server / certificate-authority(-data) /
// insecure-skip-tls-verify / tls-server-name, user client-certificate(-data) /
// client-key(-data) / token / tokenFile / username+password / exec credential plugins; paths
// relative to the kubeconfig that names them. Refused with an error naming the field, rather
// than silently connecting otherwise: auth-provider, impersonation (as, as-groups, ...),
// proxy-url.
//
// Files are read again each time credentials are resolved (KubeClient does so every minute
// and after a 401), so rotated certificates and projected ServiceAccount tokens are picked up.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

export interface KubeConfigSource {
  // Path of a kubeconfig file. Without it, and without `inCluster`, the usual defaults apply:
  // in-cluster when running in a Pod, else $KUBECONFIG or ~/.kube/config.
  kubeconfig?: string;
  // Context to use from the kubeconfig file; its current context otherwise.
  context?: string;
  // The Pod's ServiceAccount (token, CA and namespace under /var/run/secrets).
  inCluster?: boolean;
}

// Bytes given inline (the `-data` fields, a `token`) or read from a file when needed.
export type Material = { data: Buffer } | { file: string };

export interface ExecPlugin {
  apiVersion: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  installHint: string | undefined;
}

export type UserAuth =
  | { type: 'none' }
  | { type: 'token'; token: Material }
  | { type: 'basic'; username: string; password: string }
  | { type: 'exec'; exec: ExecPlugin };

export interface ClusterAccess {
  // For messages: `in-cluster`, or `<file> context <name>`.
  source: string;
  // Without a trailing slash.
  server: string;
  // The context's namespace (in-cluster: the Pod's).
  namespace: string | undefined;
  ca: Material | undefined;
  insecureSkipTlsVerify: boolean;
  tlsServerName: string | undefined;
  clientCert: Material | undefined;
  clientKey: Material | undefined;
  auth: UserAuth;
}

// What a connection needs right now, files read.
export interface Credentials {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  authorization?: string;
}

export class KubeConfigError extends Error {
  readonly code = 'KubeConfigInvalid';
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function loadKubeConfig(source: KubeConfigSource = {}, env = process.env): ClusterAccess {
  if (source.inCluster) return inClusterAccess(env);
  if (source.kubeconfig) return fromFiles([source.kubeconfig], source.context, true);
  if (env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG && !source.context) return inClusterAccess(env);
  const paths = env.KUBECONFIG
    ? env.KUBECONFIG.split(delimiter).filter((p) => p !== '')
    : [join(homedir(), '.kube', 'config')];
  return fromFiles(paths, source.context, false);
}

export function inClusterAccess(env = process.env, dir = SERVICE_ACCOUNT_DIR): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError(
      'not running in a Pod (KUBERNETES_SERVICE_HOST/PORT are not set): pass --kubeconfig or set KUBECONFIG',
    );
  }
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    namespace = undefined;
  }
  return {
    source: 'in-cluster',
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    namespace,
    ca: { file: join(dir, 'ca.crt') },
    insecureSkipTlsVerify: false,
    tlsServerName: undefined,
    clientCert: undefined,
    clientKey: undefined,
    // Projected tokens rotate (hourly by default): read from the file each time.
    auth: { type: 'token', token: { file: join(dir, 'token') } },
  };
}

// One parsed kubeconfig file and the directory its relative paths are relative to.
export interface KubeconfigFile {
  path: string;
  config: unknown;
}

function fromFiles(paths: string[], context: string | undefined, explicit: boolean): ClusterAccess {
  const files: KubeconfigFile[] = [];
  for (const path of paths) {
    // Like kubectl, a $KUBECONFIG entry that does not exist is skipped; --kubeconfig must exist.
    if (!explicit && !existsSync(path)) continue;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new KubeConfigError(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
    }
    let config: unknown;
    try {
      config = parseYaml(text);
    } catch (err) {
      throw new KubeConfigError(`kubeconfig ${path} is not valid YAML: ${(err as Error).message}`);
    }
    files.push({ path: resolve(path), config });
  }
  if (files.length === 0) {
    throw new KubeConfigError(
      `no kubeconfig found (looked at ${paths.join(', ')}): pass --kubeconfig, set KUBECONFIG, or run in a Pod`,
    );
  }
  return accessFromKubeconfig(files, context);
}

// The yaml package is loaded only when a kubeconfig file is read: in a Pod the agent needs no
// YAML at all, and a module once loaded stays in memory.
function parseYaml(text: string): unknown {
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return parse(text);
}

interface Named {
  name: string;
  value: Record<string, unknown>;
  // Directory of the file it came from.
  dir: string;
}

// Pure: the access a context describes, from parsed kubeconfig files merged in order.
export function accessFromKubeconfig(files: KubeconfigFile[], context?: string): ClusterAccess {
  const where = files.map((f) => f.path).join(', ');
  const clusters = new Map<string, Named>();
  const users = new Map<string, Named>();
  const contexts = new Map<string, Named>();
  let currentContext: string | undefined;
  for (const file of files) {
    const doc = record(file.config ?? {}, `kubeconfig ${file.path}`);
    const dir = dirname(file.path);
    const collect = (key: string, field: string, into: Map<string, Named>) => {
      const list = doc[key] ?? [];
      if (!Array.isArray(list)) throw new KubeConfigError(`kubeconfig ${file.path}: ${key} must be a list`);
      for (const entry of list) {
        const e = record(entry, `kubeconfig ${file.path}: an entry of ${key}`);
        if (typeof e.name !== 'string' || e.name === '')
          throw new KubeConfigError(`kubeconfig ${file.path}: an entry of ${key} has no name`);
        if (!into.has(e.name))
          into.set(e.name, { name: e.name, value: record(e[field] ?? {}, `${key} ${e.name}`), dir });
      }
    };
    collect('clusters', 'cluster', clusters);
    collect('users', 'user', users);
    collect('contexts', 'context', contexts);
    const cc = doc['current-context'];
    if (currentContext === undefined && typeof cc === 'string' && cc !== '') currentContext = cc;
  }

  const contextName = context ?? currentContext;
  if (!contextName) {
    throw new KubeConfigError(
      `kubeconfig ${where} has no current-context: pass --context (it has: ${names(contexts)})`,
    );
  }
  const ctx = contexts.get(contextName);
  if (!ctx) {
    throw new KubeConfigError(`kubeconfig has no context "${contextName}" (it has: ${names(contexts)})`);
  }
  const clusterName = str(ctx.value.cluster, `context ${contextName}: cluster`);
  const cluster = clusterName === undefined ? undefined : clusters.get(clusterName);
  if (!cluster) {
    throw new KubeConfigError(
      `context "${contextName}" names cluster "${clusterName ?? ''}", which kubeconfig ${where} does not have`,
    );
  }
  const userName = str(ctx.value.user, `context ${contextName}: user`);
  const user = userName === undefined || userName === '' ? undefined : users.get(userName);
  if (userName && !user) {
    throw new KubeConfigError(
      `context "${contextName}" names user "${userName}", which kubeconfig ${where} does not have`,
    );
  }

  const c = cluster.value;
  const at = `cluster "${cluster.name}"`;
  const server = str(c.server, `${at}: server`);
  if (!server) throw new KubeConfigError(`${at} in kubeconfig ${where} has no server`);
  if (c['proxy-url'] !== undefined)
    throw new KubeConfigError(`${at}: proxy-url is not supported by the gitfleet agent`);
  const u = user?.value ?? {};
  const uat = `user "${user?.name ?? ''}"`;
  for (const field of ['auth-provider', 'as', 'as-uid', 'as-groups', 'as-user-extra']) {
    if (u[field] !== undefined) {
      throw new KubeConfigError(
        `${uat} uses ${field}, which the gitfleet agent does not support: give it a token, a client certificate or an exec plugin`,
      );
    }
  }

  return {
    source: `${where} context ${contextName}`,
    server: server.replace(/\/+$/, ''),
    namespace: str(ctx.value.namespace, `context ${contextName}: namespace`) || undefined,
    ca: material(c, 'certificate-authority', cluster.dir, at),
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: str(c['tls-server-name'], `${at}: tls-server-name`) || undefined,
    clientCert: material(u, 'client-certificate', user?.dir ?? '', uat),
    clientKey: material(u, 'client-key', user?.dir ?? '', uat),
    auth: userAuth(u, user?.dir ?? '', uat),
  };
}

function userAuth(u: Record<string, unknown>, dir: string, at: string): UserAuth {
  const tokenFile = str(u.tokenFile, `${at}: tokenFile`);
  // As in client-go, the file wins over an inline token: it is the one that gets rotated.
  if (tokenFile) return { type: 'token', token: { file: resolve(dir, tokenFile) } };
  const token = str(u.token, `${at}: token`);
  if (token) return { type: 'token', token: { data: Buffer.from(token) } };
  const username = str(u.username, `${at}: username`);
  if (username !== undefined) {
    return { type: 'basic', username, password: str(u.password, `${at}: password`) ?? '' };
  }
  if (u.exec !== undefined) {
    const e = record(u.exec, `${at}: exec`);
    const command = str(e.command, `${at}: exec.command`);
    if (!command) throw new KubeConfigError(`${at}: exec has no command`);
    if (e.interactiveMode === 'Always') {
      throw new KubeConfigError(`${at}: exec plugin ${command} needs a terminal (interactiveMode: Always)`);
    }
    const env: Record<string, string> = {};
    for (const item of (e.env ?? []) as unknown[]) {
      const v = record(item, `${at}: exec.env`);
      env[String(v.name)] = String(v.value ?? '');
    }
    return {
      type: 'exec',
      exec: {
        apiVersion: str(e.apiVersion, `${at}: exec.apiVersion`) ?? 'client.authentication.k8s.io/v1',
        // A path with a separator is relative to the kubeconfig; a bare name is looked up in PATH.
        command: command.includes('/') && !isAbsolute(command) ? resolve(dir, command) : command,
        args: ((e.args ?? []) as unknown[]).map(String),
        env,
        installHint: str(e.installHint, `${at}: exec.installHint`),
      },
    };
  }
  return { type: 'none' };
}

// `<field>-data` (base64) wins over `<field>` (a path), as in client-go.
function material(
  obj: Record<string, unknown>,
  field: string,
  dir: string,
  at: string,
): Material | undefined {
  const data = str(obj[`${field}-data`], `${at}: ${field}-data`);
  if (data) return { data: Buffer.from(data, 'base64') };
  const path = str(obj[field], `${at}: ${field}`);
  return path ? { file: resolve(dir, path) } : undefined;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new KubeConfigError(`${what} must be a mapping`);
  return value as Record<string, unknown>;
}

function str(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new KubeConfigError(`${what} must be a string`);
  return value;
}

function names(map: Map<string, Named>): string {
  return [...map.keys()].join(', ') || 'none';
}

// ---- credentials -----------------------------------------------------------------------------

// Reads what `access` points at. `refresh` (after a 401) runs an exec plugin again even when
// its last credential has not expired.
export type CredentialReader = (refresh: boolean) => Promise<Credentials>;

export function credentialReader(access: ClusterAccess): CredentialReader {
  let cached: { credentials: Credentials; expiresAt: number } | undefined;
  return async (refresh) => {
    const out: Credentials = {};
    if (access.ca) out.ca = read(access.ca, 'certificate authority');
    if (access.clientCert) out.cert = read(access.clientCert, 'client certificate');
    if (access.clientKey) out.key = read(access.clientKey, 'client key');
    const auth = access.auth;
    if (auth.type === 'token') {
      out.authorization = `Bearer ${read(auth.token, 'token').toString('utf8').trim()}`;
    } else if (auth.type === 'basic') {
      out.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    } else if (auth.type === 'exec') {
      if (refresh || !cached || Date.now() >= cached.expiresAt) cached = await runExec(auth.exec, access);
      Object.assign(out, cached.credentials);
    }
    return out;
  };
}

function read(m: Material, what: string): Buffer {
  if ('data' in m) return m.data;
  try {
    return readFileSync(m.file);
  } catch (err) {
    throw new KubeConfigError(`cannot read the ${what} ${m.file}: ${(err as Error).message}`);
  }
}

// An ExecCredential without an expiry is used until the API server refuses it.
const EXEC_TIMEOUT_MS = 60_000;
const EXPIRY_MARGIN_MS = 30_000;

async function runExec(
  exec: ExecPlugin,
  access: ClusterAccess,
): Promise<{ credentials: Credentials; expiresAt: number }> {
  const execInfo = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: { interactive: false },
  };
  const what = `exec plugin ${exec.command} (${access.source})`;
  // The agent's own NODE_OPTIONS (the chart's --jitless among them) are for the agent: a
  // plugin written for Node gets the ones its exec.env names, as kubectl would give it.
  const { NODE_OPTIONS: _agentOnly, ...inherited } = process.env;
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    execFile(
      exec.command,
      exec.args,
      {
        env: { ...inherited, ...exec.env, KUBERNETES_EXEC_INFO: JSON.stringify(execInfo) },
        timeout: EXEC_TIMEOUT_MS,
        maxBuffer: 1024 * 1024,
      },
      (err, out, stderr) => {
        if (err) {
          const hint = exec.installHint ? `\n${exec.installHint}` : '';
          reject(new KubeConfigError(`${what} failed: ${stderr.trim() || err.message}${hint}`));
        } else resolvePromise(out);
      },
    );
  });
  let status: Record<string, unknown>;
  try {
    status = record(record(JSON.parse(stdout), 'ExecCredential').status, 'ExecCredential status');
  } catch (err) {
    throw new KubeConfigError(
      `${what} did not print an ExecCredential with a status: ${(err as Error).message}`,
    );
  }
  const credentials: Credentials = {};
  if (typeof status.token === 'string' && status.token !== '')
    credentials.authorization = `Bearer ${status.token}`;
  if (typeof status.clientCertificateData === 'string' && typeof status.clientKeyData === 'string') {
    credentials.cert = Buffer.from(status.clientCertificateData);
    credentials.key = Buffer.from(status.clientKeyData);
  }
  if (!credentials.authorization && !credentials.cert)
    throw new KubeConfigError(`${what} returned neither a token nor a client certificate and key`);
  const expiry =
    typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : Number.NaN;
  return {
    credentials,
    expiresAt: Number.isNaN(expiry) ? Number.POSITIVE_INFINITY : expiry - EXPIRY_MARGIN_MS,
  };
}
