import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from './bundle.ts';
import {
  apiVersionsDigest,
  clusterScopedCrds,
  helmObject,
  helmProblem,
  helmRenderKey,
  missingDependencies,
  splitHelmOutput,
} from './helm.ts';
import { type FleetPolicy, parsePolicy } from './policy.ts';
import { mergeValues, substituteValues, valuesLayers } from './values.ts';

const stages = `stages:
  - name: dev
    selector: { matchLabels: { env: dev } }
    helm: { values: { replicaCount: 1 } }
  - name: prod
    selector: { matchLabels: { env: prod } }
    helm: { values: { replicaCount: 3, ui: { message: prod } } }
`;

function policyOf(text: string): FleetPolicy {
  const r = parsePolicy(text);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.policy;
}

function errorsOf(text: string) {
  const r = parsePolicy(text);
  assert.ok(!r.ok, 'expected errors');
  return r.errors;
}

describe('fleet.yaml sources', () => {
  test('manifests stays the default source', () => {
    const p = policyOf('stages: [{ name: dev, selector: {} }]');
    assert.equal(p.source, 'manifests');
    assert.equal(p.manifests, './manifests');
  });

  test('a chart in the repository, with values files, values, stage values and overrides', () => {
    const p = policyOf(`helm:
  chart: ./chart
  releaseName: podinfo
  namespace: shop-\${stage}
  valuesFiles: [values-prod.yaml]
  values: { ui: { color: "#fff" }, list: [1, 2] }
overrides:
  - name: eu
    selector: { matchLabels: { region: eu } }
    helm: { values: { ui: { message: eu } } }
${stages}`);
    assert.equal(p.source, 'helm');
    assert.deepEqual(p.helm, {
      chart: { kind: 'path', path: './chart' },
      releaseName: 'podinfo',
      namespace: 'shop-${stage}',
      createNamespace: true,
      plainHttp: false,
      valuesFiles: ['values-prod.yaml'],
      values: { ui: { color: '#fff' }, list: [1, 2] },
    });
    assert.deepEqual(p.stages[1]!.values, { replicaCount: 3, ui: { message: 'prod' } });
    assert.deepEqual(p.overrides, [
      { selector: { matchLabels: { region: 'eu' } }, values: { ui: { message: 'eu' } } },
    ]);
  });

  test('a chart from an HTTP repository and from an OCI registry, with a version range', () => {
    const repo = policyOf(
      `helm: { repo: "https://charts.example.com/", chart: podinfo, version: ">=6.0.0 <7" }\n${stages}`,
    );
    assert.deepEqual(repo.helm?.chart, { kind: 'repo', repo: 'https://charts.example.com', name: 'podinfo' });
    assert.equal(repo.helm?.version, '>=6.0.0 <7');
    const oci = policyOf(
      `helm: { chart: "oci://127.0.0.1:5000/charts/podinfo", version: ^6.14.0 }\n${stages}`,
    );
    assert.deepEqual(oci.helm?.chart, { kind: 'oci', reference: 'oci://127.0.0.1:5000/charts/podinfo' });
  });

  test('a kustomize overlay, and one per stage', () => {
    const p = policyOf(`kustomize: { path: ./overlays/dev }
stages:
  - name: dev
    selector: {}
  - name: prod
    selector: { matchLabels: { env: prod } }
    kustomize: { path: ./overlays/prod }
`);
    assert.equal(p.source, 'kustomize');
    assert.deepEqual(p.kustomize, { path: './overlays/dev' });
    assert.equal(p.stages[1]!.kustomizePath, './overlays/prod');
  });

  test('mistakes are refused with what to write instead', () => {
    const cases: [string, string, RegExp][] = [
      [`manifests: ./m\nhelm: { chart: ./c }\n${stages}`, 'MultipleSources', /exactly one source/],
      [`helm: { values: {} }\n${stages}`, 'MissingKey', /helm has no chart/],
      [`helm: { chart: ../other }\n${stages}`, 'InvalidChart', /inside the fleet path/],
      [`helm: { chart: ./c, version: 1.2.3 }\n${stages}`, 'InvalidChart', /repository or registry/],
      [`helm: { chart: "oci://r/charts/podinfo:6.1.0" }\n${stages}`, 'InvalidChart', /tag or digest/],
      [
        `helm: { repo: "https://u:p@charts.example.com", chart: podinfo }\n${stages}`,
        'InvalidChart',
        /chartCredentials/,
      ],
      [`helm: { chart: "https://x/podinfo-1.tgz" }\n${stages}`, 'InvalidChart', /is a URL/],
      [`helm: { chart: ./c, releaseName: Not_Valid }\n${stages}`, 'InvalidReleaseName', /release name/],
      [
        `helm: { chart: ./c, valuesFiles: [/etc/passwd] }\n${stages}`,
        'InvalidValuesFile',
        /inside the fleet path/,
      ],
      [`helm: { chart: ./c, values: [1] }\n${stages}`, 'InvalidType', /mapping of Helm values/],
      [
        `kustomize: { path: ../x }\nstages: [{ name: dev, selector: {} }]`,
        'InvalidKustomizePath',
        /inside the fleet path/,
      ],
      [`kustomize: {}\nstages: [{ name: dev, selector: {} }]`, 'MissingKey', /kustomization.yaml/],
      [`manifests: ./m\n${stages}`, 'NotHelm', /stage 'dev' sets helm values/],
      [`helm: { chart: ./c, valus: {} }\n${stages}`, 'UnknownKey', /did you mean 'values'/],
    ];
    for (const [text, code, message] of cases) {
      const errors = errorsOf(text);
      assert.ok(
        errors.some((e) => e.code === code && message.test(e.message)),
        `${text}\n→ ${JSON.stringify(errors)}`,
      );
      assert.ok(
        errors.every((e) => e.line !== undefined),
        `${code} names a line`,
      );
    }
  });
});

describe('Helm values', () => {
  test('merge like helm -f: maps merge, lists and scalars replace, null is kept to delete a default', () => {
    assert.deepEqual(
      mergeValues({ a: { b: 1, c: [1, 2] }, d: 1, keep: true }, { a: { c: [3], e: 2 }, d: null }),
      { a: { b: 1, c: [3], e: 2 }, d: null, keep: true },
    );
  });

  test('layers in the documented order: files < values < stage < matching overrides', () => {
    const p = policyOf(`helm: { chart: ./c, values: { v: values } }
overrides:
  - selector: { matchLabels: { region: eu } }
    helm: { values: { v: eu } }
  - selector: { matchLabels: { region: us } }
    helm: { values: { v: us } }
${stages}`);
    const layers = valuesLayers(p, p.stages[1]!, { labels: { env: prod, region: 'eu' } }, [
      { source: 'values-prod.yaml', values: { v: 'file' } },
    ]);
    assert.deepEqual(
      layers.map((l) => l.source),
      [
        'values-prod.yaml',
        'fleet.yaml helm.values',
        "fleet.yaml stage 'prod' helm.values",
        'fleet.yaml overrides[0] helm.values',
      ],
    );
    const merged = layers.reduce<Record<string, unknown>>((acc, l) => mergeValues(acc, l.values), {});
    assert.equal(merged.v, 'eu');
  });

  test('variables in values are resolved per cluster; unknown ones are errors, upper-case ones pass', () => {
    const resolve = (name: string) =>
      name === 'cluster.name' ? { value: 'c1', why: '' } : { value: undefined, why: 'it is not a variable' };
    const ok = substituteValues(
      { source: 'fleet.yaml helm.values', values: { a: 'x-${cluster.name}', b: ['${HOME}'], n: 1 } },
      resolve,
      'fleet.yaml',
    );
    assert.deepEqual(ok, { ok: true, values: { a: 'x-c1', b: ['${HOME}'], n: 1 } });
    const bad = substituteValues(
      { source: 'fleet.yaml helm.values', values: { deep: { a: '${nope}' } } },
      resolve,
      'fleet.yaml',
    );
    assert.ok(!bad.ok);
    assert.match(bad.errors[0]!.message, /helm.values deep.a: cannot substitute \$\{nope\}/);
  });
});

const prod = 'prod';

describe('around helm template', () => {
  const inputs = {
    chartDigest: 'sha256:aa',
    releaseName: 'r',
    namespace: 'ns',
    values: { a: 1, b: { c: 2 } },
    kubeVersion: 'v1.35.4',
    apiVersions: apiVersionsDigest(['v1', 'apps/v1']),
  };

  test('the render key changes with each input and with nothing else', () => {
    const key = helmRenderKey(inputs);
    assert.equal(helmRenderKey({ ...inputs, values: { b: { c: 2 }, a: 1 } }), key, 'key order of values');
    assert.equal(
      helmRenderKey({ ...inputs, apiVersions: apiVersionsDigest(['apps/v1', 'v1', 'v1']) }),
      key,
      'order of API versions',
    );
    for (const change of [
      { chartDigest: 'sha256:bb' },
      { values: { a: 2, b: { c: 2 } } },
      { kubeVersion: 'v1.34.0' },
      { apiVersions: apiVersionsDigest(['v1', 'apps/v1', 'monitoring.coreos.com/v1']) },
      { apiVersions: '' },
      { namespace: 'other' },
      { releaseName: 'r2' },
    ]) {
      assert.notEqual(helmRenderKey({ ...inputs, ...change }), key, JSON.stringify(change));
    }
    assert.equal(apiVersionsDigest(['b', 'a']), apiVersionsDigest(['a', 'b']));
    assert.equal(apiVersionsDigest([]), '', 'unknown');
  });

  test('output is split by the template each document came from', () => {
    const out = `---\n# Source: podinfo/templates/service.yaml\napiVersion: v1\nkind: Service\n---\n# Source: podinfo/templates/deployment.yaml\nkind: Deployment\n---\n# Source: podinfo/templates/service.yaml\nkind: Service\n`;
    const files = splitHelmOutput(out, (s) => `chart/${s.slice('podinfo/'.length)}`);
    assert.deepEqual(
      files.map((f) => f.path),
      ['chart/templates/service.yaml', 'chart/templates/deployment.yaml'],
    );
    assert.match(files[0]!.content, /---/);
  });

  const obj = (
    kind: string,
    apiVersion: string,
    annotations?: Record<string, string>,
    namespace?: string,
  ): KubeObject => ({
    apiVersion,
    kind,
    metadata: { name: 'x', ...(namespace ? { namespace } : {}), ...(annotations ? { annotations } : {}) },
  });

  test('test hooks and hooks of phases a fleet never runs are dropped; install and upgrade hooks stay', () => {
    const none = new Set<string>();
    assert.equal(helmObject(obj('Pod', 'v1', { 'helm.sh/hook': 'test' }), 'ns', none), null);
    assert.equal(
      helmObject(obj('Job', 'batch/v1', { 'helm.sh/hook': 'pre-delete,post-rollback' }), 'ns', none),
      null,
    );
    assert.ok(helmObject(obj('Job', 'batch/v1', { 'helm.sh/hook': 'pre-install, pre-delete' }), 'ns', none));
  });

  test('namespaced objects without a namespace go to the release namespace; cluster-scoped ones stay', () => {
    const none = new Set<string>();
    assert.equal(helmObject(obj('ConfigMap', 'v1'), 'ns', none)?.metadata.namespace, 'ns');
    assert.equal(helmObject(obj('ConfigMap', 'v1', undefined, 'own'), 'ns', none)?.metadata.namespace, 'own');
    assert.equal(
      helmObject(obj('ClusterRole', 'rbac.authorization.k8s.io/v1'), 'ns', none)?.metadata.namespace,
      undefined,
    );
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: { group: 'example.com', scope: 'Cluster', names: { kind: 'Widget' } },
    };
    const scoped = clusterScopedCrds([crd]);
    assert.equal(helmObject(obj('Widget', 'example.com/v1'), 'ns', scoped)?.metadata.namespace, undefined);
    assert.equal(helmObject(obj('Gadget', 'example.com/v1'), 'ns', scoped)?.metadata.namespace, 'ns');
  });

  // What helm v4 writes, verbatim.
  test("Helm's errors become problems with the template's file and line", () => {
    const toPath = (s: string) => `chart/${s.slice('podinfo/'.length)}`;
    const exec = helmProblem(
      'Error: podinfo/templates/service.yaml:5:18\n  executing "podinfo/templates/service.yaml" at <.Values.nope.deeper>:\n    nil pointer evaluating interface {}.deeper\n\nUse --debug flag to render out invalid YAML\n',
      toPath,
      'chart/Chart.yaml',
      'podinfo',
    );
    assert.equal(exec.code, 'TemplateError');
    assert.equal(exec.file, 'chart/templates/service.yaml');
    assert.equal(exec.line, 5);
    assert.match(exec.message, /nil pointer evaluating interface \{\}\.deeper/);
    assert.doesNotMatch(exec.message, /--debug/);
    const parse = helmProblem(
      'Error: parse error at (podinfo/templates/service.yaml:47): missing value for if\n\nUse --debug flag to render out invalid YAML\n',
      toPath,
      'chart/Chart.yaml',
      'podinfo',
    );
    assert.equal(parse.line, 47);
    assert.match(parse.message, /missing value for if/);
    const schema = helmProblem(
      "Error: values don't meet the specifications of the schema(s) in the following chart(s):\npodinfo:\n- at '/replicaCount': got string, want integer\n",
      toPath,
      'chart/Chart.yaml',
      'podinfo',
    );
    const output = helmProblem(
      'Error: YAML parse error on podinfo/templates/list.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type util.SimpleHead\n',
      toPath,
      'chart/Chart.yaml',
      'podinfo',
    );
    assert.equal(output.code, 'InvalidOutput');
    assert.equal(output.file, 'chart/templates/list.yaml');
    assert.match(output.message, /not a Kubernetes object/);
    assert.equal(schema.code, 'ValuesSchema');
    assert.equal(schema.file, 'chart/values.schema.json');
    assert.match(schema.message, /replicaCount': got string, want integer/);
  });
});

test('dependencies a chart declares but does not vendor in charts/', () => {
  const chartYaml = `apiVersion: v2
name: shop
version: 1.0.0
dependencies:
  - { name: redis, version: 19.x, repository: https://charts.example.com }
  - { name: common, version: 2.0.0, repository: "file://../common" }
  - { name: web, version: 1.0.0, repository: oci://registry.example.com/charts }
`;
  assert.deepEqual(
    missingDependencies(chartYaml, ['redis-19.6.4.tgz', 'common']).map((d) => d.name),
    ['web'],
  );
  // redis-cluster-1.0.0.tgz is another chart, not redis.
  assert.deepEqual(
    missingDependencies(chartYaml, ['redis-cluster-1.0.0.tgz']).map((d) => d.name),
    ['redis', 'common', 'web'],
  );
  assert.deepEqual(missingDependencies('apiVersion: v2\nname: plain\nversion: 1.0.0\n', []), []);
  assert.deepEqual(missingDependencies(': not yaml [', []), []);
});
