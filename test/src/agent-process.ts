// Runs the real agent (agent/src/main.ts) as a child process against a cluster, the way the
// Helm chart runs it, with its own namespace for the credential Secret and inventories: the
// chart's NODE_OPTIONS, and Node's compile cache filled before the first start, as the image
// build fills it (Dockerfile), so the agent starts without the TypeScript stripper.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
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
const CHART_VALUES = new URL('../../charts/gitfleet-agent/values.yaml', import.meta.url).pathname;

// Entries are keyed by each file's content: one directory serves every run, edits included.
const COMPILE_CACHE = join(tmpdir(), 'gitfleet-agent-compile-cache');
let cacheFilled = false;

// What the image and the chart give the agent process besides GITFLEET_* variables.
function nodeEnv(): Record<string, string> {
  const nodeOptions = (parse(readFileSync(CHART_VALUES, 'utf8')) as { agent?: { nodeOptions?: string } })
    .agent?.nodeOptions;
  const env: Record<string, string> = { NODE_COMPILE_CACHE: COMPILE_CACHE, NODE_OPTIONS: nodeOptions ?? '' };
  if (!cacheFilled) {
    // The Dockerfile's `node /app/agent/src/main.ts --version`.
    execFileSync(process.execPath, [MAIN, '--version'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    cacheFilled = true;
  }
  return env;
}

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
        ...nodeEnv(),
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
