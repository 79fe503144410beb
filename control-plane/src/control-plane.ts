// The composition root: wires Redis, the registry, events, desired state, status ingestion,
// the reconciler, Git polling and the gRPC listener together. `server.ts` starts one with
// the configuration from the environment; tests start one with their own.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import pino, { type DestinationStream, type Logger } from 'pino';
import { OidcVerifier } from './auth/oidc.ts';
import { ProjectStore } from './auth/projects.ts';
import { ApiTokenStore } from './auth/tokens.ts';
import type { Config } from './config.ts';
import { Events } from './events.ts';
import { agentService } from './grpc/agent-service.ts';
import { ConnectionManager } from './grpc/connection.ts';
import { type GrpcListener, loadOrGenerateTls, startGrpcServer } from './grpc/server.ts';
import { EventLog } from './history/event-log.ts';
import { NotificationService } from './notifications/service.ts';
import { PreviewService } from './previews/service.ts';
import { overdueRollouts } from './promotions/deadlines.ts';
import { type FleetSpec, FleetStore } from './reconcile/fleet-store.ts';
import { FleetLeases } from './reconcile/lease.ts';
import { FleetReconciler } from './reconcile/reconciler.ts';
import { ClusterRegistry } from './registry/clusters.ts';
import { SourceRenderer } from './render/renderer.ts';
import { SharedRenderCache } from './render/shared-cache.ts';
import { StatusIngestion } from './status/ingest.ts';
import { isRedisUnavailable, logAvailability } from './store/availability.ts';
import { type BullConnection, bullConnection, bullPrefix, bullQueueConnection } from './store/bull.ts';
import { connectRedis, duplicateRedis, type RedisClient, whenReady } from './store/connect.ts';
import { DesiredStateStore } from './store/desired.ts';
import { keys } from './store/keys.ts';
import { telemetry } from './telemetry.ts';

/** The control plane's logger; `destination` defaults to stdout (tests capture it). */
export function controlPlaneLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      // Secrets never reach logs: tokens, credentials and auth headers are cut wherever they appear.
      redact: {
        paths: [
          '*.token',
          '*.password',
          '*.credential',
          '*.credentials',
          'req.headers.authorization',
          '*.bootstrapToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

// The queue of scheduled jobs: Git polls (one scheduler per fleet) and the bundle collection.
const POLL_QUEUE = 'git-poll';
const BUNDLE_GC_JOB = 'bundle-gc';
const BUNDLE_GC_INTERVAL_MS = 3600_000;
// How often rollouts are checked for a passed progressDeadline. Deadlines are minutes; a few
// seconds late is fine, and the check itself only reads fleet states.
const DEADLINE_CHECK_MS = 5_000;
// A shared render nobody asked for in this long is dropped; the next pass renders it again.
const RENDER_CACHE_TTL_SECONDS = 7 * 24 * 3600;

export class ControlPlane {
  readonly config: Config;
  readonly logger: Logger;
  readonly redis: RedisClient;
  readonly events: Events;
  /** Every event, kept in Redis (retention by count and age). */
  readonly history: EventLog;
  /** Notification targets and delivery. */
  readonly notifications: NotificationService;
  readonly registry: ClusterRegistry;
  readonly desired: DesiredStateStore;
  readonly ingestion: StatusIngestion;
  readonly fleets: FleetStore;
  readonly apiTokens: ApiTokenStore;
  readonly projects: ProjectStore;
  readonly oidc: OidcVerifier | undefined;
  readonly reconciler: FleetReconciler;
  /** Which replica runs each fleet's passes. */
  readonly leases: FleetLeases;
  /** Renders Helm and Kustomize sources; its stats count what ran. */
  readonly renderer: SourceRenderer;
  readonly connections = new ConnectionManager();
  /** Preview diffs of a revision, answered by the agents (whichever replica holds them). */
  readonly previews: PreviewService;
  readonly #subscriber: RedisClient;
  readonly #pollQueue: Queue;
  readonly #pollQueueConnection: BullConnection;
  #pollWorker: Worker | undefined;
  #pollWorkerConnection: BullConnection | undefined;
  #grpc: GrpcListener | undefined;
  #caPem = '';
  #unsubscribe: (() => void) | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #takeOverTimer: NodeJS.Timeout | undefined;
  #checkingDeadlines = false;

  constructor(config: Config, logger?: Logger) {
    this.config = config;
    this.logger = logger ?? controlPlaneLogger(config.logLevel);
    // Auto-pipelining: the commands issued in one tick go out in one write. After a push,
    // thousands of agent streams sync in the same tick (desired state, sequence, bundle, acks);
    // one write per command made socket writes the largest cost of a fan-out.
    this.redis = connectRedis(config.redis, {
      maxRetriesPerRequest: 3,
      lazyConnect: false,
      enableAutoPipelining: true,
    });
    this.#subscriber = duplicateRedis(this.redis, { enableAutoPipelining: false });
    logAvailability(this.redis, 'main', this.logger);
    logAvailability(this.#subscriber, 'subscriber', this.logger);
    const k = keys(config.redisPrefix);
    this.history = new EventLog(
      this.redis,
      { stream: k.events(), recorded: k.recorded() },
      { maxCount: config.eventsRetainCount, maxAgeMs: config.eventsRetainHours * 3600_000 },
    );
    this.events = new Events(this.redis, this.#subscriber, k, this.history, {
      graceMs: config.eventsOutboxGraceMs,
      crashAfterScript: config.failpoint === 'after-event-script',
    });
    this.registry = new ClusterRegistry(this.redis, k, this.events, {
      bootstrapTtlSeconds: config.bootstrapTtlSeconds,
    });
    this.desired = new DesiredStateStore(this.redis, k, this.events);
    this.ingestion = new StatusIngestion(this.redis, k, this.events, {
      replicas: config.redisWaitReplicas,
      timeoutMs: config.redisWaitTimeoutMs,
    });
    this.fleets = new FleetStore(this.redis, k, config.secrets);
    this.apiTokens = new ApiTokenStore(this.redis, k);
    this.projects = new ProjectStore(this.redis, k);
    this.oidc = config.oidc ? new OidcVerifier(config.oidc) : undefined;
    this.notifications = new NotificationService(
      {
        redis: this.redis,
        prefix: config.redisPrefix,
        secrets: config.secrets,
        fleets: this.fleets,
        clusters: this.registry,
        events: this.events,
        logger: this.logger.child({ component: 'notifications' }),
      },
      config.notifications,
    );
    this.renderer = new SourceRenderer({
      helmPath: config.helmPath,
      kubectlPath: config.kubectlPath,
      workDir: join(config.dataDir, 'render'),
      readLimits: { maxFileBytes: config.gitMaxFileBytes, maxTotalBytes: config.gitMaxFleetBytes },
      concurrency: config.renderConcurrency,
      capabilities: (digest) => this.registry.capabilities(digest),
      shared: new SharedRenderCache(this.redis, {
        resultKey: k.render,
        lockKey: k.renderLock,
        ttlSeconds: RENDER_CACHE_TTL_SECONDS,
        lockMs: config.renderTimeoutSeconds * 1000 + 5000,
      }),
      limits: {
        timeoutMs: config.renderTimeoutSeconds * 1000,
        maxMemoryBytes: config.renderMaxMemoryMb * 2 ** 20,
        maxOutputBytes: config.renderMaxOutputBytes,
      },
    });
    this.leases = new FleetLeases(this.redis, k.fleet, {
      holder: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      ttlMs: config.fleetLeaseSeconds * 1000,
    });
    this.reconciler = new FleetReconciler({
      store: this.fleets,
      leases: this.leases,
      notificationTargets: this.notifications.targets,
      registry: this.registry,
      desired: this.desired,
      ingestion: this.ingestion,
      events: this.events,
      dataDir: config.dataDir,
      gitTimeoutMs: config.gitTimeoutSeconds * 1000,
      logger: this.logger,
      limits: { maxFileBytes: config.gitMaxFileBytes, maxTotalBytes: config.gitMaxFleetBytes },
      renderer: this.renderer,
      projects: this.projects,
    });
    this.previews = new PreviewService(this.redis, k, {
      reconciler: this.reconciler,
      registry: this.registry,
      desired: this.desired,
      connections: this.connections,
      logger: this.logger,
    });
    this.#pollQueueConnection = bullQueueConnection(this.redis);
    this.#pollQueue = new Queue(POLL_QUEUE, {
      connection: this.#pollQueueConnection.connection,
      prefix: bullPrefix(this.redis, k.prefix),
      telemetry: telemetry().bullmq,
    });
    // Connection errors surface in the calls that fail (and in one line from logAvailability).
    this.#pollQueue.on('error', () => {});
  }

  /** The CA agents must trust to reach the gRPC listener (the certificate itself when self-signed). */
  get caPem(): string {
    return this.#caPem;
  }

  get grpcPort(): number {
    return this.#grpc?.port ?? 0;
  }

  async start(): Promise<void> {
    await whenReady(this.redis);
    await this.redis.ping();
    this.#unsubscribe = await this.events.subscribe((event) => {
      this.notifications.onEvent(event);
      this.connections.onEvent(event);
      // A status change may let a rollout advance or halt; re-plan that fleet without fetching.
      if (event.type === 'StatusChanged' && event.fleet) {
        this.reconciler
          .request(event.fleet, { fetch: false })
          .catch((err) => this.logger.warn({ err, fleet: event.fleet }, 're-plan failed'));
      }
    });
    this.ingestion.start();
    this.notifications.start();
    await this.previews.start();
    // Periodic fetches are BullMQ job schedulers: each repository is polled once per interval
    // however many replicas run.
    this.#pollWorkerConnection = bullConnection(this.redis);
    this.#pollWorker = new Worker(
      POLL_QUEUE,
      async (job) => {
        if (job.name === BUNDLE_GC_JOB) {
          await this.collectBundles();
          await this.history.trim();
        } else await this.reconciler.request(String(job.data.fleet), { fetch: true });
      },
      {
        connection: this.#pollWorkerConnection.connection,
        prefix: bullPrefix(this.redis, this.config.redisPrefix),
        concurrency: 4,
      },
    );
    // While Redis is away every reconnect attempt errors: logAvailability says it once.
    this.#pollWorker.on('error', (err) => {
      if (!isRedisUnavailable(err, this.redis)) this.logger.warn({ err }, 'git poll worker error');
    });
    for (const spec of await this.fleets.specs()) await this.schedulePolling(spec);
    // Bundles no desired state names any more are collected hourly (once, whatever the replicas).
    await this.#pollQueue.upsertJobScheduler(
      BUNDLE_GC_JOB,
      { every: BUNDLE_GC_INTERVAL_MS },
      { name: BUNDLE_GC_JOB, data: {} },
    );
    // A cluster that stops reporting triggers no re-plan, so its rollout's deadline is watched here.
    this.#deadlineTimer = setInterval(() => void this.#replanOverdueRollouts(), DEADLINE_CHECK_MS);
    this.#deadlineTimer.unref();
    // A replica that dies holding fleets leaves their leases to expire; whoever looks first
    // after that takes them over, with the pass that was running or owed.
    this.#takeOverTimer = setInterval(() => {
      this.reconciler.takeOver().then(
        (fleets) => {
          if (fleets.length > 0) this.logger.info({ fleets }, 'took over fleets of a replica that stopped');
        },
        (err) => {
          if (!isRedisUnavailable(err, this.redis)) this.logger.warn({ err }, 'fleet take-over check failed');
        },
      );
    }, this.leases.ttlMs / 2);
    this.#takeOverTimer.unref();
    // Events that a writer that died left in an outbox are recorded by whichever replica looks.
    this.events.outbox.start((swept) => {
      if (swept instanceof Error) {
        if (!isRedisUnavailable(swept, this.redis)) this.logger.warn({ err: swept }, 'outbox sweep failed');
      } else if (swept.recorded > 0) {
        this.logger.info(swept, 'recorded events a stopped writer left in outboxes');
      }
    });

    const tls = await loadOrGenerateTls({
      certFile: this.config.tlsCertFile,
      keyFile: this.config.tlsKeyFile,
      dataDir: this.config.dataDir,
      hosts: this.config.tlsHosts,
    });
    this.#caPem = tls.generated
      ? tls.cert
      : process.env.GITFLEET_TLS_CA_FILE
        ? readFileSync(process.env.GITFLEET_TLS_CA_FILE, 'utf8')
        : tls.cert;
    this.#grpc = await startGrpcServer({
      host: this.config.grpcHost,
      port: this.config.grpcPort,
      tls,
      service: agentService({
        registry: this.registry,
        desired: this.desired,
        ingestion: this.ingestion,
        connections: this.connections,
        logger: this.logger,
        heartbeatMs: this.config.heartbeatSeconds * 1000,
        // Each fleet runs one pass at a time with at most one queued: a thousand agents
        // reconnecting at once cost a few passes, not a thousand.
        onCapabilitiesChanged: (cluster) => {
          this.logger.info({ cluster }, 'cluster capabilities changed; rendering its fleets again');
          this.reconcileAll('cluster capabilities changed').catch((err) =>
            this.logger.error({ err }, 're-planning after a capabilities change failed'),
          );
        },
      }),
    });
    // Port 0 means "any free port": the address agents are told must name the real one.
    if (this.config.grpcPublicAddress.endsWith(':0')) {
      this.config.grpcPublicAddress = `${this.config.grpcPublicAddress.slice(0, -2)}:${this.#grpc.port}`;
    }
    this.logger.info({ port: this.#grpc.port }, 'gRPC AgentService listening (TLS)');
  }

  async #replanOverdueRollouts(): Promise<void> {
    if (this.#checkingDeadlines) return;
    this.#checkingDeadlines = true;
    try {
      for (const { spec, state } of await this.fleets.list()) {
        if (overdueRollouts(state.policy, state.rollouts, Date.now()).length === 0) continue;
        await this.reconciler
          .request(spec.name, { fetch: false })
          .catch((err) =>
            this.logger.warn({ err, fleet: spec.name }, 're-plan of an overdue rollout failed'),
          );
      }
    } catch (err) {
      if (!isRedisUnavailable(err, this.redis)) this.logger.warn({ err }, 'rollout deadline check failed');
    } finally {
      this.#checkingDeadlines = false;
    }
  }

  /** Lets bundles that no cluster's desired state names expire (see DesiredStateStore.collectBundles). */
  async collectBundles(): Promise<{ bundles: number; live: number; expiring: number }> {
    const result = await this.desired.collectBundles(await this.registry.names());
    this.logger.info(result, 'bundles collected');
    return result;
  }

  /** (Re)schedules the fleet's periodic fetch at its own interval, or the installation's. */
  async schedulePolling(spec: Pick<FleetSpec, 'name' | 'pollIntervalSeconds'>): Promise<void> {
    await this.#pollQueue.upsertJobScheduler(
      `fleet-${spec.name}`,
      { every: (spec.pollIntervalSeconds ?? this.config.pollIntervalSeconds) * 1000 },
      { name: 'poll', data: { fleet: spec.name } },
    );
  }

  async unschedulePolling(fleet: string): Promise<void> {
    await this.#pollQueue.removeJobScheduler(`fleet-${fleet}`);
  }

  /** Re-plans every fleet (after a cluster was registered, relabelled or changed capabilities). */
  async reconcileAll(reason: string): Promise<void> {
    this.logger.debug({ reason }, 're-planning all fleets');
    await this.reconciler.syncAll({ fetch: false });
  }

  /**
   * The exact command that installs this cluster's agent: the CA travels base64-encoded in
   * the command, so it runs as printed, with nothing to fill in.
   */
  helmInstallCommand(cluster: string, bootstrapToken: string): string {
    return [
      `helm install gitfleet-agent ${this.config.agentChart}`,
      '--namespace gitfleet-system --create-namespace',
      `--set controlPlane.address=${this.config.grpcPublicAddress}`,
      `--set cluster.name=${cluster}`,
      `--set bootstrapToken=${bootstrapToken}`,
      `--set controlPlane.caCertBase64=${Buffer.from(this.#caPem).toString('base64')}`,
    ].join(' \\\n  ');
  }

  async stop(): Promise<void> {
    clearInterval(this.#deadlineTimer);
    clearInterval(this.#takeOverTimer);
    this.events.outbox.stop();
    this.#unsubscribe?.();
    this.previews.stop();
    this.connections.closeAll('control plane shutting down');
    await this.#grpc?.stop();
    await this.#pollWorker?.close();
    await this.#pollQueue.close();
    await this.#pollWorkerConnection?.close();
    await this.#pollQueueConnection.close();
    await this.ingestion.close();
    await this.notifications.close();
    this.history.stop();
    this.#subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
