// Projects enforced where a fleet's revision is planned and rendered: a fleet of a project
// selects only the project's clusters whatever its fleet.yaml says, a commit holding an object
// the project refuses is a bad revision (the last good one stays), a project change is seen at
// the next pass, and a fleet whose project is gone deploys nothing new.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';

const env = environmentFromEnv();
// Selects the clusters of both teams: only the project keeps billing's out.
const FLEET_YAML = `stages:
  - name: all
    selector:
      matchExpressions:
        - { key: team, operator: In, values: [shop, billing] }
`;
const configMap = (name: string, namespace: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  at: ${name}\n`;
const CLUSTER_ROLE =
  'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: shop-reader\nrules: []\n';

const SHOP = {
  name: 'shop',
  description: 'the shop team',
  fleets: ['shop-*'],
  clusters: 'team=shop',
  namespaces: ['shop', 'shop-*'],
  clusterScoped: false,
  deniedKinds: [],
  repos: ['*'],
  roles: {
    viewer: { groups: [], tokens: [] },
    operator: { groups: [], tokens: [] },
    admin: { groups: [], tokens: [] },
  },
};

interface FleetView {
  head: string | null;
  lastGoodRevision: string | null;
  errors: { code: string; file: string; message: string }[];
  conditions: { type: string; status: string; reason: string; message: string }[];
}
interface StatusView {
  items: { cluster: string; desiredRevision: string | null }[];
}

describe('projects at render time', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let first: string;
  let refused: string;
  const repo = 'proj-render';
  const name = 'shop-web';

  const fleet = async () => (await cp.api<FleetView>('GET', `/api/v1/fleets/${name}`)).body;
  const desired = async () => {
    const res = await cp.api<StatusView>('GET', `/api/v1/fleets/${name}/status`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return Object.fromEntries(res.body.items.map((i) => [i.cluster, i.desiredRevision]));
  };
  const sync = (fetch: boolean) => cp.cp.reconciler.sync(name, { fetch });
  const rendered = async () => (await fleet()).conditions.find((c) => c.type === 'Rendered');

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    first = await git.createRepo(repo, {
      'deploy/fleet.yaml': FLEET_YAML,
      'deploy/manifests/web.yaml': configMap('web', 'shop'),
    });
    for (const [cluster, team] of [
      ['shop-a', 'shop'],
      ['shop-b', 'shop'],
      ['billing-a', 'billing'],
    ] as const) {
      const res = await cp.api('POST', '/api/v1/clusters', { name: cluster, labels: { team } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    await cp.cp.projects.create(SHOP);
    await cp.cp.fleets.create(
      {
        name,
        repo: git.repoUrl(repo),
        branch: 'main',
        path: 'deploy',
        project: 'shop',
        createdAt: new Date().toISOString(),
      },
      { username: git.username, password: git.password },
    );
    await sync(true);
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it("selects only the project's clusters, whatever the stage selectors say (passes and previews)", async () => {
    const view = await fleet();
    assert.equal(view.lastGoodRevision, first, JSON.stringify(view.errors));
    assert.deepEqual(view.errors, []);
    const now = await desired();
    assert.equal(now['shop-a'], first);
    assert.equal(now['shop-b'], first);
    assert.equal(now['billing-a'] ?? null, null, 'billing is outside the project');

    const preview = await cp.cp.reconciler.preview(name, first, {});
    assert.ok(preview.ok);
    assert.deepEqual(preview.targets.map((t) => t.cluster).sort(), ['shop-a', 'shop-b']);
  });

  it('a cluster the project no longer selects has its desired state removed', async () => {
    await cp.cp.projects.replace({ ...SHOP, clusters: 'team=nobody' });
    await sync(false);
    const none = await desired();
    assert.equal(none['shop-a'] ?? null, null);
    assert.equal(none['shop-b'] ?? null, null);

    await cp.cp.projects.replace(SHOP);
    await sync(false);
    const back = await desired();
    assert.equal(back['shop-a'], first);
    assert.equal(back['shop-b'], first);
  });

  it('a commit with an object the project refuses is a bad revision naming object and rule; the last good one stays', async () => {
    refused = await git.commit(
      repo,
      {
        'deploy/manifests/sneaky.yaml': configMap('sneaky', 'kube-system'),
        'deploy/manifests/role.yaml': CLUSTER_ROLE,
      },
      'reach outside the project',
    );
    await sync(true);
    const view = await fleet();
    assert.equal(view.head, refused);
    assert.equal(view.lastGoodRevision, first);
    assert.deepEqual(
      view.errors.map((e) => [e.code, e.file]),
      [
        ['ProjectRule', 'deploy/fleet.yaml'],
        ['ProjectRule', 'deploy/fleet.yaml'],
      ],
    );
    const messages = view.errors.map((e) => e.message).join('\n');
    assert.match(messages, /ClusterRole shop-reader: project shop does not allow cluster-scoped objects/);
    assert.match(
      messages,
      /ConfigMap kube-system\/sneaky: project shop does not allow namespace kube-system/,
    );
    const condition = await rendered();
    assert.equal(condition?.reason, 'InvalidRevision');
    assert.match(String(condition?.message), /kube-system\/sneaky/);
    const now = await desired();
    assert.equal(now['shop-a'], first);
    assert.equal(now['shop-b'], first);
    assert.equal(now['billing-a'] ?? null, null);
  });

  it('a project that allows it lets the revision through at the next pass, with no new commit', async () => {
    await cp.cp.projects.replace({
      ...SHOP,
      namespaces: [...SHOP.namespaces, 'kube-system'],
      clusterScoped: true,
    });
    await sync(false);
    const view = await fleet();
    assert.deepEqual(view.errors, []);
    assert.equal(view.lastGoodRevision, refused);
    const now = await desired();
    assert.equal(now['shop-a'], refused);
    assert.equal(now['shop-b'], refused);
    assert.equal(now['billing-a'] ?? null, null);
  });

  it('a fleet whose project is gone reports ProjectNotFound and deploys nothing new', async () => {
    await cp.cp.projects.delete('shop');
    const next = await git.commit(repo, { 'deploy/manifests/web.yaml': configMap('web2', 'shop') }, 'next');
    await sync(true);
    const view = await fleet();
    assert.equal(view.head, next);
    assert.equal(view.lastGoodRevision, refused);
    assert.deepEqual(
      view.errors.map((e) => [e.code, e.file]),
      [['ProjectNotFound', 'deploy/fleet.yaml']],
    );
    assert.match(
      view.errors[0]?.message ?? '',
      /project shop, which does not exist; create project shop, or move/,
    );
    assert.equal((await rendered())?.reason, 'InvalidRevision');
    const now = await desired();
    assert.equal(now['shop-a'], refused, 'what the clusters run stays');
    assert.equal(now['shop-b'], refused);

    const preview = await cp.cp.reconciler.preview(name, next, {});
    assert.ok(!preview.ok);
    assert.deepEqual(
      preview.problems.map((p) => p.code),
      ['ProjectNotFound'],
    );
  });
});
