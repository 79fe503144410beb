// OpenTelemetry: off by default, on when an OTLP endpoint is configured through the standard
// variables (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; protocol,
// headers, service name and sampling from the other OTEL_* variables, as the SDK reads them).
//
// Traces cover REST (Fastify), the gRPC handlers, the reconcile steps (fetch → read → plan → render →
// deliver) and the BullMQ hop: bullmq-otel carries the trace context inside the job, so a
// status report's ingestion continues the trace of the ReportStatus call that enqueued it.
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { type Attributes, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BullMQOtel } from 'bullmq-otel';

const TRACER = 'gitfleet';

export function telemetryEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) &&
    env.OTEL_SDK_DISABLED !== 'true'
  );
}

export interface Telemetry {
  /** The Fastify plugin that traces requests (registered by buildApp when enabled). */
  fastify: FastifyOtelInstrumentation | undefined;
  /** Passed to BullMQ queues and workers, undefined when tracing is off. */
  bullmq: BullMQOtel | undefined;
  shutdown(): Promise<void>;
}

let current: Telemetry | undefined;

/** Starts the SDK once per process (idempotent); a no-op Telemetry when disabled. */
export function startTelemetry(serviceName = 'gitfleet-control-plane'): Telemetry {
  if (current) return current;
  if (!telemetryEnabled()) {
    current = { fastify: undefined, bullmq: undefined, shutdown: async () => {} };
    return current;
  }
  process.env.OTEL_SERVICE_NAME ??= serviceName;
  // registerOnInitialization hooks every Fastify instance created after this point.
  const fastify = new FastifyOtelInstrumentation({ registerOnInitialization: true });
  const sdk = new NodeSDK({
    // gRPC handlers and reconcile steps are traced by hand (inSpan): automatic gRPC
    // instrumentation patches require(), which ESM imports of grpc-js bypass.
    instrumentations: [fastify],
    // Metrics and logs have their own paths (/metrics, pino); only traces go to OTLP.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  current = {
    fastify,
    bullmq: new BullMQOtel({ tracerName: TRACER }),
    shutdown: () => sdk.shutdown(),
  };
  return current;
}

export function telemetry(): Telemetry {
  return current ?? startTelemetry();
}

/** Runs `work` in a span named `name`; records the error and rethrows on failure. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer(TRACER).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
