// Concurrency helpers shared by the scenarios that drive many simulated agents.
import type { Child } from './child.ts';

/** Runs `fn` over `items` with at most `n` in flight. */
export async function limit<T>(
  items: T[],
  n: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

/** Sends every child its message (one for all, or one each) and waits for all replies. */
export async function all<T>(
  children: Child[],
  msg: Record<string, unknown>[] | Record<string, unknown>,
  reply: string,
  timeoutMs = 600_000,
) {
  // Listening before sending: a fast child must not answer before anyone waits for it.
  const answers = children.map((c) => c.next<{ type: string } & T>(reply, timeoutMs));
  children.forEach((c, i) => {
    const m = Array.isArray(msg) ? msg[i] : msg;
    c.send({ ...m, type: String(m?.type) });
  });
  return Promise.all(answers);
}
