// The agent: credential first (from its Secret, or by exchanging the bootstrap token), then
// the stream to the control plane, one FleetRunner per fleet, a status outbox, and timers
// for health (while something is progressing), drift and the slow status heartbeat. When
// the control plane is unreachable it keeps enforcing the last desired state it holds.
import { readFileSync } from 'node:fs';
import { type AgentInfo, type FleetStatus, GITFLEET_VERSION } from '@gitfleet/proto';
import type { Logger } from 'pino';
import { Applier } from './apply/apply.ts';
import { previewBundle } from './apply/preview.ts';
import { ControlPlaneConnection } from './connection/connection.ts';
import { StatusOutbox } from './connection/outbound.ts';
import { CredentialStore } from './credentials.ts';
import { InventoryStore } from './inventory/store.ts';
import { KubeClient } from './kube/client.ts';
import { discoverApiVersions, withinLimits } from './kube/discovery.ts';
import type { ClusterAccess } from './kube/kubeconfig.ts';
import { collectGarbage } from './memory.ts';
import { startProbeServer } from './probes.ts';
import { FleetRunner } from './reconcile.ts';

export const AGENT_VERSION = GITFLEET_VERSION;

export interface AgentConfig {
  controlPlane: string;
  caFile: string | undefined;
  serverName: string | undefined;
  bootstrapToken: string | undefined;
  namespace: string;
  credentialSecret: string;
  driftIntervalSeconds: number;
  healthIntervalSeconds: number;
  statusHeartbeatSeconds: number;
  /** Ceiling of the reconnect backoff. */
  reconnectMaxSeconds: number;
  /** Port of /healthz and /readyz (0 = none). */
  probePort: number;
}

export function agentConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const controlPlane = env.GITFLEET_CONTROL_PLANE;
  if (!controlPlane)
    throw new Error(
      'GITFLEET_CONTROL_PLANE is not set: give the host:port of the control plane gRPC listener',
    );
  const num = (key: string, fallback: number) => {
    const raw = env[key];
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`${key}=${raw} is not valid: use a positive number of seconds`);
    return n;
  };
  let bootstrapToken = env.GITFLEET_BOOTSTRAP_TOKEN || undefined;
  if (!bootstrapToken && env.GITFLEET_BOOTSTRAP_TOKEN_FILE) {
    try {
      bootstrapToken = readFileSync(env.GITFLEET_BOOTSTRAP_TOKEN_FILE, 'utf8').trim() || undefined;
    } catch {
      bootstrapToken = undefined;
    }
  }
  return {
    controlPlane,
    caFile: env.GITFLEET_CA_FILE || undefined,
    serverName: env.GITFLEET_SERVER_NAME || undefined,
    bootstrapToken,
    namespace: env.GITFLEET_NAMESPACE || 'gitfleet-system',
    credentialSecret: env.GITFLEET_CREDENTIAL_SECRET || 'gitfleet-agent-credential',
    driftIntervalSeconds: num('GITFLEET_DRIFT_INTERVAL_SECONDS', 60),
    healthIntervalSeconds: num('GITFLEET_HEALTH_INTERVAL_SECONDS', 2),
    statusHeartbeatSeconds: num('GITFLEET_STATUS_HEARTBEAT_SECONDS', 300),
    reconnectMaxSeconds: num('GITFLEET_RECONNECT_MAX_SECONDS', 60),
    probePort: env.GITFLEET_PROBE_PORT === undefined ? 8081 : Number(env.GITFLEET_PROBE_PORT),
  };
}

export class Agent {
  readonly #config: AgentConfig;
  readonly #logger: Logger;
  readonly #client: KubeClient;
  readonly #applier: Applier;
  readonly #inventory: InventoryStore;
  readonly #credentials: CredentialStore;
  readonly #runners = new Map<string, FleetRunner>();
  #connection: ControlPlaneConnection | undefined;
  #outbox: StatusOutbox | undefined;
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;
  #ready = false;
  #probes: ReturnType<typeof startProbeServer> | undefined;

  constructor(config: AgentConfig, access: ClusterAccess, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#client = new KubeClient(access);
    this.#applier = new Applier(this.#client);
    this.#inventory = new InventoryStore(this.#client, config.namespace);
    this.#credentials = new CredentialStore(this.#client, config.namespace, config.credentialSecret);
  }

  /** Runs until stop() or until the credential is revoked (resolves with the reason). */
  async run(): Promise<string> {
    if (this.#config.probePort > 0)
      this.#probes = startProbeServer(this.#config.probePort, () => this.#ready);
    // The first description must succeed (the API server is reachable at all); later ones keep
    // what was known when the API server does not answer, rather than hold the stream back.
    let described: AgentInfo = await this.#describe();
    const agent = async (): Promise<AgentInfo> => {
      try {
        described = await this.#describe();
      } catch (err) {
        this.#logger.warn(
          { err: (err as Error).message },
          'could not read the cluster version; sending the last known',
        );
      }
      return described;
    };
    const connection = new ControlPlaneConnection({
      address: this.#config.controlPlane,
      caPem: this.#config.caFile ? readFileSync(this.#config.caFile, 'utf8') : null,
      serverName: this.#config.serverName,
      agent,
      logger: this.#logger,
      backoff: { baseMs: 500, capMs: this.#config.reconnectMaxSeconds * 1000 },
    });
    this.#connection = connection;

    let credential = await this.#credentials.load();
    if (!credential) {
      if (!this.#config.bootstrapToken) {
        throw new Error(
          `no cluster credential in ${this.#credentials.location} and no bootstrap token: register the cluster (gitfleet cluster register) and install the agent with the token it prints`,
        );
      }
      const registered = await connection.register(this.#config.bootstrapToken);
      await this.#credentials.save(registered.credential, registered.clusterName);
      credential = registered.credential;
      this.#logger.info(
        { cluster: registered.clusterName, secret: this.#credentials.location },
        'registered; credential stored',
      );
    }
    connection.setCredential(credential);
    this.#ready = true;

    this.#outbox = new StatusOutbox((sequence, status) => connection.reportStatus(sequence, status));
    this.#startTimers();

    let revokedReason = 'stopped';
    await connection.run({
      running: () =>
        [...this.#runners.values()].flatMap((r) => {
          const running = r.running;
          return running
            ? [{ fleet: r.fleet, revision: running.revision, bundleDigest: running.digest }]
            : [];
        }),
      onDesired: async (desired) => {
        await this.#runner(desired.fleet).receive(desired);
        collectGarbage();
      },
      onRemoved: async (fleet, prune) => {
        const runner = this.#runners.get(fleet) ?? this.#runner(fleet);
        await runner.remove(prune);
        this.#runners.delete(fleet);
      },
      onPreview: (fleet, objects, options) =>
        previewBundle(this.#applier, this.#inventory, objects, { fleet, ...options }),
      onRevoked: (message) => {
        revokedReason = message;
        this.#logger.error({ reason: message }, 'the control plane revoked this cluster; stopping');
      },
      onConnected: (connected) => {
        if (connected) this.#outbox?.flush();
      },
    });
    this.stop();
    return revokedReason;
  }

  // The API server's version (`v1.35.4`); also the first request, so a cluster the agent
  // cannot reach or authenticate to fails the start with the server's answer.
  /** The agent and its cluster as Helm's .Capabilities see them (version, served API versions). */
  async #describe(): Promise<AgentInfo> {
    const kubernetesVersion = await this.#kubernetesVersion();
    const discovered = await discoverApiVersions(this.#client);
    const { apiVersions, problems } = withinLimits(discovered.apiVersions);
    problems.unshift(...discovered.problems);
    if (problems.length > 0) {
      this.#logger.warn(
        { problems: problems.slice(0, 10), more: Math.max(0, problems.length - 10) },
        'API discovery incomplete: charts render without what could not be read',
      );
    }
    return { version: AGENT_VERSION, kubernetesVersion, apiVersions };
  }

  async #kubernetesVersion(): Promise<string> {
    const res = await this.#client.request({ method: 'GET', path: '/version' });
    const gitVersion = (res.body as { gitVersion?: unknown } | undefined)?.gitVersion;
    if (res.status !== 200 || typeof gitVersion !== 'string') {
      const detail =
        (res.body as { message?: string } | undefined)?.message ??
        (typeof res.body === 'string' ? res.body.slice(0, 200) : JSON.stringify(res.body));
      throw new Error(
        `GET ${this.#client.server}/version (${this.#client.access.source}): HTTP ${res.status}: ${detail}`,
      );
    }
    return gitVersion;
  }

  #runner(fleet: string): FleetRunner {
    let runner = this.#runners.get(fleet);
    if (!runner) {
      runner = new FleetRunner(fleet, {
        applier: this.#applier,
        inventory: this.#inventory,
        logger: this.#logger,
        report: (status: FleetStatus) => this.#outbox?.put(status),
      });
      this.#runners.set(fleet, runner);
    }
    return runner;
  }

  #startTimers(): void {
    const every = (seconds: number, work: () => Promise<unknown>) => {
      let busy = false;
      const timer = setInterval(() => {
        if (busy || this.#stopped) return;
        busy = true;
        work()
          .catch((err) => this.#logger.warn({ err }, 'periodic check failed'))
          .finally(() => {
            busy = false;
          });
      }, seconds * 1000);
      this.#timers.push(timer);
    };
    every(this.#config.healthIntervalSeconds, async () => {
      for (const r of this.#runners.values()) {
        if (r.healthCheckDue(this.#config.healthIntervalSeconds * 1000)) await r.checkHealth();
      }
    });
    every(this.#config.driftIntervalSeconds, async () => {
      for (const r of this.#runners.values()) await r.correctDrift();
      collectGarbage();
    });
    every(this.#config.statusHeartbeatSeconds, async () => {
      for (const r of this.#runners.values()) r.heartbeat();
    });
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#outbox?.stop();
    this.#connection?.stop();
    this.#probes?.close();
  }
}
