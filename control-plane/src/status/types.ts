// The status of one fleet on one cluster, as stored and served by the API. Phases and
// actions are words (not protobuf numbers) because this is what people and scripts read.
import type { ObjectAction as CoreObjectAction, ObjectHealth, Phase } from '@gitfleet/proto/core';
/** What happened to an object; 'unknown' for an action a newer agent reports that this one does not know. */
export type ObjectAction = CoreObjectAction | 'unknown';
export type { ObjectHealth };

export interface ObjectResult {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  action: ObjectAction;
  health: ObjectHealth;
  reason: string;
  message: string;
  drifted: boolean;
  /** The last drift correction: the fields that had changed, who changed them, when it was restored. */
  lastDrift?: { changes: string[]; managers: string[]; correctedAt: string };
}

export interface ClusterFleetStatus {
  cluster: string;
  fleet: string;
  /** The agent's per-cluster report sequence number. */
  sequence: number;
  desiredRevision: string;
  desiredDigest: string;
  appliedRevision: string;
  attemptedRevision: string;
  phase: Phase;
  message: string;
  objects: ObjectResult[];
  driftCorrections: number;
  /** When the agent observed it (agent clock). */
  observedAt: string;
  /** When the control plane received it. */
  receivedAt: string;
}
