// How a fleet's objects are applied on each cluster: written in fleet.yaml's `apply:`, stored
// with every desired state and sent to the agent with it.
export type ApplySettings = {
  force: boolean;
  prune: boolean;
  allowEmpty: boolean;
  correctDrift: boolean;
};

// force: true by default, as in Flux and Argo CD: a field someone changed by hand (kubectl
// edit/patch takes ownership of it) can only be restored by forcing; fields our manifests do
// not set, like the replicas an HPA owns, are never touched either way.
export const DEFAULT_APPLY: Readonly<ApplySettings> = {
  force: true,
  prune: true,
  allowEmpty: false,
  correctDrift: true,
};
