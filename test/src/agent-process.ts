// Runs the real agent as a child process against a cluster, the way the Helm chart runs it,
// with its own namespace for the credential Secret and inventories: the image's agent bundle
// (agent/bundle.ts, built once per test process, as the Dockerfile builds it) with the chart's
// NODE_OPTIONS.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const BUNDLER = new URL('../../agent/bundle.ts', import.meta.url).pathname;
const CHART_VALUES = new URL('../../charts/gitfleet-agent/values.yaml', import.meta.url).pathname;
let bundle: string | undefined;

/** The agent bundle of this test process (its own file: test processes run side by side). */
function agentBundle(): string {
  if (!bundle) {
    const outfile = new URL(`../../agent/dist/agent-test-${process.pid}.mjs`, import.meta.url).pathname;
    execFileSync(process.execPath, [BUNDLER, outfile], { stdio: 'ignore' });
    process.once('exit', () => rmSync(outfile, { force: true }));
    bundle = outfile;
  }
  return bundle;
}

/** What the chart gives the agent process besides GITFLEET_* variables: its NODE_OPTIONS. */
export function chartNodeOptions(): string {
  const values = parse(readFileSync(CHART_VALUES, 'utf8')) as { agent?: { nodeOptions?: string } };
  return values.agent?.nodeOptions ?? '';
}

export function startAgentProcess(options: AgentProcessOptions): ManagedProcess {
  const dir = tempDir(`agent-${options.name}`);
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, options.caPem);
  return startProcess(
    `agent ${options.name}`,
    process.execPath,
    [
      agentBundle(),
      '--kubeconfig',
      options.kubeconfig,
      ...(options.context ? ['--context', options.context] : []),
    ],
    {
      logFile: join(dir, 'agent.log'),
      env: {
        ...process.env,
        NODE_OPTIONS: chartNodeOptions(),
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
