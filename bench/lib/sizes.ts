// The loop of the scenarios that compare gitfleet with a reference at growing sizes.
import type { Report } from './report.ts';

export interface SizeResult<T> {
  n: number;
  gitfleet?: T;
  reference?: T;
  error?: string;
}

/**
 * Runs gitfleet, then its reference, at each size. Where it breaks is a result too: the first
 * failure is recorded (and noted in the report) and ends the run, so the table shows how far
 * it went.
 */
export async function eachSize<T>(
  sizes: number[],
  run: { gitfleet: (n: number) => Promise<T>; reference?: ((n: number) => Promise<T>) | undefined },
  report: Report,
): Promise<SizeResult<T>[]> {
  const results: SizeResult<T>[] = [];
  for (const n of sizes) {
    const entry: SizeResult<T> = { n };
    results.push(entry);
    try {
      entry.gitfleet = await run.gitfleet(n);
      if (run.reference) entry.reference = await run.reference(n);
    } catch (err) {
      entry.error = (err as Error).message;
      report.note(`N=${n}: ${entry.error}`);
      break;
    }
  }
  return results;
}
