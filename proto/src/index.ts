// Public surface of @gitfleet/proto: the generated messages and the grpc-js service
// definition and client of gitfleet.v1.AgentService.
export * from '../gen/gitfleet/v1/agent.ts';
export { API_VERSIONS_LIMITS } from './limits.ts';
