// Apply order: which objects go first so that each one finds what it depends on.
//
// Stages, applied one after the other:
//   definitions  CRDs, Namespaces and ClusterRoles. The IO layer waits for these to be Current
//                (CRD Established, Namespace Active) before the next stage: a custom resource
//                cannot be applied before its CRD is served, nor a namespaced object before
//                its Namespace exists, and bindings to a ClusterRole are checked against it.
//   cluster      the other cluster-scoped objects (classes, bindings, policies...).
//   namespaced   everything that lives in a namespace.
//   webhooks     admission webhooks and aggregated APIServices. They route API traffic to a
//                Service in the bundle; registered before that workload is running, a webhook
//                with failurePolicy Fail would reject the rest of the apply. Flux puts them last
//                in its order for the same reason; we make it a stage because our namespaced
//                objects come after the cluster-scoped ones.
// Within a stage, objects go by kind (ServiceAccount, Secret, ConfigMap... before workloads,
// like Helm and Flux), then group, namespace and name, so the order never depends on the order
// of files in Git. Deleting goes the other way round.

import type { KubeObject, ObjectRef } from '../objects.ts';
import { refOf } from '../objects.ts';

export type ApplyStageName = 'definitions' | 'cluster' | 'namespaced' | 'webhooks';

export const APPLY_STAGES: readonly ApplyStageName[] = ['definitions', 'cluster', 'namespaced', 'webhooks'];

export interface ApplyStage {
  name: ApplyStageName;
  // The IO layer must wait for every object of this stage to be Current before the next stage.
  waitForCurrent: boolean;
  objects: KubeObject[];
}

// Whether a kind is namespaced is a fact of the API server (discovery), which this pure code
// cannot ask. The IO layer passes its answer here; `undefined` means "don't know".
export type IsNamespaced = (ref: ObjectRef) => boolean | undefined;

export interface SortOptions {
  isNamespaced?: IsNamespaced;
}

const gk = (group: string, kind: string) => `${group}/${kind}`;

const DEFINITION_KINDS = new Set([
  gk('apiextensions.k8s.io', 'CustomResourceDefinition'),
  gk('', 'Namespace'),
  gk('rbac.authorization.k8s.io', 'ClusterRole'),
]);

const WEBHOOK_KINDS = new Set([
  gk('admissionregistration.k8s.io', 'MutatingWebhookConfiguration'),
  gk('admissionregistration.k8s.io', 'ValidatingWebhookConfiguration'),
  gk('apiregistration.k8s.io', 'APIService'),
]);

// Built-in kinds whose scope is known without discovery. Bundles often leave metadata.namespace
// out of namespaced objects (the real-world fixtures do), so "has a namespace" alone would put
// every such Deployment among the cluster-scoped objects.
const CLUSTER_SCOPED_KINDS = new Set([
  ...DEFINITION_KINDS,
  ...WEBHOOK_KINDS,
  gk('', 'Node'),
  gk('', 'PersistentVolume'),
  gk('rbac.authorization.k8s.io', 'ClusterRoleBinding'),
  gk('admissionregistration.k8s.io', 'ValidatingAdmissionPolicy'),
  gk('admissionregistration.k8s.io', 'ValidatingAdmissionPolicyBinding'),
  gk('admissionregistration.k8s.io', 'MutatingAdmissionPolicy'),
  gk('admissionregistration.k8s.io', 'MutatingAdmissionPolicyBinding'),
  gk('storage.k8s.io', 'StorageClass'),
  gk('storage.k8s.io', 'CSIDriver'),
  gk('storage.k8s.io', 'VolumeAttributesClass'),
  gk('scheduling.k8s.io', 'PriorityClass'),
  gk('node.k8s.io', 'RuntimeClass'),
  gk('networking.k8s.io', 'IngressClass'),
  gk('flowcontrol.apiserver.k8s.io', 'FlowSchema'),
  gk('flowcontrol.apiserver.k8s.io', 'PriorityLevelConfiguration'),
  gk('certificates.k8s.io', 'CertificateSigningRequest'),
  gk('policy', 'PodSecurityPolicy'),
]);

const NAMESPACED_KINDS = new Set([
  gk('', 'ConfigMap'),
  gk('', 'Secret'),
  gk('', 'Service'),
  gk('', 'ServiceAccount'),
  gk('', 'Pod'),
  gk('', 'PersistentVolumeClaim'),
  gk('', 'Endpoints'),
  gk('', 'LimitRange'),
  gk('', 'ResourceQuota'),
  gk('', 'ReplicationController'),
  gk('apps', 'Deployment'),
  gk('apps', 'StatefulSet'),
  gk('apps', 'DaemonSet'),
  gk('apps', 'ReplicaSet'),
  gk('batch', 'Job'),
  gk('batch', 'CronJob'),
  gk('autoscaling', 'HorizontalPodAutoscaler'),
  gk('policy', 'PodDisruptionBudget'),
  gk('networking.k8s.io', 'Ingress'),
  gk('networking.k8s.io', 'NetworkPolicy'),
  gk('rbac.authorization.k8s.io', 'Role'),
  gk('rbac.authorization.k8s.io', 'RoleBinding'),
  gk('discovery.k8s.io', 'EndpointSlice'),
  gk('coordination.k8s.io', 'Lease'),
]);

// Kinds in the order they are applied within a stage; kinds not listed (custom resources
// mostly) come after all of them, since they usually refer to built-in objects, not the
// other way round.
const KIND_ORDER: readonly string[] = [
  'CustomResourceDefinition',
  'Namespace',
  // What admits and schedules the objects below, so nothing is created before its limits,
  // network policy or class exist.
  'ResourceQuota',
  'LimitRange',
  'NetworkPolicy',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'PriorityClass',
  'StorageClass',
  'RuntimeClass',
  'IngressClass',
  'PodSecurityPolicy',
  // Identities and permissions before the workloads that run as them.
  'ServiceAccount',
  'ClusterRole',
  'Role',
  'ClusterRoleBinding',
  'RoleBinding',
  // What pods mount, so they start on the first try.
  'Secret',
  'ConfigMap',
  'PersistentVolume',
  'PersistentVolumeClaim',
  // Services before their endpoints' workloads, so environment-variable discovery works.
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'Job',
  'CronJob',
  // Objects that point at workloads: an HPA before its target only logs FailedGetScale.
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'Ingress',
];

const KIND_ORDER_LAST: readonly string[] = [
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

const kindRanks = new Map<string, number>([
  ...KIND_ORDER.map((kind, i): [string, number] => [kind, i - KIND_ORDER.length]),
  ...KIND_ORDER_LAST.map((kind, i): [string, number] => [kind, i + 1]),
]);

// Negative for kinds that go first, 0 for unknown kinds, positive for kinds that go last.
export function kindRank(kind: string): number {
  return kindRanks.get(kind) ?? 0;
}

// Resolution order: the IO layer's answer (discovery), then built-in kinds, then whether the
// object carries a namespace. The last is a guess for unknown kinds only; a wrong guess moves
// an object between the `cluster` and `namespaced` stages, which are applied back to back
// without waiting, so it changes the order but not the outcome.
export function isNamespacedObject(obj: KubeObject, options: SortOptions = {}): boolean {
  const ref = refOf(obj);
  const answer = options.isNamespaced?.(ref);
  if (answer !== undefined) return answer;
  const key = gk(ref.group, ref.kind);
  if (CLUSTER_SCOPED_KINDS.has(key)) return false;
  if (NAMESPACED_KINDS.has(key)) return true;
  return ref.namespace !== '';
}

export function stageOf(ref: ObjectRef, namespaced: boolean): ApplyStageName {
  const key = gk(ref.group, ref.kind);
  if (DEFINITION_KINDS.has(key)) return 'definitions';
  if (WEBHOOK_KINDS.has(key)) return 'webhooks';
  return namespaced ? 'namespaced' : 'cluster';
}

// Order within a stage.
export function compareForApply(a: ObjectRef, b: ObjectRef): number {
  return (
    kindRank(a.kind) - kindRank(b.kind) ||
    compareStrings(a.group, b.group) ||
    compareStrings(a.kind, b.kind) ||
    compareStrings(a.namespace, b.namespace) ||
    compareStrings(a.name, b.name)
  );
}

// Returns only the stages that have objects, in apply order. The input is not modified.
export function sortForApply(objects: readonly KubeObject[], options: SortOptions = {}): ApplyStage[] {
  const byStage = new Map<ApplyStageName, { ref: ObjectRef; obj: KubeObject }[]>();
  for (const obj of objects) {
    const ref = refOf(obj);
    const stage = stageOf(ref, isNamespacedObject(obj, options));
    const list = byStage.get(stage) ?? [];
    list.push({ ref, obj });
    byStage.set(stage, list);
  }
  const stages: ApplyStage[] = [];
  for (const name of APPLY_STAGES) {
    const list = byStage.get(name);
    if (!list) continue;
    list.sort((x, y) => compareForApply(x.ref, y.ref));
    stages.push({ name, waitForCurrent: name === 'definitions', objects: list.map((e) => e.obj) });
  }
  return stages;
}

// Deletion order for refs (from an inventory, so their namespaces are filled in and
// namespace '' means cluster-scoped): stages and kinds in reverse apply order, so webhooks go
// before the Services they call, workloads before what they mount, namespaced objects before
// cluster-scoped ones, and Namespaces and CRDs last (deleting those cascades to what is in
// them). Within a kind, by namespace and name, for readable output.
export function sortForDelete(refs: readonly ObjectRef[]): ObjectRef[] {
  const stageIndex = (ref: ObjectRef) => APPLY_STAGES.indexOf(stageOf(ref, ref.namespace !== ''));
  return [...refs].sort(
    (a, b) =>
      stageIndex(b) - stageIndex(a) ||
      kindRank(b.kind) - kindRank(a.kind) ||
      compareStrings(b.group, a.group) ||
      compareStrings(b.kind, a.kind) ||
      compareStrings(a.namespace, b.namespace) ||
      compareStrings(a.name, b.name),
  );
}

// Code-unit order, not locale order: the result must be the same on every agent.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
