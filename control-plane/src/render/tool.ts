// Runs a rendering tool (helm, kubectl kustomize) as a subprocess with bounds: a chart is code
// from Git or a registry, and a template that loops or allocates without end must cost its own
// fleet an error, never the control plane its memory or another fleet its turn.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export type ToolLimits = {
  timeoutMs: number;
  /** Resident memory of the tool, checked while it runs. */
  maxMemoryBytes: number;
  /** stdout beyond this is an error, not a bigger bundle. */
  maxOutputBytes: number;
};

export const DEFAULT_TOOL_LIMITS: Readonly<ToolLimits> = {
  timeoutMs: 30_000,
  maxMemoryBytes: 512 * 2 ** 20,
  maxOutputBytes: 64 * 2 ** 20,
};

export type ToolResult =
  | { ok: true; stdout: string; stderr: string }
  | {
      ok: false;
      reason: 'exit' | 'timeout' | 'memory' | 'output' | 'spawn';
      stdout: string;
      stderr: string;
      message: string;
    };

const RSS_POLL_MS = 100;

async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0; // exited meanwhile
  }
}

export function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; limits: ToolLimits; name: string },
): Promise<ToolResult> {
  const { limits, name } = options;
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, {
        cwd: options.cwd,
        // Go's collector works harder as it nears the soft limit, before the hard one kills it.
        // One Go thread each: renders already run side by side (GITFLEET_RENDER_CONCURRENCY),
        // and parallel collection in each of them costs CPU without saving time.
        env: {
          ...options.env,
          GOMEMLIMIT: String(Math.floor(limits.maxMemoryBytes * 0.8)),
          GOMAXPROCS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      resolve({
        ok: false,
        reason: 'spawn',
        stdout: '',
        stderr: '',
        message: `${name} could not start: ${(err as Error).message}`,
      });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let failure: { reason: 'timeout' | 'memory' | 'output' | 'spawn'; message: string } | null = null;
    const stop = (reason: 'timeout' | 'memory' | 'output', message: string) => {
      if (failure) return;
      failure = { reason, message };
      child.kill('SIGKILL');
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > limits.maxOutputBytes) {
        stop(
          'output',
          `${name} wrote more than ${limits.maxOutputBytes} bytes of output (GITFLEET_RENDER_MAX_OUTPUT_BYTES)`,
        );
      } else out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (errBytes < 64 * 1024) err.push(chunk);
      errBytes += chunk.length;
    });
    const timer = setTimeout(
      () =>
        stop(
          'timeout',
          `${name} did not finish within ${limits.timeoutMs / 1000} s (GITFLEET_RENDER_TIMEOUT_SECONDS)`,
        ),
      limits.timeoutMs,
    );
    const poll = setInterval(async () => {
      if (child.pid === undefined || failure) return;
      const rss = await rssBytes(child.pid);
      if (rss > limits.maxMemoryBytes) {
        stop(
          'memory',
          `${name} used more than ${Math.round(limits.maxMemoryBytes / 2 ** 20)} MiB of memory (GITFLEET_RENDER_MAX_MEMORY_MB)`,
        );
      }
    }, RSS_POLL_MS);
    const done = (code: number | null, spawnError?: Error) => {
      clearTimeout(timer);
      clearInterval(poll);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (spawnError) {
        resolve({
          ok: false,
          reason: 'spawn',
          stdout,
          stderr,
          message: `${name} could not start (${command}): ${spawnError.message}`,
        });
      } else if (failure) resolve({ ok: false, ...failure, stdout, stderr });
      else if (code !== 0)
        resolve({
          ok: false,
          reason: 'exit',
          stdout,
          stderr,
          message: stderr.trim() || `${name} exited with ${code}`,
        });
      else resolve({ ok: true, stdout, stderr });
    };
    child.once('error', (e) => done(null, e));
    child.once('close', (code) => done(code));
  });
}
