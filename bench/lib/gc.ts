// A full garbage collection before memory is read (the process must run with --expose-gc):
// garbage not yet collected at the moment of reading must not be charged to the agents.
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory is read after a full GC: run this process with --expose-gc');
  // Twice: the first pass runs finalizers whose objects the second one frees.
  gc();
  gc();
}

/** Memory after a full GC and a moment for the allocator to return what it freed. */
export async function memoryAfterGc(): Promise<{ rss: number; heapUsed: number; external: number }> {
  collectGarbage();
  await new Promise((r) => setTimeout(r, 200));
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}
