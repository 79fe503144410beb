// The dashboard's pure helpers (public/format.js, a browser module without imports), in Node.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

const format = await import(new URL('./public/format.js', import.meta.url).href);
const sha = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

describe('commit links', () => {
  test('are derived for the forges whose URLs are known, and only for those', () => {
    assert.equal(
      format.commitUrl('https://github.com/org/fleet.git', sha),
      `https://github.com/org/fleet/commit/${sha}`,
    );
    assert.equal(
      format.commitUrl('https://gitlab.example.com/group/sub/fleet.git/', sha),
      `https://gitlab.example.com/group/sub/fleet/-/commit/${sha}`,
    );
    assert.equal(
      format.commitUrl('https://bitbucket.org/team/fleet', sha),
      `https://bitbucket.org/team/fleet/commits/${sha}`,
    );
    assert.equal(
      format.commitUrl('https://gitea.corp.example/org/fleet.git', sha),
      `https://gitea.corp.example/org/fleet/commit/${sha}`,
    );
    assert.equal(
      format.commitUrl('https://codeberg.org/org/fleet.git', sha),
      `https://codeberg.org/org/fleet/commit/${sha}`,
    );
    // A plain Git server (git http-backend) has no pages: no link rather than a wrong one.
    assert.equal(format.commitUrl('http://127.0.0.1:8080/fleet.git', sha), null);
    assert.equal(format.commitUrl('https://github.com/org', sha), null);
    assert.equal(format.commitUrl('https://github.com/org/fleet.git', 'not-a-sha'), null);
    assert.equal(format.commitUrl('file:///srv/git/fleet.git', sha), null);
  });
});

describe('waves', () => {
  const rollout = (state: string, wave: number) => ({
    state,
    revision: 'new',
    wave,
    waves: 3,
    waveClusters: [['a'], ['b', 'c'], ['d']],
  });
  const statuses: Record<string, { phase: string; appliedRevision: string }> = {
    a: { phase: 'Ready', appliedRevision: 'new' },
    b: { phase: 'Ready', appliedRevision: 'new' },
    c: { phase: 'Applying', appliedRevision: 'old' },
    d: { phase: 'Ready', appliedRevision: 'old' },
  };
  const of = (c: string) => statuses[c];
  const states = (r: ReturnType<typeof rollout>) =>
    format.waveProgress(r, of).map((w: { state: string; ready: number }) => `${w.state}:${w.ready}`);

  test('tell which wave is moving, how many of its clusters are Ready, and which wait', () => {
    assert.deepEqual(states(rollout('progressing', 2)), ['done:1', 'moving:1', 'waiting:0']);
    assert.deepEqual(states(rollout('halted', 2)), ['done:1', 'halted:1', 'waiting:0']);
    assert.deepEqual(states(rollout('complete', 3)), ['done:1', 'done:1', 'done:0']);
  });

  test('a rollout event moves the waves at once; the reload that follows is the authority', () => {
    const fleet = { stages: [{ name: 'prod', revision: 'old', rollout: rollout('complete', 3) }] };
    const next = format.patchFleet(fleet, {
      type: 'RolloutProgressed',
      stage: 'prod',
      revision: 'newer',
      reason: 'wave 1 of 3',
    });
    assert.equal(next.stages[0].rollout.state, 'progressing');
    assert.equal(next.stages[0].rollout.wave, 1);
    assert.equal(next.stages[0].rollout.previousRevision, 'new');
    assert.equal(next.stages[0].revision, 'newer');
    assert.equal(fleet.stages[0]!.rollout.state, 'complete', 'the view it was given is left as it was');
    const halted = format.patchFleet(next, {
      type: 'RolloutHalted',
      stage: 'prod',
      revision: 'newer',
      reason: "cluster 'a' is Failed at revision newer",
    });
    assert.equal(halted.stages[0].rollout.state, 'halted');
    assert.equal(halted.stages[0].rollout.wave, 1);
    assert.equal(format.haltedCluster(halted.stages[0].rollout.reason), 'a');
    assert.equal(format.patchFleet(fleet, { type: 'FleetSynced', revision: 'x' }), undefined);
  });

  test('status events change the one cluster they name', () => {
    const status = {
      items: [
        { cluster: 'a', phase: 'Ready', appliedRevision: 'old', desiredRevision: 'old' },
        { cluster: 'b', phase: 'Ready', appliedRevision: 'old', desiredRevision: 'old' },
      ],
    };
    let next = format.patchStatus(status, { type: 'DesiredStateChanged', cluster: 'b', revision: 'new' });
    next = format.patchStatus(next, {
      type: 'StatusChanged',
      cluster: 'b',
      phase: 'Applying',
      revision: 'new',
    });
    assert.deepEqual(next.items[1], {
      cluster: 'b',
      phase: 'Applying',
      appliedRevision: 'old',
      desiredRevision: 'new',
      attemptedRevision: 'new',
    });
    next = format.patchStatus(next, { type: 'StatusChanged', cluster: 'b', phase: 'Ready', revision: 'new' });
    assert.equal(next.items[1].appliedRevision, 'new');
    assert.equal(next.items[0].phase, 'Ready');
    assert.equal(
      format.patchStatus(next, { type: 'StatusChanged', cluster: 'zz', revision: 'x' }),
      undefined,
    );
  });
});

describe('words', () => {
  test('a problem is shown as file:line apart from its message', () => {
    const p = {
      code: 'UnknownVariable',
      file: 'manifests/a.yaml',
      line: 8,
      message: 'manifests/a.yaml:8: no such variable',
    };
    assert.equal(format.problemWhere(p), 'manifests/a.yaml:8');
    assert.equal(format.problemText(p), 'no such variable');
  });

  test("a promotion's reason is told apart from its trailers", () => {
    assert.deepEqual(
      format.commitMessage(
        'promote prod to abc1234\n\nv2 soaked\n\nGitfleet-Promotion-Id: x\nGitfleet-Stage: prod\n',
      ),
      { subject: 'promote prod to abc1234', reason: 'v2 soaked' },
    );
    assert.deepEqual(format.commitMessage('promote prod to abc1234\n\nGitfleet-Stage: prod\n'), {
      subject: 'promote prod to abc1234',
      reason: '',
    });
  });

  test('Stalled is good news when False; the others when True', () => {
    assert.equal(format.conditionTone({ type: 'Stalled', status: 'False' }), 'good');
    assert.equal(format.conditionTone({ type: 'Stalled', status: 'True' }), 'bad');
    assert.equal(format.conditionTone({ type: 'Ready', status: 'True' }), 'good');
    assert.equal(format.conditionTone({ type: 'Rendered', status: 'Unknown' }), 'idle');
  });

  test('filters by phase, name and a set of names', () => {
    const items = [
      { cluster: 'eu-1', phase: 'Ready' },
      { cluster: 'eu-2', phase: 'Failed' },
      { cluster: 'us-1', phase: 'Failed' },
    ];
    assert.deepEqual(
      format.filterItems(items, { phase: 'Failed' }).map((i: { cluster: string }) => i.cluster),
      ['eu-2', 'us-1'],
    );
    assert.deepEqual(
      format
        .filterItems(items, { text: 'EU', names: new Set(['eu-2', 'us-1']) })
        .map((i: { cluster: string }) => i.cluster),
      ['eu-2'],
    );
  });
});

test('a reload read before an event arrived gets that event applied again, not the ones it has', () => {
  const view = {
    name: 'shop',
    stages: [
      { name: 'prod', revision: 'r1', rollout: { state: 'progressing', revision: 'r1', wave: 1, waves: 2 } },
    ],
  };
  const wave2 = {
    id: '1000-1',
    type: 'RolloutProgressed',
    stage: 'prod',
    revision: 'r1',
    reason: 'wave 2 of 2',
  };
  const done = { id: '1000-2', type: 'RolloutComplete', stage: 'prod', revision: 'r1' };
  // Read when only wave 2 was recorded: the completion is applied again, wave 2 is not kept.
  const { data, newer } = format.replayAfter(view, '1000-1', [wave2, done], format.patchFleet);
  assert.equal(data.stages[0].rollout.state, 'complete');
  assert.deepEqual(newer, [done]);
  // Read after both: nothing to apply, nothing kept.
  const later = format.replayAfter(view, '1001-0', [wave2, done], format.patchFleet);
  assert.equal(later.data, view);
  assert.deepEqual(later.newer, []);
  assert.ok(format.compareEventIds('999-9', '1000-0') < 0 && format.compareEventIds('1000-10', '1000-9') > 0);
});

test('sync, promote and roll back are offered to admins and to operators and admins of the fleet’s project', () => {
  const fleet = { name: 'shop-web', project: 'shop' };
  assert.ok(format.operates({ role: 'admin', projects: {} }, fleet));
  assert.ok(format.operates({ role: 'none', projects: { shop: 'operator' } }, fleet));
  assert.ok(format.operates({ role: 'viewer', projects: { shop: 'admin' } }, fleet));
  assert.ok(!format.operates({ role: 'none', projects: { shop: 'viewer' } }, fleet));
  assert.ok(!format.operates({ role: 'viewer', projects: {} }, fleet));
  assert.ok(!format.operates({ role: 'none', projects: { shop: 'admin' } }, { name: 'other' }));
});

describe('drift corrections', () => {
  test('a field manager as the agent reports it: name, how it wrote, when', () => {
    assert.deepEqual(format.parseManager('kubectl-patch (Update) at 2025-03-01T10:00:00Z'), {
      name: 'kubectl-patch',
      how: 'Update',
      at: '2025-03-01T10:00:00Z',
    });
    assert.deepEqual(format.parseManager('kubectl-edit (Update status) at 2025-03-01T10:00:00Z'), {
      name: 'kubectl-edit',
      how: 'Update status',
      at: '2025-03-01T10:00:00Z',
    });
    assert.deepEqual(format.parseManager('helm'), { name: 'helm', how: '', at: '' });
  });

  test('only the objects with a correction, the latest first, with their fields and managers', () => {
    const obj = (name: string, lastDrift?: object) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'shop',
      name,
      drifted: false,
      ...(lastDrift ? { lastDrift } : {}),
    });
    const rows = format.driftRows([
      obj('clean'),
      obj('old', { changes: ['deleted'], managers: [], correctedAt: '2025-03-01T09:00:00.000Z' }),
      obj('web-config', {
        changes: ['data.greeting changed'],
        managers: ['kubectl-patch (Update) at 2025-03-01T09:59:58Z'],
        correctedAt: '2025-03-01T10:00:00.000Z',
      }),
    ]);
    assert.deepEqual(
      rows.map((r: { name: string }) => r.name),
      ['web-config', 'old'],
    );
    assert.deepEqual(rows[0].changes, ['data.greeting changed']);
    assert.equal(rows[0].managers[0].name, 'kubectl-patch');
    assert.equal(rows[0].key, 'v1/ConfigMap/shop/web-config');
    assert.deepEqual(rows[1].managers, []);
    assert.deepEqual(format.driftRows(undefined), []);
  });
});

describe('promotion previews', () => {
  const fleet = {
    stages: [
      { name: 'dev', revision: 'd'.repeat(40), requires: null },
      { name: 'staging', revision: 's'.repeat(40), requires: null },
      { name: 'prod', revision: 'p'.repeat(40), requires: 'dev' },
    ],
  };

  test('preview the revision the promotion would pin: the one typed, else what the source stage runs', () => {
    assert.deepEqual(format.promotionRevision(fleet, 'prod', '  abc1234 '), {
      revision: 'abc1234',
      from: null,
    });
    // prod requires dev: dev's revision, not that of the stage listed before it.
    assert.deepEqual(format.promotionRevision(fleet, 'prod', ''), { revision: 'd'.repeat(40), from: 'dev' });
    assert.deepEqual(format.promotionRevision(fleet, 'staging'), { revision: 'd'.repeat(40), from: 'dev' });
    assert.deepEqual(format.promotionRevision(fleet, 'dev', ''), { revision: null, from: null });
    assert.deepEqual(format.promotionRevision(fleet, 'nope', ''), { revision: null, from: null });
  });

  test('per cluster: the outcome, the counts in words, and only the objects that would change', () => {
    const object = (kind: string, name: string, change: string) => ({
      apiVersion: 'v1',
      kind,
      namespace: 'shop',
      name,
      change,
      diff: '',
      message: '',
      changedKeys: [],
    });
    const answer = {
      fleet: 'web',
      revision: 'r',
      changed: true,
      clusters: [
        {
          cluster: 'prod-b',
          stage: 'prod',
          outcome: 'not-connected',
          message: 'the agent is not connected',
          summary: { created: 0, changed: 0, deleted: 0, unchanged: 0, failed: 0 },
          objects: [],
        },
        {
          cluster: 'prod-a',
          stage: 'prod',
          outcome: 'compared',
          message: '',
          summary: { created: 1, changed: 2, deleted: 0, unchanged: 1, failed: 0 },
          objects: [
            object('Namespace', 'shop', 'unchanged'),
            object('Deployment', 'web', 'changed'),
            object('ConfigMap', 'new', 'created'),
            object('ConfigMap', 'web-config', 'changed'),
          ],
        },
      ],
    };
    const [a, b] = format.previewClusters(answer);
    assert.equal(a.cluster, 'prod-a');
    assert.equal(a.text, '2 changed, 1 created, 1 unchanged');
    assert.deepEqual(
      a.objects.map((o: { kind: string; name: string; change: string }) => `${o.change} ${o.kind}/${o.name}`),
      ['changed ConfigMap/web-config', 'changed Deployment/web', 'created ConfigMap/new'],
    );
    assert.equal(b.cluster, 'prod-b');
    assert.equal(b.text, 'not connected');
    assert.deepEqual(b.objects, []);
    assert.equal(format.outcomeOf('timed-out').words, 'timed out');
    assert.equal(
      format.summaryText({ created: 0, changed: 0, deleted: 0, unchanged: 0, failed: 0 }),
      'no objects',
    );
    assert.deepEqual(format.previewClusters(undefined), []);
  });

  test('a unified diff line by line: header, hunk, added, removed, context', () => {
    const diff = [
      '--- live/ConfigMap/shop/web-config\t',
      '+++ desired/ConfigMap/shop/web-config\t',
      '@@ -1,4 +1,4 @@',
      ' data:',
      '-  greeting: v1',
      '+  greeting: v2',
      '--- a YAML line that began with two dashes',
      '',
    ].join('\n');
    assert.deepEqual(
      format.diffLines(diff).map((l: { kind: string }) => l.kind),
      ['file', 'file', 'hunk', 'same', 'del', 'add', 'del'],
    );
    assert.equal(format.diffLines(diff)[5].text, '+  greeting: v2');
    assert.deepEqual(format.diffLines(''), []);
  });
});
