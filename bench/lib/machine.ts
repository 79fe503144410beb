// What the numbers were measured on. Every result file and table carries it, because a ratio
// is only comparable between runs on similar machines, and the load average says how noisy
// the machine was (others run tests on the shared benchmark machine).
import os from 'node:os';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage: number[];
  platform: string;
  kernel: string;
  node: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    freeMemoryGiB: round(os.freemem() / 2 ** 30, 1),
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    platform: `${os.platform()}-${os.arch()}`,
    kernel: os.release(),
    node: process.version,
  };
}

export function describeMachine(m: Machine): string {
  return (
    `machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM (${m.freeMemoryGiB} free), ` +
    `load ${m.loadAverage.join(' / ')}, ${m.platform} ${m.kernel}, node ${m.node}`
  );
}

export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
