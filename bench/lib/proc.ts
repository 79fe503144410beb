// Process accounting from /proc (Linux): resident memory and CPU time of any process, so a
// benchmark can charge the API server, etcd or the control plane for what they used while
// it ran, rather than guessing from wall time on a shared machine.
import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux we run on.
const CLOCK_TICKS = 100;

/** Resident set size in bytes (VmRSS), or NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU time in ms, or NaN when the process is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU ms of a process's children that have exited and been waited for (cutime + cstime): what
 * the subprocesses it ran (helm, kubectl) used.
 */
export function childCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Pids of processes whose command line contains every one of `parts`. */
export function findPids(...parts: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (parts.every((p) => cmdline.includes(p))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU ms used by a set of processes between two calls: `const done = cpuMeter(pids); ...; done()`. */
export function cpuMeter(pids: readonly number[]): () => number {
  const before = pids.map(cpuMs);
  return () => pids.reduce((sum, pid, i) => sum + (cpuMs(pid) - (before[i] ?? 0)), 0);
}

export function mib(bytes: number): number {
  return bytes / 2 ** 20;
}

/**
 * Samples the CPU of a set of processes every `intervalMs` until stopped: the total, and the
 * busiest interval as a percentage of one core (200 % = both cores of this machine).
 */
export function cpuSampler(
  pids: readonly number[],
  intervalMs = 250,
): () => { totalMs: number; peakPct: number } {
  const total = cpuMeter(pids);
  let last = total();
  let lastAt = performance.now();
  let peakPct = 0;
  const timer = setInterval(() => {
    const used = total();
    const at = performance.now();
    peakPct = Math.max(peakPct, ((used - last) / (at - lastAt)) * 100);
    last = used;
    lastAt = at;
  }, intervalMs);
  return () => {
    clearInterval(timer);
    return { totalMs: total(), peakPct };
  };
}
