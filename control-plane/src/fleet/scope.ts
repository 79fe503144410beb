// Whether a built-in kind is cluster-scoped, for objects a tool rendered without a namespace:
// the control plane has no discovery of its own, and a chart's namespaced objects must land in
// the release namespace. Kinds of custom resources are namespaced unless the render's own CRD
// says otherwise (see clusterScopedCrds), which is what nearly every chart ships.

const CLUSTER_SCOPED = new Set([
  'apiextensions.k8s.io/CustomResourceDefinition',
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'apiregistration.k8s.io/APIService',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'scheduling.k8s.io/PriorityClass',
  'node.k8s.io/RuntimeClass',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/ServiceCIDR',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'resource.k8s.io/DeviceClass',
  'resource.k8s.io/ResourceSlice',
  'policy/PodSecurityPolicy',
]);

export function isClusterScopedKind(apiVersion: string, kind: string): boolean {
  const slash = apiVersion.lastIndexOf('/');
  return CLUSTER_SCOPED.has(`${slash === -1 ? '' : apiVersion.slice(0, slash)}/${kind}`);
}
