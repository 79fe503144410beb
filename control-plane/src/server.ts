#!/usr/bin/env node
// The control-plane process: configuration from the environment, one ControlPlane, the REST
// API on HTTP and the AgentService on gRPC (TLS). SIGTERM/SIGINT stop it cleanly.
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { ControlPlane } from './control-plane.ts';

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
    process.exit(0);
  });
}
