// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} in plain strings is the substitution syntax under test
// Rendering real manifests from public projects (test/fixtures/real-world): a large
// multi-document file (microservices-demo) and a directory with a kustomization.yaml that
// is not a Kubernetes object (podinfo).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { parsePolicy } from './policy.ts';
import { type ManifestFile, renderBundle } from './render.ts';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/real-world');
const REV = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

function filesOf(dir: string): ManifestFile[] {
  const root = join(FIXTURES, dir);
  return readdirSync(root).map((name) => ({
    path: relative(FIXTURES, join(root, name)),
    content: readFileSync(join(root, name), 'utf8'),
  }));
}

const policy = (() => {
  const r = parsePolicy('stages:\n  - { name: prod, selector: {} }\n');
  if (!r.ok) throw new Error('policy');
  return r.policy;
})();

const render = (files: ManifestFile[]) =>
  renderBundle({ files, policy, stage: 'prod', cluster: { name: 'eu-1', labels: {} }, revision: REV });

test('microservices-demo: every document of the multi-document file becomes an object', () => {
  const result = render(filesOf('microservices-demo'));
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  const kinds = new Map<string, number>();
  for (const o of result.bundle.objects) kinds.set(String(o.kind), (kinds.get(String(o.kind)) ?? 0) + 1);
  assert.ok((kinds.get('Deployment') ?? 0) >= 10, `deployments: ${kinds.get('Deployment')}`);
  assert.ok((kinds.get('Service') ?? 0) >= 10);
  assert.ok(result.bundle.objects.some((o) => o.metadata.name === 'frontend'));
});

test('podinfo: kustomization.yaml is skipped, the Deployment, Service and HPA are rendered', () => {
  const result = render(filesOf('podinfo'));
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  assert.deepEqual(result.bundle.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    'Deployment/podinfo',
    'HorizontalPodAutoscaler/podinfo',
    'Service/podinfo',
  ]);
});

test('the same real manifests give the same digest whatever the file order', () => {
  const files = filesOf('podinfo');
  const a = render(files);
  const b = render([...files].reverse());
  assert.ok(a.ok && b.ok);
  assert.equal(a.bundle.digest, b.bundle.digest);
});

test('upper-case ${NAMES} are the workload’s own shell variables: left as written', () => {
  const result = render(filesOf('microservices-demo'));
  assert.ok(result.ok);
  const text = JSON.stringify(result.bundle.objects);
  assert.ok(text.includes('${FRONTEND_ADDR}'), 'passed through untouched');
});
