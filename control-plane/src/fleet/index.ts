// The pure core of the control plane: fleet policy, label selectors, rendering into
// content-addressed bundles, and planning of stages, rollouts and promotions. No IO here:
// Git, Redis, gRPC and Kubernetes live in the adapters that call these functions.

export { type Bundle, bundleBytes, type KubeObject, makeBundle, objectIdentity } from './bundle.ts';
export { FleetError, type Problem } from './errors.ts';
export {
  formatSelector,
  isValidLabelKey,
  isValidLabelValue,
  type LabelSelector,
  type LabelSelectorRequirement,
  matchesSelector,
  parseSelector,
  type SelectorOperator,
} from './labels.ts';
export {
  type Condition,
  type ConditionType,
  concludePass,
  conditions,
  type Delivery,
  EMPTY_STATE,
  type FleetState,
  type PassEvent,
  type PassInput,
  type PassOutcome,
  type RenderOutcome,
} from './pass.ts';
export {
  assignStages,
  type ClusterInfo,
  type ClusterPlan,
  type ClusterPlanReason,
  checkPromotion,
  defaultPromotionRevision,
  dropsEveryCluster,
  type NotReadyCluster,
  type Plan,
  type PlanInput,
  type PromotionCheck,
  type PromotionInput,
  plan,
  type StageAssignment,
  type StagePlan,
  stageTarget,
} from './planner.ts';
export {
  DEFAULT_MANIFESTS,
  DEFAULT_ROLLOUT,
  type FleetPolicy,
  formatDuration,
  type PolicyResult,
  parseDuration,
  parsePolicy,
  type RolloutPolicy,
  type Stage,
  setStageRevision,
} from './policy.ts';
export {
  allowsRepo,
  clustersOf,
  holdsFleet,
  type Members,
  matchesPattern,
  objectProblems,
  PROJECT_ROLES,
  type Project,
  type ProjectRole,
} from './project.ts';
export {
  isManifestFile,
  type ManifestFile,
  type RenderInput,
  type RenderResult,
  renderBundle,
} from './render.ts';
export { isRevision, sameRevision, shortRevision } from './revision.ts';
export {
  advanceRollout,
  type ClusterStatus,
  type RolloutInput,
  type RolloutResult,
  type RolloutState,
  waveSize,
} from './rollout.ts';
export { BUILTIN_VARIABLES, findVariables, isBuiltinVariable, substitute } from './substitute.ts';
