// Giving memory back after a burst of work. A drift check or an apply pass reads every live
// object of a fleet (LIST pages, dry-run answers) and keeps them until it is done, long enough
// for V8 to move them to the old generation; left alone, that garbage stays until V8's memory
// reducer runs, often after the next check, so an idle agent's resident memory is its
// high-water mark (measured with 1,000 objects: old space 7.8 MiB live but 13.6–17.5 MiB
// between checks; idle RSS 74.5 MiB with this and the smaller LIST pages, 81.4 without;
// docs/benchmarks.md, agent footprint). One full collection of a heap that size right after
// the burst costs 15–25 ms of CPU once a minute (timed on the bench machine).
//
// The collector is only reachable when Node runs with --expose-gc (the chart's
// agent.nodeOptions sets it); without it this does nothing and V8 collects on its own schedule.

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage now, when the process runs with --expose-gc. */
export function collectGarbage(): void {
  gc?.();
}
