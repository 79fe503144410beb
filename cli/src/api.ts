// The shapes the REST API returns (control-plane/src/routes/*.ts), as far as the CLI reads
// them. `-o json|yaml` prints whatever the API sent, including fields not listed here.

export interface Cluster {
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  registered: boolean;
  connected: boolean;
  lastSeen: string | null;
  agentVersion: string | null;
  kubernetesVersion: string | null;
}

export interface Registration {
  cluster: Cluster;
  bootstrapToken: string;
  expiresAt: string;
  helmInstall: string;
}

export interface ClusterFleetSummary {
  fleet: string;
  phase: string;
  desiredRevision: string;
  appliedRevision: string;
  attemptedRevision: string;
  message: string;
  objectCount: number;
  observedAt: string;
  driftCorrections: number;
}

export interface ClusterDetail extends Cluster {
  fleets: ClusterFleetSummary[];
}

export interface Problem {
  code: string;
  file: string;
  line?: number;
  message: string;
}

export interface StageRollout {
  state: 'progressing' | 'complete' | 'halted';
  revision: string;
  previousRevision?: string | null;
  wave: number;
  waves: number;
  reason: string | null;
}

export interface StageView {
  name: string;
  follows: 'head' | 'pinned';
  revision: string | null;
  /** Helm fleets: the chart version that revision renders. */
  chartVersion?: string | null;
  requires: string | null;
  clusters: number;
  phases: Record<string, number>;
  rollout: StageRollout | null;
}

export interface Fleet {
  name: string;
  repo: string;
  branch: string;
  path: string;
  createdAt: string;
  head: string | null;
  lastGoodRevision: string | null;
  /** manifests, helm or kustomize; null before the first good revision. */
  source?: string | null;
  chartVersion?: string | null;
  lastSyncAt: string | null;
  fetchError: string | null;
  errors: Problem[];
  stages: StageView[];
}

export interface ObjectResult {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  action: string;
  health: string;
  reason: string;
  message: string;
  drifted: boolean;
}

export interface ClusterStatus {
  cluster: string;
  stage: string | null;
  connected: boolean;
  desiredRevision: string | null;
  appliedRevision: string | null;
  attemptedRevision: string | null;
  phase: string;
  message: string;
  observedAt: string | null;
  driftCorrections: number;
  objects: ObjectResult[];
}

export interface FleetStatus {
  fleet: string;
  items: ClusterStatus[];
}

/** POST /api/v1/fleets/{name}/promotions (and, as far as it matches, /rollbacks) → 201. */
export interface Promotion {
  id?: string;
  kind?: 'promotion' | 'rollback';
  stage: string;
  revision: string;
  commit?: string;
  author?: string | { name?: string; email?: string };
  time?: string;
  message?: string;
  /** The stage the revision came from (a promotion without --revision). */
  from?: string | null;
}

export interface NotReady {
  cluster: string;
  /** null when the cluster never reported for this fleet. */
  phase: string | null;
  revision: string | null;
}

/** One message of /api/v1/events. */
export interface GitfleetEvent {
  type: string;
  cluster?: string;
  fleet?: string;
  stage?: string;
  revision?: string;
  phase?: string;
  reason?: string;
  time?: string;
}

/** GET /api/v1/fleets/{name}/diff */
export interface FleetDiff {
  fleet: string;
  revision: string;
  changed: boolean;
  clusters: {
    cluster: string;
    stage: string;
    outcome: 'compared' | 'not-connected' | 'timed-out' | 'render-failed' | 'failed';
    message: string;
    summary: Record<'created' | 'changed' | 'deleted' | 'unchanged' | 'failed', number>;
    objects: {
      apiVersion: string;
      kind: string;
      namespace: string;
      name: string;
      change: 'created' | 'changed' | 'deleted' | 'unchanged' | 'failed';
      diff: string;
      message: string;
      changedKeys: string[];
    }[];
  }[];
}
