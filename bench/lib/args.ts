// Command-line options shared by the scenarios: `--sizes 100,1000` and `--quick` (small N,
// for a first look on a busy machine). Anything else is a typo and stops the run.
import { parseArgs } from 'node:util';

export function benchArgs<
  T extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>,
>(options: T) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, ...options },
    strict: true,
    allowPositionals: false,
  });
  return values as unknown as { quick: boolean } & {
    [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string;
  };
}

export function numberList(raw: string, what: string): number[] {
  const list = raw.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (list.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new Error(`${what}: "${raw}" is not a comma-separated list of positive integers`);
  }
  return list;
}

export function positive(raw: string, what: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what}: "${raw}" is not a positive number`);
  return n;
}
