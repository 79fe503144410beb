// The Redis keys of notifications, under the installation's prefix like every other key
// (store/keys.ts holds the rest; these live here so notifications stay one module).
// Keys of one target carry its name as a hash tag, so a Redis Cluster keeps a target's
// coalescing windows in one slot and each script's keys share it.
export interface NotifyKeys {
  /** Set of target names. */
  targets(): string;
  /** Hash of one target: spec, sealed URL and secret, health. */
  target(name: string): string;
  /** Hash of one coalescing window: events of (target, fleet, cluster, type) in one time slice. */
  window(target: string, fleet: string, cluster: string | undefined, type: string, index: number): string;
  /** Set of the ids of the events counted in that window (each replica adds each event; once is counted). */
  windowSeen(target: string, fleet: string, cluster: string | undefined, type: string, index: number): string;
}

export function notifyKeys(prefix = 'gitfleet'): NotifyKeys {
  const window = (target: string, fleet: string, cluster: string | undefined, type: string, index: number) =>
    `${prefix}:notify:window:{${target}}:${fleet}:${cluster || '-'}:${type}:${index}`;
  return {
    targets: () => `${prefix}:notify:targets`,
    target: (name) => `${prefix}:notify:target:{${name}}`,
    window,
    windowSeen: (...args) => `${window(...args)}:seen`,
  };
}
