#!/usr/bin/env node
// The control-plane process: configuration from the environment, one ControlPlane, the REST
// API on HTTP and the AgentService on gRPC (TLS). SIGTERM/SIGINT stop it cleanly.
//
//   gitfleet-control-plane              serve
//   gitfleet-control-plane reencrypt    seal every fleet's credentials with GITFLEET_SECRET_KEY, then exit
import { buildApp } from './app.ts';
import { type Config, loadConfig } from './config.ts';
import { ControlPlane } from './control-plane.ts';
import { reencrypt } from './reencrypt.ts';
import { startTelemetry } from './telemetry.ts';

const command = process.argv[2];
if (command !== undefined && command !== 'reencrypt') {
  process.stderr.write(`usage: gitfleet-control-plane [reencrypt] (got: ${command})\n`);
  process.exit(64);
}

// A bad setting is a message naming the variable, not a stack trace.
function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    process.stderr.write(`gitfleet control plane: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

if (command === 'reencrypt') {
  const result = await reencrypt(configOrExit(), (line) => process.stdout.write(`${line}\n`)).catch(
    (err: Error) => {
      process.stderr.write(`gitfleet control plane: reencrypt failed: ${err.message}\n`);
      process.exit(1);
    },
  );
  process.exit(result.failed.length > 0 ? 1 : 0);
}

// Before anything builds a Fastify app or a queue, so that they are traced.
const tracing = startTelemetry();

const config = configOrExit();
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
