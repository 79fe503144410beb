// Public surface of @gitfleet/control-plane: start one in-process (tests, the quick start)
// and build its REST app.
export { buildApp } from './app.ts';
export { type Config, loadConfig } from './config.ts';
export { ControlPlane, controlPlaneLogger } from './control-plane.ts';
export { DomainError, type ErrorCode } from './errors.ts';
export type { GitfleetEvent } from './events.ts';
export type { ClusterFleetStatus } from './status/types.ts';
