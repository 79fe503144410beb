// Runs the real agent (agent/src/main.ts) as a child process against a cluster, the way the
// Helm chart runs it, with its own namespace for the credential Secret and inventories.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ManagedProcess, startProcess, tempDir } from './process.ts';

export interface AgentProcessOptions {
  name: string;
  kubeconfig: string;
  controlPlane: string;
  caPem: string;
  namespace: string;
  bootstrapToken?: string;
  /** kubeconfig context (default: its current context). */
  context?: string;
  env?: Record<string, string>;
}

const MAIN = new URL('../../agent/src/main.ts', import.meta.url).pathname;

export function startAgentProcess(options: AgentProcessOptions): ManagedProcess {
  const dir = tempDir(`agent-${options.name}`);
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, options.caPem);
  return startProcess(
    `agent ${options.name}`,
    process.execPath,
    [MAIN, '--kubeconfig', options.kubeconfig, ...(options.context ? ['--context', options.context] : [])],
    {
      logFile: join(dir, 'agent.log'),
      env: {
        ...process.env,
        GITFLEET_CONTROL_PLANE: options.controlPlane,
        GITFLEET_CA_FILE: caFile,
        GITFLEET_NAMESPACE: options.namespace,
        GITFLEET_LOG_LEVEL: 'info',
        GITFLEET_HEALTH_INTERVAL_SECONDS: '1',
        GITFLEET_DRIFT_INTERVAL_SECONDS: '2',
        GITFLEET_RECONNECT_MAX_SECONDS: '2',
        // Several agents run on one machine in tests: no fixed probe port.
        GITFLEET_PROBE_PORT: '0',
        ...(options.bootstrapToken ? { GITFLEET_BOOTSTRAP_TOKEN: options.bootstrapToken } : {}),
        ...options.env,
      },
    },
  );
}
