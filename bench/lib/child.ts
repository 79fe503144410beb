// Load generators run in child processes (fork + IPC): on a 2-core machine the control plane
// must not share its event loop with the clients that drive it, and a process of its own
// can be charged for its CPU and memory separately. Every child is killed when the bench
// exits, however it exits.
import { type ChildProcess, fork } from 'node:child_process';

export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  send(msg: ChildMessage): void;
  /** The next message of this type (rejects when the child exits first or after timeoutMs). */
  next<T = ChildMessage>(type: string, timeoutMs?: number): Promise<T>;
  /** Calls `handler` for every message of this type; returns a function that stops it. */
  on(type: string, handler: (msg: ChildMessage) => void): () => void;
  /** Waits up to `exitWithinMs` for the child to exit by itself (it may be writing a CPU profile), then SIGTERM. */
  stop(exitWithinMs?: number): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export function startChild(
  script: string,
  options: { execArgv?: string[]; env?: Record<string, string>; name?: string } = {},
): Child {
  const proc = fork(script, [], {
    execArgv: options.execArgv ?? [],
    env: { ...process.env, ...options.env },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(proc);
  const name = options.name ?? script;
  const handlers = new Map<string, Set<(msg: ChildMessage) => void>>();
  let exited: string | undefined;
  proc.on('message', (msg: ChildMessage) => {
    for (const h of [...(handlers.get(msg.type) ?? [])]) h(msg);
    if (msg.type === 'error') console.error(`${name}: ${String(msg.message)}`);
  });
  const exitWaiters = new Set<(why: string) => void>();
  proc.once('exit', (code, signal) => {
    children.delete(proc);
    exited = `${name} exited (${signal ?? `code ${code}`})`;
    for (const w of exitWaiters) w(exited);
  });
  const on = (type: string, handler: (msg: ChildMessage) => void) => {
    const set = handlers.get(type) ?? new Set();
    set.add(handler);
    handlers.set(type, set);
    return () => set.delete(handler);
  };
  return {
    proc,
    pid: proc.pid ?? 0,
    send: (msg) => proc.send(msg),
    on,
    next<T = ChildMessage>(type: string, timeoutMs = 600_000) {
      return new Promise<T>((resolve, reject) => {
        if (exited) return reject(new Error(exited));
        // One-shot: whatever settles it removes every listener, so polling a child (many
        // next() calls) does not pile them up.
        const settle = (done: () => void) => {
          clearTimeout(timer);
          offMessage();
          offError();
          exitWaiters.delete(onExit);
          done();
        };
        const timer = setTimeout(
          () => settle(() => reject(new Error(`${name}: no "${type}" message in ${timeoutMs} ms`))),
          timeoutMs,
        );
        const onExit = (why: string) => settle(() => reject(new Error(`${why} before sending "${type}"`)));
        exitWaiters.add(onExit);
        const offMessage = on(type, (msg) => settle(() => resolve(msg as unknown as T)));
        const offError = on('error', (msg) =>
          settle(() => reject(new Error(`${name}: ${String(msg.message)}`))),
        );
      });
    },
    async stop(exitWithinMs = 0) {
      if (exited) return;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      if (exitWithinMs > 0) {
        await Promise.race([gone, new Promise((r) => setTimeout(r, exitWithinMs))]);
        if (exited) return;
      }
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** In a child: sends a message to the parent. */
export function toParent(msg: ChildMessage): void {
  process.send?.(msg);
}

/** In a child: handles the parent's messages; an exception becomes an `error` message. */
export function fromParent(handler: (msg: ChildMessage) => Promise<void> | void): void {
  process.on('message', (msg: ChildMessage) => {
    Promise.resolve()
      .then(() => handler(msg))
      .catch((err: unknown) => toParent({ type: 'error', message: (err as Error)?.stack ?? String(err) }));
  });
  // The parent going away (Ctrl-C, crash) ends the child too.
  process.on('disconnect', () => process.exit(0));
}
