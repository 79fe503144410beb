// A fleet's worth of Kubernetes objects of mixed kinds, as a Git repository would hold them:
// Namespaces, then ConfigMaps, Secrets, Services, ServiceAccounts, Deployments, Roles and
// RoleBindings spread over the namespaces. Sizes are typical of real manifests (a Deployment
// with probes and resources, ConfigMaps of a few keys), not minimal ones, so the bytes on the
// wire and the work of the API server resemble a real apply.
import type { KubeObject } from '../../agent/src/objects.ts';

const KINDS = [
  'ConfigMap',
  'ConfigMap',
  'Secret',
  'Service',
  'ServiceAccount',
  'Deployment',
  'Role',
  'RoleBinding',
] as const;

export function namespaceCount(total: number): number {
  return Math.max(2, Math.ceil(total / 500));
}

/**
 * `total` objects including the namespaces, which are named `${prefix}-<i>`. Same `total`,
 * same objects, whatever the prefix: both sides of a comparison apply equal work.
 */
export function mixedObjects(
  total: number,
  prefix: string,
  labels: Record<string, string> = {},
  options: { podBudget?: number } = {},
): KubeObject[] {
  // Deployments run 2 replicas while the pod budget lasts, then 0 (scaled to zero): the test
  // cluster's one fake node takes 110 pods, and a Deployment whose pods cannot be scheduled
  // never becomes Available, so its fleet would never be Ready.
  let pods = options.podBudget ?? Number.POSITIVE_INFINITY;
  const replicas = () => {
    const r = pods >= 2 ? 2 : 0;
    pods -= r;
    return r;
  };
  const nsCount = namespaceCount(total);
  const namespaces = Array.from({ length: nsCount }, (_, i) => `${prefix}-${i}`);
  const objects: KubeObject[] = namespaces.map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...labels } },
  }));
  for (let i = 0; objects.length < total; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const namespace = namespaces[i % nsCount]!;
    objects.push(objectOf(kind, `obj-${i}`, namespace, labels, i, kind === 'Deployment' ? replicas() : 0));
  }
  return objects;
}

function objectOf(
  kind: (typeof KINDS)[number],
  name: string,
  namespace: string,
  labels: Record<string, string>,
  i: number,
  replicas: number,
): KubeObject {
  const metadata = { name, namespace, labels: { app: `app-${i % 50}`, tier: 'backend', ...labels } };
  switch (kind) {
    case 'ConfigMap':
      return {
        apiVersion: 'v1',
        kind,
        metadata,
        data: {
          LOG_LEVEL: 'info',
          FEATURE_FLAGS: 'search,checkout,recommendations',
          'application.yaml': `server:\n  port: 8080\n  name: ${name}\ncache:\n  ttl: 300\n  size: ${1000 + i}\n`,
        },
      };
    case 'Secret':
      return {
        apiVersion: 'v1',
        kind,
        metadata,
        type: 'Opaque',
        data: {
          username: Buffer.from(`user-${i}`).toString('base64'),
          password: Buffer.from(`not-a-real-password-${i}`).toString('base64'),
        },
      };
    case 'Service':
      return {
        apiVersion: 'v1',
        kind,
        metadata,
        spec: {
          selector: { app: `app-${i % 50}` },
          ports: [
            { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
            { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
          ],
        },
      };
    case 'ServiceAccount':
      return { apiVersion: 'v1', kind, metadata, automountServiceAccountToken: false };
    case 'Deployment':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata,
        spec: {
          replicas,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name, tier: 'backend' } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: `registry.example.com/shop/app:1.${i % 20}.0`,
                  ports: [{ name: 'http', containerPort: 8080 }],
                  env: [
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'LOG_LEVEL', value: 'info' },
                  ],
                  resources: {
                    requests: { cpu: '100m', memory: '128Mi' },
                    limits: { cpu: '500m', memory: '256Mi' },
                  },
                  readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
                  livenessProbe: { httpGet: { path: '/live', port: 'http' }, periodSeconds: 10 },
                },
              ],
            },
          },
        },
      };
    case 'Role':
      return {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind,
        metadata,
        rules: [{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch'] }],
      };
    case 'RoleBinding':
      return {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind,
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `obj-${i - 1}` },
        subjects: [{ kind: 'ServiceAccount', name: `obj-${i - 3}`, namespace }],
      };
  }
}

/** Kind → count, for the table. */
export function kindCounts(objects: readonly KubeObject[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  return counts;
}

/** Multi-document YAML (JSON documents are YAML) for `kubectl apply -f -`. */
export function toYamlStream(objects: readonly KubeObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n---\n');
}
