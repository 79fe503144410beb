// @gitfleet/proto/core: the vocabulary the control plane and the agent share, defined once.
// Neither grpc-js nor the generated code is imported here, so the control plane's pure core
// and the agent take it at no cost.
export { type ApplySettings, DEFAULT_APPLY } from './apply.ts';
export {
  BundleError,
  bundleDigest,
  canonicalJson,
  compressBundle,
  decodeBundle,
  decompressBundle,
  encodeBundle,
} from './bundle.ts';
export { normaliseFleetPath } from './fleet-path.ts';
export {
  CLUSTER_LABEL,
  FLEET_LABEL,
  INVENTORY_LABEL,
  PRUNE_OPT_OUT_ANNOTATION,
  PRUNE_OPT_OUT_VALUE,
} from './labels.ts';
export { OBJECT_ACTIONS, OBJECT_HEALTHS, type ObjectAction, type ObjectHealth } from './object.ts';
export { PHASES, type Phase } from './phase.ts';
