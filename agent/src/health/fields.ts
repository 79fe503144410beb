// Reading live objects without trusting their shape: status is written by controllers of
// every vintage and custom resources put anything there, so every read has a fallback and
// nothing here throws.

export interface Condition {
  type: string;
  status: string; // 'True' | 'False' | 'Unknown'
  reason: string;
  message: string;
  observedGeneration?: number;
}

export function field(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function int(obj: unknown, path: readonly string[], fallback: number): number {
  const v = field(obj, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export function str(obj: unknown, path: readonly string[], fallback = ''): string {
  const v = field(obj, path);
  return typeof v === 'string' ? v : fallback;
}

export function list(obj: unknown, path: readonly string[]): unknown[] {
  const v = field(obj, path);
  return Array.isArray(v) ? v : [];
}

export function conditions(obj: unknown): Condition[] {
  const out: Condition[] = [];
  for (const c of list(obj, ['status', 'conditions'])) {
    const type = str(c, ['type']);
    if (type === '') continue;
    const cond: Condition = {
      type,
      status: str(c, ['status'], 'Unknown'),
      reason: str(c, ['reason']),
      message: str(c, ['message']),
    };
    const og = field(c, ['observedGeneration']);
    if (typeof og === 'number') cond.observedGeneration = og;
    out.push(cond);
  }
  return out;
}

export function condition(obj: unknown, type: string): Condition | undefined {
  return conditions(obj).find((c) => c.type === type);
}

export function isTrue(obj: unknown, type: string): boolean {
  return condition(obj, type)?.status === 'True';
}

// plural(1, 'replica') is '1 replica'; ofTotal(2, 3, 'replica', 'ready') is '2 of 3 replicas ready'.
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function ofTotal(n: number, total: number, noun: string, state: string): string {
  return `${n} of ${plural(total, noun)} ${state}`;
}
