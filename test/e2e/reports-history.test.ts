// A cluster's report history for a fleet (GET /api/v1/fleets/{name}/clusters/{cluster}/reports):
// the last reports, newest first, as an agent sent them through the real gRPC service.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Phase } from '@gitfleet/proto';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { waitFor } from '../src/process.ts';
import { registerAgent } from '../src/protocol-agent.ts';
import { fleetStatus, reportStatus } from '../src/simulated-agent.ts';

const env = environmentFromEnv();

interface Reports {
  fleet: string;
  cluster: string;
  items: {
    sequence: number;
    phase: string;
    appliedRevision: string | null;
    message: string;
    objects: number;
  }[];
}

describe("a cluster's report history for a fleet", () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let head = '';

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    head = await git.createRepo('hist', {
      'fleet.yaml': 'stages:\n  - name: all\n    selector: { matchLabels: { hist: "yes" } }\n',
      'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hist\n  namespace: default\n',
    });
    const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: 'hist-1',
      labels: { hist: 'yes' },
    });
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: 'hist',
      repo: git.repoUrl('hist'),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const client = cp.grpcClient();
    const { credential } = await registerAgent(client, reg.body.bootstrapToken);
    for (const [sequence, phase] of [
      [1, Phase.PHASE_APPLYING],
      [2, Phase.PHASE_PROGRESSING],
      [3, Phase.PHASE_READY],
    ] as const) {
      await reportStatus(client, credential, sequence, fleetStatus('hist', head, 'd', phase));
    }
    client.close();
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it('lists the reports newest first, with phases and revisions as reported; a viewer may read them', async () => {
    const reports = await waitFor('the three reports ingested', async () => {
      const res = await cp.api<Reports>(
        'GET',
        '/api/v1/fleets/hist/clusters/hist-1/reports',
        undefined,
        cp.viewerToken,
      );
      return res.body.items?.length === 3 ? res : undefined;
    });
    assert.equal(reports.status, 200);
    assert.deepEqual(
      reports.body.items.map((r) => [r.sequence, r.phase]),
      [
        [3, 'Ready'],
        [2, 'Progressing'],
        [1, 'Applying'],
      ],
    );
    assert.equal(reports.body.items[0]?.appliedRevision, head);
  });

  it('an unknown fleet or cluster is a 404 naming it', async () => {
    const fleet = await cp.api<{ code: string }>('GET', '/api/v1/fleets/nope/clusters/hist-1/reports');
    assert.deepEqual([fleet.status, fleet.body.code], [404, 'FleetNotFound']);
    const cluster = await cp.api<{ code: string; message: string }>(
      'GET',
      '/api/v1/fleets/hist/clusters/nope/reports',
    );
    assert.deepEqual([cluster.status, cluster.body.code], [404, 'ClusterNotFound']);
    assert.match(cluster.body.message, /nope/);
  });
});
