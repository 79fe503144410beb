// Public surface of @gitfleet/proto: the generated messages and the grpc-js service
// definition and client of gitfleet.v1.AgentService. What needs neither is in ./core.
export * from '../gen/gitfleet/v1/agent.ts';
export { API_VERSIONS_LIMITS } from './limits.ts';
export { actionFromProto, actionToProto, healthFromProto, healthToProto } from './object.ts';
export { phaseFromProto, phaseToProto } from './phase.ts';
export { GITFLEET_VERSION } from './version.ts';
