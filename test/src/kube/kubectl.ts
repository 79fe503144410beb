// The real kubectl, run as a user would: `kubectl --kubeconfig <file> ...args`.
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { toolPath } from '../toolchain.ts';

/** Where test/env/toolchain/build.sh caches the binaries (same rule as the script). */
export function defaultBinDir(): string {
  const cache =
    process.env.GITFLEET_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gitfleet');
  return join(cache, 'bin');
}

/** Resolves stdout; rejects with kubectl's stderr in the message. */
export function kubectl(binDir: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(toolPath(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(`kubectl ${args.join(' ')} failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`),
        );
    });
    // kubectl gets EOF on stdin when there is no input (`-f -` must not wait forever).
    child.stdin.on('error', () => {}); // kubectl may exit before reading its input
    child.stdin.end(input ?? '');
  });
}

/** kubectl bound to one kubeconfig, with the cached binaries. */
export function kubectlFor(kubeconfig: string, binDir = defaultBinDir()) {
  return (args: string[], input?: string) => kubectl(binDir, kubeconfig, args, input);
}
