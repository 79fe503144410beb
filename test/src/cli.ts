#!/usr/bin/env node
// gitfleet-testenv: the real test environment as a command.
//
//   npx gitfleet-testenv up [--clusters N] [--no-controllers]
//
// Starts Redis, the Git server and N Kubernetes clusters on free loopback ports, prints how
// to reach them (as shell exports the test files understand), and stops everything on Ctrl-C.
import { parseArgs } from 'node:util';
import { startEnvironment } from './environment.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    clusters: { type: 'string', default: '2' },
    'no-controllers': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || positionals[0] !== 'up') {
  console.log('usage: gitfleet-testenv up [--clusters N] [--no-controllers]');
  process.exit(values.help ? 0 : 2);
}

const clusters = Number(values.clusters);
if (!Number.isInteger(clusters) || clusters < 0) {
  console.error(`--clusters ${values.clusters}: use a whole number ≥ 0`);
  process.exit(2);
}

const env = await startEnvironment({ clusters, controllers: !values['no-controllers'] });
console.log('# test environment up; paste these into a shell to run test files against it:');
for (const [key, value] of Object.entries(env.toEnv())) console.log(`export ${key}='${value}'`);
for (const c of env.kube.clusters) {
  console.log(`# ${c.name}: kubectl --kubeconfig ${c.kubeconfig} get namespaces   (${c.server})`);
}
console.log(`# Redis: ${env.redis.url}   Git: ${env.git.url} (user ${env.git.username})`);
console.log('# Ctrl-C stops everything.');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await env.stop();
  process.exit(0);
};
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
