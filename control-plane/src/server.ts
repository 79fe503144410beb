#!/usr/bin/env node
// The control-plane process: configuration from the environment, one ControlPlane, the REST
// API on HTTP and the AgentService on gRPC (TLS). SIGTERM/SIGINT stop it cleanly.
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { ControlPlane } from './control-plane.ts';
import { startTelemetry } from './telemetry.ts';

// Before anything builds a Fastify app or a queue, so that they are traced.
const tracing = startTelemetry();

const config = loadConfig();
const cp = new ControlPlane(config);
await cp.start();
const app = await buildApp(cp);
const address = await app.listen({ host: config.httpHost, port: config.httpPort });
cp.logger.info({ address, grpcPort: cp.grpcPort }, 'gitfleet control plane ready');
if (config.generatedAdminToken) {
  // Printed once, to the terminal that started it, so a local user can log in.
  process.stderr.write(
    `\nNo GITFLEET_API_TOKENS set: generated an admin token for this run:\n  ${config.apiTokens[0]?.token}\n\n`,
  );
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    cp.logger.info({ signal }, 'stopping');
    await app.close();
    await cp.stop();
    await tracing.shutdown();
    process.exit(0);
  });
}
