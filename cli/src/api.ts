// The shapes the REST API returns, named for the CLI: each is read from the types generated
// from the server's OpenAPI document (api.gen.ts, `npm run docs:api`), so a change of the API
// is a type error here rather than a field the CLI reads and never gets.
import type { components, paths } from './api.gen.ts';

type Method = 'get' | 'post' | 'patch' | 'delete';

/** The JSON body of an operation's answer with `status`. */
type Answer<P extends keyof paths, M extends Method, S extends number> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer Body } } };
}
  ? Body
  : never;

export type ApiErrorBody = components['schemas']['Error'];
export type Cluster = components['schemas']['Cluster'];
export type Registration = Answer<'/api/v1/clusters', 'post', 201>;
export type ClusterDetail = Answer<'/api/v1/clusters/{name}', 'get', 200>;
export type Fleet = components['schemas']['Fleet'];
export type StageView = Fleet['stages'][number];
export type FleetStatus = Answer<'/api/v1/fleets/{name}/status', 'get', 200>;
export type ClusterStatus = FleetStatus['items'][number];
export type ObjectResult = ClusterStatus['objects'][number];
/** POST /api/v1/fleets/{name}/promotions (and /rollbacks) → 201. */
export type Promotion = Answer<'/api/v1/fleets/{name}/promotions', 'post', 201>;
/** One event of /api/v1/events (as a page item or a server-sent event). */
export type GitfleetEvent = Answer<'/api/v1/events', 'get', 200>['items'][number];
export type FleetDiff = Answer<'/api/v1/fleets/{name}/diff', 'get', 200>;
export type ApiToken = Answer<'/api/v1/tokens', 'get', 200>['items'][number];
/** POST /api/v1/tokens → 201: the record and, this once, the token. */
export type CreatedApiToken = Answer<'/api/v1/tokens', 'post', 201>;
export type Project = Answer<'/api/v1/projects/{name}', 'get', 200>;
