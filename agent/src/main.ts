#!/usr/bin/env node
// The agent process. In a cluster it uses its ServiceAccount; elsewhere a kubeconfig
// (--kubeconfig or $KUBECONFIG). Everything else comes from GITFLEET_* variables (see
// agentConfigFromEnv and charts/gitfleet-agent).
import { parseArgs } from 'node:util';
import pino from 'pino';
import { AGENT_VERSION, Agent, agentConfigFromEnv } from './agent.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';

const { values } = parseArgs({
  options: { kubeconfig: { type: 'string' }, context: { type: 'string' }, version: { type: 'boolean' } },
});

// Prints the version once every module is loaded (the image build runs it to check the bundle).
if (values.version) {
  console.log(AGENT_VERSION);
  process.exit(0);
}

const logger = pino({
  level: process.env.GITFLEET_LOG_LEVEL ?? 'info',
  redact: { paths: ['*.credential', '*.bootstrapToken', '*.token'], censor: '[redacted]' },
});

try {
  const config = agentConfigFromEnv();
  const access = loadKubeConfig({
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
  });
  const agent = new Agent(config, access, logger);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => agent.stop());
  const reason = await agent.run();
  logger.info({ reason }, 'agent stopped');
  process.exit(reason === 'stopped' ? 0 : 3);
} catch (err) {
  logger.fatal({ err: { message: (err as Error).message } }, 'agent cannot start');
  process.exit(1);
}
