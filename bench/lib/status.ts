// A status report as an agent sends it: a fleet of `objects` objects, all applied and
// Current, which is what most reports in a healthy fleet look like.
import { Action, type FleetStatus, Health, Phase } from '@gitfleet/proto';

const KINDS = [
  ['v1', 'ConfigMap'],
  ['v1', 'Service'],
  ['apps/v1', 'Deployment'],
  ['v1', 'ServiceAccount'],
  ['v1', 'Secret'],
] as const;

export function fleetStatus(fleet: string, objects: number, revision = 'a'.repeat(40)): FleetStatus {
  return {
    fleet,
    desiredRevision: revision,
    desiredDigest: `sha256:${'b'.repeat(64)}`,
    appliedRevision: revision,
    attemptedRevision: revision,
    phase: Phase.PHASE_READY,
    message: '',
    objects: Array.from({ length: objects }, (_, i) => {
      const [apiVersion, kind] = KINDS[i % KINDS.length]!;
      return {
        apiVersion,
        kind,
        namespace: 'shop-prod',
        name: `component-${i}`,
        action: Action.ACTION_UNCHANGED,
        health: Health.HEALTH_CURRENT,
        reason: '',
        message: '',
        drifted: false,
        driftChanges: [],
        driftManagers: [],
        driftCorrectedAtUnixMs: 0,
      };
    }),
    observedAtUnixMs: Date.now(),
    driftCorrections: 0,
  };
}
