// The gitfleet CLI run as a user runs it: its own process, a server and a token from the
// environment, nothing inherited from the developer's own configuration.
import { spawn } from 'node:child_process';

const CLI = new URL('../../cli/src/main.ts', import.meta.url).pathname;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gitfleet ...args` against `server` with `token` until it exits (killed after 60 s); `stdin` is piped in. */
export function runGitfleet(args: string[], server: string, token: string, stdin?: string): Promise<CliRun> {
  return new Promise((done, fail) => {
    const { GITFLEET_CONFIG: _c, ...rest } = process.env;
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        ...rest,
        GITFLEET_SERVER: server,
        GITFLEET_TOKEN: token,
        NO_COLOR: '1',
        GITFLEET_CONFIG: '/nonexistent',
      },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c) => {
      stdout += c;
    });
    child.stderr?.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
