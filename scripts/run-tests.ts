// The test runner behind `npm test` (and so `make test` and CI).
//
//   node scripts/run-tests.ts                 every test: unit, harness, end-to-end
//   node scripts/run-tests.ts --unit          only the pure unit tests (no servers)
//   node scripts/run-tests.ts <file...>       just these files
//
// Unit tests live beside the code (`<pkg>/src/**/*.test.ts`) and need nothing. The harness
// self-tests (`test/src/**/*.test.ts`) start their own servers. The end-to-end suites
// (`test/e2e/**/*.test.ts`) share one environment — Redis, a Git server and real
// kube-apiservers — that this runner starts before and stops after, passing it to the test
// processes through GITFLEET_TEST_* variables (see test/src/environment.ts).
import { spawn } from 'node:child_process';
import { glob } from 'node:fs/promises';
import { relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const explicit = args.filter((a) => !a.startsWith('--'));

const UNIT = [
  'proto/src/**/*.test.ts',
  'control-plane/src/**/*.test.ts',
  'agent/src/**/*.test.ts',
  'cli/src/**/*.test.ts',
  // The repository's own tooling: versions in step, the protocol check able to fail.
  'scripts/**/*.test.ts',
  'proto/scripts/**/*.test.ts',
];
const HARNESS = ['test/src/**/*.test.ts'];
const E2E = ['test/e2e/**/*.test.ts'];

async function expand(patterns: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const pattern of patterns) {
    for await (const file of glob(pattern, { cwd: root, exclude: (f) => f.includes('node_modules') })) {
      files.push(file);
    }
  }
  return files.sort();
}

function isE2E(file: string): boolean {
  return relative(root, resolve(root, file)).startsWith('test/e2e/');
}

const files = explicit.length > 0 ? explicit : await expand(unitOnly ? UNIT : [...UNIT, ...HARNESS, ...E2E]);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

let env: Record<string, string> = {};
let stopEnvironment: (() => Promise<void>) | undefined;
if (files.some(isE2E)) {
  const { startEnvironment } = await import('../test/src/environment.ts');
  const clusters = Number(process.env.GITFLEET_TEST_CLUSTERS ?? 3);
  console.log(`starting the test environment: Redis, Git server, ${clusters} Kubernetes clusters`);
  const started = Date.now();
  const environment = await startEnvironment({ clusters });
  console.log(`test environment ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  env = environment.toEnv();
  stopEnvironment = () => environment.stop();
}

const code = await new Promise<number>((done) => {
  const child = spawn(
    process.execPath,
    [
      '--test',
      `--test-concurrency=${process.env.GITFLEET_TEST_CONCURRENCY ?? 2}`,
      `--test-timeout=${process.env.GITFLEET_TEST_TIMEOUT_MS ?? 600_000}`,
      '--test-reporter=spec',
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } },
  );
  child.on('exit', (status, signal) => done(status ?? (signal ? 1 : 0)));
});

await stopEnvironment?.();
process.exit(code);
