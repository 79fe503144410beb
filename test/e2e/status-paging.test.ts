// The status of a fleet per cluster, a page at a time (GET /api/v1/fleets/{name}/status with
// limit and after), and filtered by stage or phase, as a dashboard or script of a large fleet reads it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';

const env = environmentFromEnv();
const NAMES = ['pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e'];

interface Page {
  items: { cluster: string; stage: string | null; phase: string }[];
  next: string | null;
}

describe('the status of a fleet, page by page', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  const status = async (query: string) => cp.api<Page>('GET', `/api/v1/fleets/paged/status${query}`);

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    await git.createRepo('paged', {
      'fleet.yaml':
        'stages:\n  - name: early\n    selector: { matchLabels: { paged: early } }\n  - name: late\n    selector: { matchLabels: { paged: late } }\n',
      'manifests/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: paged\n  namespace: default\n',
    });
    // Registered out of order: pages come by name.
    for (const name of [...NAMES].reverse()) {
      const stage = name === 'pg-a' || name === 'pg-d' ? 'early' : 'late';
      assert.equal(
        (await cp.api('POST', '/api/v1/clusters', { name, labels: { paged: stage } })).status,
        201,
      );
    }
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: 'paged',
      repo: git.repoUrl('paged'),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it('pages of two, by cluster name, until next is null; together every cluster once', async () => {
    const seen: string[] = [];
    let query = '?limit=2';
    for (let pages = 0; pages < 10; pages++) {
      const page = await status(query);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.ok(page.body.items.length <= 2);
      seen.push(...page.body.items.map((i) => i.cluster));
      if (page.body.next === null) break;
      query = `?limit=2&after=${page.body.next}`;
    }
    assert.deepEqual(seen, NAMES);
    // Without a limit: all at once, as before.
    const all = await status('');
    assert.deepEqual([all.body.items.map((i) => i.cluster), all.body.next], [NAMES, null]);
  });

  it('filtered by stage or phase', async () => {
    const early = await status('?stage=early');
    assert.deepEqual(
      early.body.items.map((i) => [i.cluster, i.stage]),
      [
        ['pg-a', 'early'],
        ['pg-d', 'early'],
      ],
    );
    // No agent has reported: every cluster is Pending.
    assert.equal((await status('?phase=Pending')).body.items.length, 5);
    assert.equal((await status('?phase=Ready')).body.items.length, 0);
  });

  it('a page that cannot be read is refused naming the parameter', async () => {
    for (const [query, field] of [
      ['?limit=0', /querystring\.limit/],
      ['?limit=10001', /querystring\.limit/],
      ['?phase=Happy', /querystring\.phase/],
      ['?page=2', /unknown field "page"/],
    ] as const) {
      const res = await cp.api<{ code: string; message: string }>(
        'GET',
        `/api/v1/fleets/paged/status${query}`,
      );
      assert.deepEqual([res.status, res.body.code], [400, 'InvalidRequest'], query);
      assert.match(res.body.message, field, query);
    }
  });
});
