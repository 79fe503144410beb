// Public surface of @gitfleet/agent.

export { Backoff, type BackoffOptions } from './connection/backoff.ts';
export { ChunkAssembler, type DesiredState } from './connection/inbound.ts';
export type { KubeObject, ObjectRef } from './objects.ts';
