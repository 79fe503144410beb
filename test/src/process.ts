// Process plumbing shared by every part of the test environment: free loopback ports,
// child processes that are always stopped (and whose output is kept for error messages),
// and polling until a server answers.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A loopback port that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not allocate a free port'));
      });
    });
  });
}

/** A fresh temporary directory under the OS temp dir. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gitfleet-${prefix}-`));
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Path of the file holding the process's stdout and stderr. */
  readonly logFile: string;
  /** The last lines of output, for error messages. */
  tail(lines?: number): string;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ManagedProcess>();

// A test run that is interrupted must not leave servers behind.
function stopAllSync(): void {
  for (const p of live) {
    if (!p.exited && p.child.pid) {
      try {
        process.kill(-p.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
process.once('exit', stopAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopAllSync();
    process.exit(130);
  });
}

/**
 * Starts a child process in its own process group (so stop() takes its children too),
 * writing its output to `logFile` and keeping the last 200 lines in memory.
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & { logFile: string },
): ManagedProcess {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const lines: string[] = [];
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      live.delete(managed);
      resolve();
    });
    child.once('error', (err) => {
      lines.push(`spawn error: ${err.message}`);
      exited = true;
      live.delete(managed);
      resolve();
    });
  });
  const collect = (chunk: Buffer) => {
    log.write(chunk);
    for (const line of chunk.toString().split('\n')) {
      if (line) lines.push(line);
    }
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const managed: ManagedProcess = {
    name,
    child,
    logFile: options.logFile,
    tail: (n = 30) => lines.slice(-n).join('\n'),
    get exited() {
      return exited;
    },
    async stop(graceMs = 5000) {
      if (!exited && child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        // An unref'd timer: a stopped process must not keep the test process alive for graceMs.
        const killed = await Promise.race([
          exitPromise.then(() => true),
          sleep(graceMs, undefined, { ref: false }).then(() => false),
        ]);
        if (!killed) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          await exitPromise;
        }
      }
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
  live.add(managed);
  return managed;
}

/**
 * Polls `check` until it returns true. Fails early, with the process's last output, if
 * `proc` exits; fails after `timeoutMs` with `what` in the message.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  {
    timeoutMs = 60_000,
    intervalMs = 100,
    proc,
  }: { timeoutMs?: number; intervalMs?: number; proc?: ManagedProcess } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc?.exited) {
      throw new Error(`${proc.name} exited while waiting for ${what}; its last output:\n${proc.tail()}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(intervalMs);
  }
  const tail = proc ? `\n${proc.name}'s last output:\n${proc.tail()}` : '';
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (${lastError})` : ''}${tail}`,
  );
}

/**
 * Polls `probe` until it returns something truthy (returned) or the time is up (throws, with
 * the last value or error the probe gave: what a failing test should show).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last as T;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  const shown = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${shown})`);
}
