// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} in plain strings is the substitution syntax under test
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { BundleError, canonicalJson, decodeBundle } from '@gitfleet/proto/core';
import { bundleBytes } from './bundle.ts';
import type { Problem } from './errors.ts';
import { FleetError } from './errors.ts';
import { type FleetPolicy, parsePolicy } from './policy.ts';
import { isManifestFile, type ManifestFile, type RenderInput, renderBundle } from './render.ts';

const REV = '5b1c0e7d9a4f3b2c1d0e9f8a7b6c5d4e3f2a1b0c';

function policy(extra = ''): FleetPolicy {
  const r = parsePolicy(
    `stages:\n  - { name: dev, selector: { matchLabels: { env: dev } } }\n  - { name: prod, selector: { matchLabels: { env: prod } } }\nsubstitute:\n  namespace: shop-\${stage}\n${extra}`,
  );
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.policy;
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: \${namespace}
  labels: { cluster: \${cluster.name}, region: \${cluster.labels.region} }
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:\${revision}
          env:
            - { name: STAGE, value: \${stage} }
`;

const namespace = `# the namespace first
apiVersion: v1
kind: Namespace
metadata:
  name: \${namespace}
`;

function input(files: ManifestFile[], over: Partial<RenderInput> = {}): RenderInput {
  return {
    files,
    policy: policy(),
    stage: 'prod',
    cluster: { name: 'eu-1', labels: { env: 'prod', region: 'eu' } },
    revision: REV,
    ...over,
  };
}

function rendered(inp: RenderInput) {
  const r = renderBundle(inp);
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.bundle;
}

function failed(inp: RenderInput): Problem[] {
  const r = renderBundle(inp);
  assert.equal(r.ok, false, 'expected the render to fail');
  return r.ok ? [] : r.errors;
}

const files = [
  { path: 'shop/manifests/deploy.yaml', content: deployment },
  { path: 'shop/manifests/ns.yml', content: namespace },
];

describe('renderBundle: substitution', () => {
  test('substitutes built-in and policy variables', () => {
    const b = rendered(input(files));
    assert.equal(b.objects.length, 2);
    const dep = b.objects.find((o) => o.kind === 'Deployment')!;
    assert.equal(dep.metadata.namespace, 'shop-prod');
    assert.deepEqual(dep.metadata.labels, { cluster: 'eu-1', region: 'eu' });
    const container = (dep.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
      .spec.containers[0]!;
    assert.equal(container.image, `registry.example.com/web:${REV}`);
    assert.deepEqual(container.env, [{ name: 'STAGE', value: 'prod' }]);
    assert.equal(b.objects.find((o) => o.kind === 'Namespace')!.metadata.name, 'shop-prod');
  });

  test('an unknown variable names the file, the line and the known variables', () => {
    const errs = failed(
      input([
        {
          path: 'shop/manifests/cm.yaml',
          content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${app}\n',
        },
      ]),
    );
    assert.equal(errs.length, 1);
    assert.equal(errs[0]!.code, 'UnknownVariable');
    assert.equal(errs[0]!.file, 'shop/manifests/cm.yaml');
    assert.equal(errs[0]!.line, 4);
    assert.match(
      errs[0]!.message,
      /^shop\/manifests\/cm\.yaml:4: cannot substitute \$\{app\}: it is not a variable/,
    );
    assert.match(errs[0]!.message, /\$\{namespace\}/);
    assert.match(errs[0]!.message, /write '\$\$\{app\}'/);
  });

  test('a label the cluster lacks is an error, directly or through a policy variable', () => {
    const noRegion = { name: 'us-1', labels: { env: 'prod' } };
    const direct = failed(input(files, { cluster: noRegion }));
    assert.equal(direct[0]!.code, 'UnknownVariable');
    assert.match(direct[0]!.message, /deploy\.yaml:6: .*cluster 'us-1' has no label 'region'/);

    const viaPolicy = policy('  zone: z-${cluster.labels.zone}\n');
    const errs = failed(
      input(
        [
          {
            path: 'm/a.yaml',
            content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\ndata: { z: ${zone} }\n',
          },
        ],
        { policy: viaPolicy },
      ),
    );
    assert.match(
      errs[0]!.message,
      /m\/a\.yaml:4: .*fleet\.yaml substitute\.zone cannot be resolved: cluster 'eu-1' has no label 'zone'/,
    );
  });

  test('$${...} stays literal', () => {
    const b = rendered(
      input([
        {
          path: 'm/cm.yaml',
          content:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: s }\ndata:\n  run.sh: echo $${HOME} in ${stage}\n',
        },
      ]),
    );
    assert.deepEqual(b.objects[0]!.data, { 'run.sh': 'echo ${HOME} in prod' });
  });

  test('an unterminated ${ is an error', () => {
    const errs = failed(input([{ path: 'm/a.yaml', content: 'a: ${stage\n' }]));
    assert.match(errs[0]!.message, /m\/a\.yaml:1: '\$\{stage' has no closing '\}'/);
  });

  test('an unknown stage is a caller error', () => {
    assert.throws(
      () => renderBundle(input(files, { stage: 'qa' })),
      (e: unknown) => e instanceof FleetError && e.code === 'StageNotFound',
    );
  });
});

describe('renderBundle: documents', () => {
  test('skips empty documents, comment-only files, kustomization.yaml, fleet.yaml and non-YAML files', () => {
    const b = rendered(
      input([
        { path: 'm/multi.yaml', content: `---\n${namespace}---\n# nothing\n---\n${deployment}---\n` },
        { path: 'm/empty.yaml', content: '' },
        { path: 'm/comments.yaml', content: '# todo\n' },
        { path: 'm/kustomization.yaml', content: 'resources: [a.yaml]\n' },
        { path: 'm/fleet.yaml', content: 'stages: []\n' },
        { path: 'm/README.md', content: '# not yaml: ${oops}' },
        { path: 'm/values.json', content: '{}' },
      ]),
    );
    assert.deepEqual(
      b.objects.map((o) => o.kind),
      ['Namespace', 'Deployment'], // sorted by identity: core group ('') first
    );
  });

  test('isManifestFile', () => {
    assert.ok(isManifestFile('a/b.yaml'));
    assert.ok(isManifestFile('a/B.YML'));
    assert.ok(!isManifestFile('a/kustomization.yaml'));
    assert.ok(!isManifestFile('a/b.json'));
    assert.ok(!isManifestFile('a/yaml'));
  });

  test('a List expands to its items', () => {
    const list = `apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: ConfigMap, metadata: { name: a } }
  - { apiVersion: v1, kind: ConfigMap, metadata: { name: b } }
`;
    const b = rendered(input([{ path: 'm/list.yaml', content: list }]));
    assert.deepEqual(
      b.objects.map((o) => o.metadata.name),
      ['a', 'b'],
    );
    const errs = failed(
      input([
        { path: 'm/list.yaml', content: `${list}  - { apiVersion: v1, kind: ConfigMap, metadata: {} }\n` },
      ]),
    );
    assert.equal(errs[0]!.code, 'MissingField');
    assert.equal(errs[0]!.line, 6);
    assert.match(errs[0]!.message, /items\[2\] \(ConfigMap\) has no metadata\.name/);
  });

  test('YAML 1.1 like kubectl: octal modes, yes/no; timestamps stay strings', () => {
    const b = rendered(
      input([
        {
          path: 'm/a.yaml',
          content:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, annotations: { at: 2024-01-02 } }\nmode: 0644\nflag: yes\n',
        },
      ]),
    );
    const o = b.objects[0]!;
    assert.equal(o.mode, 0o644);
    assert.equal(o.flag, true);
    assert.deepEqual(o.metadata.annotations, { at: '2024-01-02' });
  });
});

describe('renderBundle: bad manifests', () => {
  test('missing apiVersion, kind, metadata.name: file, document and line', () => {
    const errs = failed(
      input([
        {
          path: 'shop/manifests/bad.yaml',
          content:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ok }\n---\nkind: Service\nmetadata: { name: web }\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  generateName: s-\n---\napiVersion: v1\nmetadata: {}\n',
        },
      ]),
    );
    assert.deepEqual(
      errs.map((e) => [e.code, e.line]),
      [
        ['MissingField', 5],
        ['MissingField', 8],
        ['MissingField', 13],
      ],
    );
    assert.match(
      errs[0]!.message,
      /^shop\/manifests\/bad\.yaml:5: document 2 \(Service web\) has no apiVersion;/,
    );
    assert.match(
      errs[1]!.message,
      /document 3 \(Secret\) has no metadata\.name; .*generateName is not supported/,
    );
    assert.match(errs[2]!.message, /document 4 has no kind, metadata\.name/);
  });

  test('YAML that does not parse', () => {
    const errs = failed(
      input([
        { path: 'm/ok.yaml', content: namespace },
        { path: 'm/broken.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [a\n' },
      ]),
    );
    assert.equal(errs[0]!.code, 'YamlSyntax');
    assert.equal(errs[0]!.file, 'm/broken.yaml');
    assert.ok(errs[0]!.line !== undefined);
    assert.match(errs[0]!.message, /^m\/broken\.yaml:\d+: the document is not valid YAML/);
  });

  test('documents that are not mappings, and non-string fields', () => {
    const errs = failed(
      input([
        {
          path: 'm/a.yaml',
          content: '- a\n- b\n---\njust text\n---\napiVersion: v1\nkind: 5\nmetadata: { name: x }\n',
        },
      ]),
    );
    assert.deepEqual(
      errs.map((e) => e.code),
      ['NotAnObject', 'NotAnObject', 'MissingField'],
    );
    assert.match(errs[0]!.message, /document 1 is a list, not a Kubernetes object/);
  });

  test('anchors work, but an alias bomb is refused', () => {
    const b = rendered(
      input([
        {
          path: 'm/a.yaml',
          content:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, labels: &l { app: web } }\ndata: { copy: *l }\n',
        },
      ]),
    );
    assert.deepEqual(b.objects[0]!.data, { copy: { app: 'web' } });
    const lol = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lol.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const errs = failed(input([{ path: 'm/bomb.yaml', content: `${lol.join('\n')}\n` }]));
    assert.equal(errs[0]!.code, 'YamlSyntax');
    assert.match(errs[0]!.message, /alias/i);
  });

  test('values JSON cannot carry are rejected, not changed', () => {
    const errs = failed(
      input([
        {
          path: 'm/a.yaml',
          content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\ndata: { big: .inf }\n',
        },
      ]),
    );
    assert.equal(errs[0]!.code, 'UnsupportedValue');
    assert.match(errs[0]!.message, /the object\.data\.big is Infinity/);
  });

  test('duplicate objects name both files', () => {
    const errs = failed(
      input([
        { path: 'm/a.yaml', content: deployment },
        { path: 'm/z.yaml', content: `# again\n${deployment}` },
      ]),
    );
    assert.equal(errs.length, 1);
    assert.equal(errs[0]!.code, 'DuplicateObject');
    assert.equal(errs[0]!.file, 'm/z.yaml');
    assert.equal(errs[0]!.line, 2);
    assert.match(
      errs[0]!.message,
      /^m\/z\.yaml:2: .*Deployment shop-prod\/web .* is also defined in m\/a\.yaml:1/,
    );
  });

  test('identity is group/kind/namespace/name: same name in another group or namespace is fine', () => {
    const cm = (ns: string, api = 'v1') =>
      `apiVersion: ${api}\nkind: Thing\nmetadata: { name: x, namespace: ${ns} }\n`;
    rendered(
      input([{ path: 'm/a.yaml', content: [cm('a'), cm('b'), cm('a', 'example.com/v1')].join('---\n') }]),
    );
    // The version is not part of the identity: v1 and v2 of one group are the same object.
    const errs = failed(
      input([
        { path: 'm/a.yaml', content: [cm('a', 'example.com/v1'), cm('a', 'example.com/v2')].join('---\n') },
      ]),
    );
    assert.equal(errs[0]!.code, 'DuplicateObject');
  });

  test('reports the problems of every file at once', () => {
    const errs = failed(
      input([
        { path: 'm/a.yaml', content: 'kind: X\nmetadata: { name: a }\n' },
        { path: 'm/b.yaml', content: 'x: ${nope}\n' },
        { path: 'm/c.yaml', content: 'a: [\n' },
      ]),
    );
    assert.deepEqual(
      errs.map((e) => e.file),
      ['m/a.yaml', 'm/b.yaml', 'm/c.yaml'],
    );
  });

  test('an empty render is refused unless allowEmpty', () => {
    const errs = failed(input([{ path: 'm/a.yaml', content: '# nothing yet\n' }]));
    assert.equal(errs[0]!.code, 'EmptyBundle');
    assert.match(errs[0]!.message, /prune everything .* allowEmpty: true/);
    const b = rendered(input([], { policy: policy('apply: { allowEmpty: true }\n') }));
    assert.deepEqual(b.objects, []);
  });
});

describe('renderBundle: content-addressed digest', () => {
  const sha = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

  test('the digest is sha256 of exactly the encoded bytes, which decode back', () => {
    const b = rendered(input(files));
    assert.match(b.digest, /^sha256:[0-9a-f]{64}$/);
    const bytes = bundleBytes(b);
    assert.equal(sha(bytes), b.digest);
    assert.deepEqual(decodeBundle(bytes, b.digest, 'shop'), b.objects);
    // Assembled from cached per-object pieces, the bytes are still the canonical JSON of the whole.
    assert.equal(new TextDecoder().decode(bytes), canonicalJson({ objects: b.objects }));
  });

  test('file order, document order, key order and YAML style do not change it', () => {
    const a = rendered(input(files));
    const b = rendered(input([...files].reverse()));
    const c = rendered(input([{ path: 'm/all.yaml', content: `${deployment}---\n${namespace}` }]));
    const restyled = `# same object, other style
kind: Deployment
metadata: {labels: {region: "\${cluster.labels.region}", cluster: '\${cluster.name}'}, namespace: "\${namespace}", name: web}
apiVersion: "apps/v1"
spec:
  template: {spec: {containers: [{env: [{value: "\${stage}", name: STAGE}], image: "registry.example.com/web:\${revision}", name: web}]}}
  replicas: 0x2
`;
    const d = rendered(
      input([
        { path: 'x/ns.yaml', content: namespace },
        { path: 'x/d.yaml', content: restyled },
      ]),
    );
    assert.equal(b.digest, a.digest);
    assert.equal(c.digest, a.digest);
    assert.equal(d.digest, a.digest);
  });

  test('two clusters that render the same objects share the digest; a difference changes it', () => {
    const plain = [{ path: 'm/ns.yaml', content: namespace }];
    const eu = rendered(input(plain, { cluster: { name: 'eu-1', labels: { env: 'prod', region: 'eu' } } }));
    const us = rendered(input(plain, { cluster: { name: 'us-1', labels: { env: 'prod' } } }));
    assert.equal(eu.digest, us.digest);
    const dev = rendered(input(plain, { stage: 'dev' }));
    assert.notEqual(dev.digest, eu.digest);
    const named = rendered(
      input(files, { cluster: { name: 'eu-2', labels: { env: 'prod', region: 'eu' } } }),
    );
    assert.notEqual(named.digest, rendered(input(files)).digest);
  });

  test('renders of many clusters each get their own values, and the same problems every time', () => {
    // Files are parsed once per distinct substituted text: a shared parse must not leak one
    // cluster's values into another's bundle, nor report a bad file only the first time.
    for (const name of ['eu-1', 'eu-2', 'eu-1']) {
      const b = rendered(input(files, { cluster: { name, labels: { env: 'prod', region: 'eu' } } }));
      const web = b.objects.find((o) => o.kind === 'Deployment');
      assert.equal((web?.metadata.labels as Record<string, string> | undefined)?.cluster, name);
    }
    const bad = [{ path: 'm/bad.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' }];
    for (let i = 0; i < 2; i++) assert.equal(failed(input(bad))[0]?.code, 'MissingField');
  });

  test('a commit that changes nothing rendered keeps the digest', () => {
    const otherRevisionSameObjects = rendered(
      input([{ path: 'm/ns.yaml', content: namespace }], { revision: 'f'.repeat(40) }),
    );
    assert.equal(
      otherRevisionSameObjects.digest,
      rendered(input([{ path: 'm/ns.yaml', content: namespace }])).digest,
    );
  });

  test('decodeBundle refuses bytes that do not match the digest', () => {
    const b = rendered(input(files));
    const bytes = bundleBytes(b);
    const tampered = new Uint8Array(bytes);
    tampered[10] = tampered[10]! ^ 1;
    assert.throws(
      () => decodeBundle(tampered, b.digest, 'shop'),
      (e: unknown) => e instanceof BundleError && e.code === 'DigestMismatch',
    );
  });
});

describe('a file naming ${cluster.*}, parsed once as a template', () => {
  // The oracle: the same files with the values written in by hand, which the text path parses.
  const byHand = (text: string, values: Record<string, string>) =>
    text.replace(/\$\{([^}]+)\}/g, (m, name: string) => values[name] ?? m);
  const template = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-\${cluster.name}
  namespace: shop
  labels: { region: \${cluster.labels.region}, tier: "\${cluster.labels.tier}" }
data:
  replicas: \${cluster.labels.replicas}
  quoted: "\${cluster.labels.replicas}"
  url: https://\${cluster.name}.example.com:8443/x
  block: |
    cluster \${cluster.name}
    region \${cluster.labels.region}
`;
  const clusters: { name: string; labels: Record<string, string> }[] = [
    { name: 'eu-1', labels: { env: 'prod', region: 'eu', tier: 'gold', replicas: '3' } },
    { name: 'us-2', labels: { env: 'prod', region: 'us', tier: '007', replicas: 'many' } },
    { name: 'ap-3', labels: { env: 'prod', region: 'yes', tier: 'on', replicas: '0x1F' } },
    { name: 'null', labels: { env: 'prod', region: '1e3', tier: '', replicas: '~' } },
  ];

  test('gives, for every cluster, exactly what substituting the text and parsing it gives', () => {
    for (const cluster of clusters) {
      const values = {
        'cluster.name': cluster.name,
        ...Object.fromEntries(Object.entries(cluster.labels).map(([k, v]) => [`cluster.labels.${k}`, v])),
      };
      const fast = rendered(input([{ path: 'm/cm.yaml', content: template }], { cluster }));
      const slow = rendered(input([{ path: 'm/cm.yaml', content: byHand(template, values) }], { cluster }));
      assert.deepEqual(fast.objects, slow.objects, cluster.name);
      assert.equal(fast.digest, slow.digest, cluster.name);
    }
    // A value that makes `replicas` a number stays a number, as YAML reads it.
    const eu = rendered(input([{ path: 'm/cm.yaml', content: template }], { cluster: clusters[0] }));
    assert.equal((eu.objects[0] as unknown as { data: Record<string, unknown> }).data.replicas, 3);
    assert.equal((eu.objects[0] as unknown as { data: Record<string, unknown> }).data.quoted, '3');
  });

  test('values that could change how the YAML reads, and variables in keys, take the text path', () => {
    const tricky = input(
      [
        {
          path: 'm/cm.yaml',
          content:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cm, namespace: shop }\ndata:\n  ${cluster.name}: key\n  v: ${x}\n',
        },
      ],
      { policy: policy('  x: "a: b"\n') },
    );
    const r = renderBundle(tricky);
    assert.equal(r.ok, false, 'a value with ": " makes a nested mapping out of a plain scalar: invalid here');
    const keyed = rendered(
      input([
        {
          path: 'm/cm.yaml',
          content:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cm, namespace: shop }\ndata:\n  ${cluster.name}: key\n',
        },
      ]),
    );
    assert.deepEqual((keyed.objects[0] as unknown as { data: unknown }).data, { 'eu-1': 'key' });
  });
});
