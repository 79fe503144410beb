import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../objects.ts';
import { formatRef, isKubeObject, parseRefKey, refKey, refOf } from '../objects.ts';
import { isNamespacedObject, kindRank, sortForApply, sortForDelete, stageOf } from './sort.ts';

// The real-world manifests live outside the repository; tests that read them are skipped
// where they are not available.
// Real-world manifests (podinfo, microservices-demo), copied into the repository.
const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/real-world');

function loadYaml(...paths: string[]): unknown[] {
  return paths.flatMap((p) =>
    parseAllDocuments(readFileSync(join(FIXTURES, p), 'utf8'))
      .map((d) => d.toJS() as unknown)
      .filter((d) => d !== null),
  );
}

const obj = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: namespace === undefined ? { name } : { name, namespace },
});

const keysOf = (objects: KubeObject[]) => objects.map((o) => refKey(refOf(o)));

describe('sortForApply', () => {
  it('puts CRDs, Namespaces and ClusterRoles first, then cluster-scoped, namespaced, webhooks', () => {
    const input = [
      obj('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'policy'),
      obj('apps/v1', 'Deployment', 'web', 'shop'),
      obj('example.com/v1', 'Widget', 'w1', 'shop'),
      obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'web-read'),
      obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'web-read'),
      obj('v1', 'Namespace', 'shop'),
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
      obj('storage.k8s.io/v1', 'StorageClass', 'fast'),
      obj('apiregistration.k8s.io/v1', 'APIService', 'v1beta1.metrics.k8s.io'),
    ];
    const stages = sortForApply(input);
    assert.deepEqual(
      stages.map((s) => [s.name, s.waitForCurrent, keysOf(s.objects)]),
      [
        [
          'definitions',
          true,
          [
            'apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com',
            '/Namespace//shop',
            'rbac.authorization.k8s.io/ClusterRole//web-read',
          ],
        ],
        [
          'cluster',
          false,
          ['storage.k8s.io/StorageClass//fast', 'rbac.authorization.k8s.io/ClusterRoleBinding//web-read'],
        ],
        ['namespaced', false, ['apps/Deployment/shop/web', 'example.com/Widget/shop/w1']],
        [
          'webhooks',
          false,
          [
            'apiregistration.k8s.io/APIService//v1beta1.metrics.k8s.io',
            'admissionregistration.k8s.io/ValidatingWebhookConfiguration//policy',
          ],
        ],
      ],
    );
  });

  it('returns only stages that have objects, and nothing for nothing', () => {
    assert.deepEqual(sortForApply([]), []);
    const stages = sortForApply([obj('v1', 'ConfigMap', 'cfg', 'shop')]);
    assert.deepEqual(
      stages.map((s) => s.name),
      ['namespaced'],
    );
  });

  it('orders kinds within a stage so dependencies come first', () => {
    const input = [
      obj('networking.k8s.io/v1', 'Ingress', 'web', 'shop'),
      obj('autoscaling/v2', 'HorizontalPodAutoscaler', 'web', 'shop'),
      obj('apps/v1', 'Deployment', 'web', 'shop'),
      obj('v1', 'Service', 'web', 'shop'),
      obj('v1', 'PersistentVolumeClaim', 'data', 'shop'),
      obj('v1', 'ConfigMap', 'web', 'shop'),
      obj('v1', 'Secret', 'web', 'shop'),
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'web', 'shop'),
      obj('rbac.authorization.k8s.io/v1', 'Role', 'web', 'shop'),
      obj('v1', 'ServiceAccount', 'web', 'shop'),
      obj('networking.k8s.io/v1', 'NetworkPolicy', 'deny-all', 'shop'),
      obj('v1', 'ResourceQuota', 'quota', 'shop'),
      obj('batch/v1', 'Job', 'migrate', 'shop'),
      obj('apps/v1', 'StatefulSet', 'db', 'shop'),
    ];
    const [stage] = sortForApply(input);
    assert.deepEqual(
      stage?.objects.map((o) => o.kind),
      [
        'ResourceQuota',
        'NetworkPolicy',
        'ServiceAccount',
        'Role',
        'RoleBinding',
        'Secret',
        'ConfigMap',
        'PersistentVolumeClaim',
        'Service',
        'Deployment',
        'StatefulSet',
        'Job',
        'HorizontalPodAutoscaler',
        'Ingress',
      ],
    );
  });

  it('puts unknown kinds after known ones, by group, kind, namespace, name', () => {
    const input = [
      obj('zeta.io/v1', 'Alpha', 'a', 'shop'),
      obj('cert-manager.io/v1', 'Certificate', 'web', 'shop'),
      obj('cert-manager.io/v1', 'Certificate', 'api', 'shop'),
      obj('cert-manager.io/v1', 'Certificate', 'api', 'admin'),
      obj('v1', 'Service', 'web', 'shop'),
    ];
    const [stage] = sortForApply(input);
    assert.deepEqual(keysOf(stage?.objects ?? []), [
      '/Service/shop/web',
      'cert-manager.io/Certificate/admin/api',
      'cert-manager.io/Certificate/shop/api',
      'cert-manager.io/Certificate/shop/web',
      'zeta.io/Alpha/shop/a',
    ]);
  });

  it('does not depend on input order and does not modify the input', () => {
    const input = [
      obj('v1', 'Service', 'b', 'shop'),
      obj('v1', 'Namespace', 'shop'),
      obj('apps/v1', 'Deployment', 'a', 'shop'),
      obj('v1', 'Service', 'a', 'shop'),
    ];
    const before = keysOf(input);
    const forward = sortForApply(input).flatMap((s) => keysOf(s.objects));
    const backward = sortForApply([...input].reverse()).flatMap((s) => keysOf(s.objects));
    assert.deepEqual(forward, backward);
    assert.deepEqual(keysOf(input), before);
  });

  it('asks the IO layer about scope first, e.g. for a cluster-scoped custom resource', () => {
    const issuer = obj('cert-manager.io/v1', 'ClusterIssuer', 'letsencrypt');
    const widget = obj('example.com/v1', 'Widget', 'w1');
    // Without an answer, no namespace means cluster-scoped.
    assert.deepEqual(
      sortForApply([issuer, widget]).map((s) => s.name),
      ['cluster'],
    );
    const stages = sortForApply([issuer, widget], {
      isNamespaced: (ref) => (ref.kind === 'Widget' ? true : undefined),
    });
    assert.deepEqual(
      stages.map((s) => [s.name, s.objects.map((o) => o.kind)]),
      [
        ['cluster', ['ClusterIssuer']],
        ['namespaced', ['Widget']],
      ],
    );
  });

  it('orders the microservices-demo release: ServiceAccounts, Services, then Deployments', () => {
    const docs = loadYaml('microservices-demo/kubernetes-manifests.yaml');
    assert.ok(docs.every(isKubeObject));
    const objects = docs as KubeObject[];
    assert.equal(objects.length, 35);
    // No object in this release has a namespace; built-in kinds are still known namespaced.
    const stages = sortForApply(objects);
    assert.deepEqual(
      stages.map((s) => s.name),
      ['namespaced'],
    );
    const ordered = stages[0]?.objects ?? [];
    const kinds = [...new Set(ordered.map((o) => o.kind))];
    assert.deepEqual(kinds, ['ServiceAccount', 'Service', 'Deployment']);
    const lastOf = (kind: string) => ordered.findLastIndex((o) => o.kind === kind);
    const firstOf = (kind: string) => ordered.findIndex((o) => o.kind === kind);
    assert.ok(lastOf('ServiceAccount') < firstOf('Service'));
    assert.ok(lastOf('Service') < firstOf('Deployment'));
    const deployments = ordered.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
    assert.deepEqual(deployments, [...deployments].sort());
    assert.equal(deployments[0], 'adservice');
    assert.equal(new Set(keysOf(ordered)).size, 35);
  });

  it('orders podinfo: Service, Deployment, then the HPA that scales it; kustomization.yaml is no object', () => {
    const docs = loadYaml(
      'podinfo/hpa.yaml',
      'podinfo/kustomization.yaml',
      'podinfo/deployment.yaml',
      'podinfo/service.yaml',
    );
    const kustomization = docs.filter((d) => !isKubeObject(d));
    assert.equal(kustomization.length, 1);
    assert.equal((kustomization[0] as { kind: string }).kind, 'Kustomization');
    const stages = sortForApply(
      docs.filter(isKubeObject).map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'podinfo' } })),
    );
    assert.deepEqual(
      stages.map((s) => [s.name, s.objects.map((o) => formatRef(refOf(o)))]),
      [
        [
          'namespaced',
          [
            'Service/podinfo/podinfo',
            'Deployment/podinfo/podinfo',
            'HorizontalPodAutoscaler/podinfo/podinfo',
          ],
        ],
      ],
    );
  });
});

describe('isNamespacedObject', () => {
  it('knows built-in kinds without a namespace, and guesses from metadata.namespace otherwise', () => {
    assert.equal(isNamespacedObject(obj('apps/v1', 'Deployment', 'web')), true);
    assert.equal(isNamespacedObject(obj('v1', 'PersistentVolume', 'pv1')), false);
    assert.equal(isNamespacedObject(obj('example.com/v1', 'Widget', 'w')), false);
    assert.equal(isNamespacedObject(obj('example.com/v1', 'Widget', 'w', 'shop')), true);
    assert.equal(
      isNamespacedObject(obj('apps/v1', 'Deployment', 'web'), { isNamespaced: () => false }),
      false,
    );
  });
});

describe('stageOf and kindRank', () => {
  it('matches definitions by group as well as kind', () => {
    assert.equal(stageOf(parseRefKey('/Namespace//shop'), false), 'definitions');
    assert.equal(stageOf(parseRefKey('example.com/Namespace//shop'), false), 'cluster');
    assert.equal(stageOf(parseRefKey('rbac.authorization.k8s.io/ClusterRole//view'), false), 'definitions');
  });

  it('ranks known kinds first, unknown kinds in the middle, webhooks last', () => {
    assert.ok(kindRank('CustomResourceDefinition') < kindRank('Namespace'));
    assert.ok(kindRank('ServiceAccount') < kindRank('Deployment'));
    assert.ok(kindRank('Deployment') < kindRank('Widget'));
    assert.ok(kindRank('Widget') < kindRank('ValidatingWebhookConfiguration'));
  });
});

describe('sortForDelete', () => {
  it('reverses the apply order: webhooks, namespaced, cluster-scoped, then Namespaces and CRDs last', () => {
    const refs = [
      'apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com',
      '/Namespace//shop',
      '/ConfigMap/shop/web',
      'apps/Deployment/shop/web',
      'example.com/Widget/shop/w1',
      'rbac.authorization.k8s.io/ClusterRole//web-read',
      'rbac.authorization.k8s.io/ClusterRoleBinding//web-read',
      'admissionregistration.k8s.io/ValidatingWebhookConfiguration//policy',
      '/ServiceAccount/shop/web',
      'apps/Deployment/admin/api',
    ].map(parseRefKey);
    assert.deepEqual(sortForDelete(refs).map(refKey), [
      'admissionregistration.k8s.io/ValidatingWebhookConfiguration//policy',
      'example.com/Widget/shop/w1',
      'apps/Deployment/admin/api',
      'apps/Deployment/shop/web',
      '/ConfigMap/shop/web',
      '/ServiceAccount/shop/web',
      'rbac.authorization.k8s.io/ClusterRoleBinding//web-read',
      'rbac.authorization.k8s.io/ClusterRole//web-read',
      '/Namespace//shop',
      'apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com',
    ]);
  });

  it('does not modify its input', () => {
    const refs = ['/Namespace//a', '/ConfigMap/a/b'].map(parseRefKey);
    sortForDelete(refs);
    assert.deepEqual(refs.map(refKey), ['/Namespace//a', '/ConfigMap/a/b']);
  });
});
