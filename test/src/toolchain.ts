// The real Kubernetes binaries (etcd, kube-apiserver, kubectl, ...) come from
// test/env/toolchain/build.sh, which builds them from source once and caches them by version.
// Tests call ensureToolchain() so a fresh machine builds what it needs instead of failing.
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const buildScript = fileURLToPath(new URL('../env/toolchain/build.sh', import.meta.url));

/**
 * Builds (or finds in the cache) the given tools, default all, and returns the directory
 * holding them. The script's progress goes to our stderr, because a cold build takes
 * minutes and a person watching the run should see why.
 */
export function ensureToolchain(tools: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript, ...tools], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.once('error', (err) => reject(new Error(`could not run ${buildScript}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code !== 0) {
        reject(
          new Error(
            `${buildScript} ${tools.join(' ')} failed (${signal ?? `exit code ${code}`}); see its output above`,
          ),
        );
        return;
      }
      // The script prints the bin dir on its last line (go build may print before it).
      const binDir = stdout.trim().split('\n').pop()?.trim();
      if (!binDir) reject(new Error(`${buildScript} printed no bin dir`));
      else resolve(binDir);
    });
  });
}

/** Path of one tool in the directory returned by ensureToolchain. */
export function toolPath(binDir: string, name: string): string {
  return join(binDir, name);
}

/**
 * The toolchain's cache directory, as build.sh computes it, for code that needs a tool path
 * without running the build (the runner has built everything before any test starts).
 */
export function cachedBinDir(): string {
  const cache =
    process.env.GITFLEET_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gitfleet');
  return join(cache, 'bin');
}
