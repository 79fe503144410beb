// Every Redis key the control plane uses, in one place, under one prefix (so several
// installations or test runs can share a Redis). Keys that belong to one cluster carry the
// cluster name in braces, so a Redis Cluster keeps a cluster's keys in one slot.
export interface Keys {
  readonly prefix: string;
  clusters(): string;
  cluster(name: string): string;
  bootstrap(tokenHash: string): string;
  desired(cluster: string): string;
  sequence(cluster: string): string;
  fleets(): string;
  fleet(name: string): string;
  bundle(digest: string): string;
  capabilities(digest: string): string;
  /** A render result shared by the replicas, and the lock of the replica rendering it. */
  render(digest: string): string;
  renderLock(digest: string): string;
  status(cluster: string): string;
  statusHistory(cluster: string, fleet: string): string;
  reportSequence(cluster: string): string;
  /** The event history (a stream). */
  events(): string;
  /** Ids of the events recorded lately from outboxes, in the history's slot (its key as tag). */
  recorded(): string;
  /**
   * Events a script wrote until they are in the history (history/outbox.ts): a cluster's in its
   * slot, a fleet's in the slot of the fleet's hash (whose whole key is the tag, having none).
   */
  outbox(cluster: string): string;
  fleetOutbox(name: string): string;
  /** The outboxes that may hold events, by when a writer last touched them. */
  outboxes(): string;
  /** API tokens created over the API, by name and by hash (one slot: scripts write both). */
  apiTokens(): string;
  apiTokenHashes(): string;
  /** Projects, by name (one hash). */
  projects(): string;
  channel(name: 'events' | 'desired' | 'clusters' | 'previews'): string;
}

export function keys(prefix = 'gitfleet'): Keys {
  return {
    prefix,
    clusters: () => `${prefix}:clusters`,
    cluster: (name) => `${prefix}:cluster:{${name}}`,
    bootstrap: (tokenHash) => `${prefix}:bootstrap:${tokenHash}`,
    desired: (cluster) => `${prefix}:desired:{${cluster}}`,
    sequence: (cluster) => `${prefix}:seq:{${cluster}}`,
    fleets: () => `${prefix}:fleets`,
    fleet: (name) => `${prefix}:fleet:${name}`,
    bundle: (digest) => `${prefix}:bundle:${digest}`,
    capabilities: (digest) => `${prefix}:capabilities:${digest}`,
    render: (digest) => `${prefix}:render:${digest}`,
    renderLock: (digest) => `${prefix}:render-lock:${digest}`,
    status: (cluster) => `${prefix}:status:{${cluster}}`,
    statusHistory: (cluster, fleet) => `${prefix}:status-history:{${cluster}}:${fleet}`,
    reportSequence: (cluster) => `${prefix}:report-seq:{${cluster}}`,
    events: () => `${prefix}:events`,
    recorded: () => `${prefix}:recorded:{${prefix}:events}`,
    outbox: (cluster) => `${prefix}:outbox:{${cluster}}`,
    fleetOutbox: (name) => `${prefix}:fleet-outbox:{${prefix}:fleet:${name}}`,
    outboxes: () => `${prefix}:outboxes`,
    apiTokens: () => `${prefix}:{api-tokens}:by-name`,
    apiTokenHashes: () => `${prefix}:{api-tokens}:by-hash`,
    projects: () => `${prefix}:projects`,
    channel: (name) => `${prefix}:channel:${name}`,
  };
}
