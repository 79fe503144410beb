// The AgentService against clients that are wrong or hostile: bad, forged, revoked and
// misplaced credentials, one cluster reaching for another's desired state, replayed and
// reordered reports, oversized and undecodable messages, nonsense field values, and a
// plaintext client. Each is refused with a clear gRPC status, logged without the secret that
// was presented, and leaves the server serving everyone else. (control-plane.test.ts covers a
// made-up credential on Connect, a revoked one on ReportStatus, and a plain duplicate/older
// report; these go further.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AgentServiceClient,
  type FleetStatus,
  Phase,
  ReportStatusRequest,
  type ReportStatusResponse,
} from '@gitfleet/proto';
import { credentials, type Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { bearer, startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { openStream, registerAgent } from '../src/protocol-agent.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');

const fleetStatus = (fleet: string, over: Partial<FleetStatus> = {}): FleetStatus => ({
  fleet,
  desiredRevision: 'a'.repeat(40),
  desiredDigest: `sha256:${'b'.repeat(64)}`,
  appliedRevision: 'a'.repeat(40),
  attemptedRevision: 'a'.repeat(40),
  phase: Phase.PHASE_READY,
  message: '',
  objects: [],
  observedAtUnixMs: Date.now(),
  driftCorrections: 0,
  ...over,
});

describe('the AgentService refuses bad input', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let client: AgentServiceClient;
  /** Every secret this suite presented; none may appear in the logs. */
  const presented: string[] = [];
  const clusterA = `abuse-a-${id}`;
  const clusterB = `abuse-b-${id}`;
  const fleet = `abuse-${id}`;
  let credA = '';
  let credB = '';

  const report = (credential: string, sequence: number, s: FleetStatus) =>
    new Promise<ReportStatusResponse>((resolve, reject) =>
      client.reportStatus(
        { sequence, status: s },
        bearer(credential),
        { deadline: Date.now() + 10_000 },
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
  /** A ReportStatus whose request bytes are whatever the test says. */
  const rawReport = (metadata: Metadata, bytes: Buffer) =>
    new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        '/gitfleet.v1.AgentService/ReportStatus',
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        metadata,
        { deadline: Date.now() + 10_000 },
        (err, res) => (err ? reject(err) : resolve(res as Buffer)),
      ),
    );
  const refusedWith = (code: status, details: RegExp) => (err: ServiceError) => {
    assert.equal(err.code, code, `${status[err.code]}: ${err.details}`);
    assert.match(err.details, details);
    return true;
  };
  const statusOn = async (cluster: string) =>
    (
      await cp.api<{ fleets: { fleet: string; phase: string; sequence: number }[] }>(
        'GET',
        `/api/v1/clusters/${cluster}`,
      )
    ).body.fleets.find((f) => f.fleet === fleet);
  const waitForStatus = async (cluster: string, sequence: number) => {
    for (let i = 0; i < 200; i++) {
      const s = await statusOn(cluster);
      if (s && s.sequence >= sequence) return s;
      await sleep(50);
    }
    throw new Error(`report ${sequence} of ${cluster} was never ingested`);
  };

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl, captureLogs: true });
    client = cp.grpcClient();
    for (const [name, side] of [
      [clusterA, 'a'],
      [clusterB, 'b'],
    ] as const) {
      const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name,
        labels: { abuse: id, side },
      });
      presented.push(reg.body.bootstrapToken);
      const { credential } = await registerAgent(client, reg.body.bootstrapToken);
      presented.push(credential);
      if (side === 'a') credA = credential;
      else credB = credential;
    }
    // A fleet for cluster B only.
    await git.createRepo(fleet, {
      'fleet.yaml': `stages:\n  - name: b\n    selector: { matchLabels: { abuse: "${id}", side: b } }\n`,
      'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-for-b\n  namespace: b\n',
    });
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it('refuses unknown, malformed and misplaced credentials on every call', async () => {
    const forged = `gfc_${clusterA}.${randomBytes(32).toString('base64url')}`;
    const bootstrap = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: `abuse-c-${id}`,
    });
    presented.push(forged, bootstrap.body.bootstrapToken);
    const cases: [string, RegExp][] = [
      [forged, /unknown or revoked/],
      ['not-a-credential', /malformed cluster credential/],
      [`gfc_{${clusterA}}:x.${randomBytes(32).toString('base64url')}`, /malformed/],
      [`${credA}x`, /malformed/],
      ['', /missing credential/],
      [bootstrap.body.bootstrapToken, /bootstrap token is not a cluster credential.*Register/],
    ];
    for (const [credential, why] of cases) {
      await assert.rejects(
        report(credential, 1, fleetStatus(fleet)),
        refusedWith(status.UNAUTHENTICATED, why),
      );
      const stream = openStream(client, credential);
      const err = await stream.closed;
      assert.equal(err?.code, status.UNAUTHENTICATED, credential);
      assert.match(err?.details ?? '', why);
      assert.equal(stream.raw.length, 0, 'nothing was sent down before refusing');
    }
    // A credential is not a bootstrap token either.
    await assert.rejects(
      registerAgent(client, credA),
      refusedWith(status.UNAUTHENTICATED, /bootstrap token unknown/),
    );
    // The bootstrap token presented as a credential is still good for what it is for.
    const { clusterName } = await registerAgent(client, bootstrap.body.bootstrapToken);
    assert.equal(clusterName, `abuse-c-${id}`);
  });

  it('refuses a deleted cluster’s credential on a new stream', async () => {
    const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: `abuse-d-${id}`,
    });
    const { credential } = await registerAgent(client, reg.body.bootstrapToken);
    presented.push(reg.body.bootstrapToken, credential);
    assert.equal((await cp.api('DELETE', `/api/v1/clusters/abuse-d-${id}`)).status, 204);
    const stream = openStream(client, credential);
    const err = await stream.closed;
    assert.equal(err?.code, status.UNAUTHENTICATED);
    assert.match(err?.details ?? '', /unknown or revoked/);
  });

  it('gives a cluster only its own desired state, whatever its Hello claims', async () => {
    const b = openStream(client, credB);
    const forB = await b.waitFor('B’s desired state', () => b.desired.find((d) => d.fleet === fleet));
    assert.equal(forB.objects?.length, 1);
    // A says it runs B's fleet at B's digest, hoping to be sent its updates: it is told the
    // fleet does not target it, and gets none of B's content.
    const a = openStream(client, credA, [{ fleet, revision: forB.revision, bundleDigest: forB.digest }]);
    await a.waitFor('synced', () => a.raw.find((m) => m.kind?.$case === 'synced'));
    const removed = a.raw.find((m) => m.kind?.$case === 'removed');
    assert.equal(removed?.kind?.$case === 'removed' && removed.kind.value.fleet, fleet);
    assert.equal(a.raw.filter((m) => m.kind?.$case === 'chunk').length, 0);
    // A's report for that fleet is stored as A's own, never as B's.
    assert.equal((await report(credB, 100, fleetStatus(fleet))).duplicate, false);
    await waitForStatus(clusterB, 100);
    assert.equal(
      (await report(credA, 200, fleetStatus(fleet, { phase: Phase.PHASE_FAILED }))).duplicate,
      false,
    );
    const onA = await waitForStatus(clusterA, 200);
    assert.equal(onA.phase, 'Failed');
    const onB = await statusOn(clusterB);
    assert.equal(onB?.phase, 'Ready');
    assert.equal(onB?.sequence, 100);
    a.stream.cancel();
    b.stream.cancel();
  });

  it('stores a replayed report once and never lets an older one overwrite a newer one', async () => {
    // The same report sent twice at once: one is taken, the other acknowledged as a duplicate.
    // (Both may be acknowledged as new when neither was queued yet at its check; the queue's
    // job id is what keeps it to one.)
    const s1 = fleetStatus(fleet, { message: 'first' });
    await Promise.all([report(credB, 1000, s1), report(credB, 1000, s1)]);
    await waitForStatus(clusterB, 1000);
    assert.equal((await report(credB, 1000, s1)).duplicate, true, 'a later replay is a duplicate');
    await sleep(300);
    const history = await cp.cp.ingestion.history(clusterB, fleet);
    assert.equal(history.filter((h) => h.sequence === 1000).length, 1, 'stored once');
    // Newer then older, back to back, before the worker stored either: the queue holds both,
    // and ingestion keeps the newer one whatever order the worker takes them in.
    const [newer, older] = await Promise.all([
      report(credB, 2000, fleetStatus(fleet, { phase: Phase.PHASE_READY, message: 'newer' })),
      report(credB, 1500, fleetStatus(fleet, { phase: Phase.PHASE_FAILED, message: 'older' })),
    ]);
    assert.equal(newer.duplicate, false);
    await waitForStatus(clusterB, 2000);
    await sleep(300);
    const stored = await statusOn(clusterB);
    assert.equal(stored?.sequence, 2000);
    assert.equal(stored?.phase, 'Ready');
    // Once the newer one is stored, the older one is a duplicate on arrival.
    assert.equal((await report(credB, 1500, fleetStatus(fleet))).duplicate, true);
    assert.ok(older.sequence === 1500);
  });

  it('refuses nonsense field values with INVALID_ARGUMENT naming the field', async () => {
    const cases: [number, FleetStatus, RegExp][] = [
      [0, fleetStatus(fleet), /sequence > 0/],
      [Date.now() + 7 * 86_400_000, fleetStatus(fleet), /more than a day ahead/],
      [3000, fleetStatus(`${fleet}#seq`), /status\.fleet .* is not a fleet name/],
      [3000, fleetStatus('Not_A_Fleet'), /status\.fleet .* is not a fleet name/],
      [3000, fleetStatus(fleet, { phase: 42 as Phase }), /status\.phase 42 is not a phase/],
      [3000, fleetStatus(fleet, { phase: Phase.PHASE_UNSPECIFIED }), /status\.phase 0 is not a phase/],
      [3000, fleetStatus(fleet, { observedAtUnixMs: -1 }), /observedAtUnixMs -1 is not a time/],
      [3000, fleetStatus(fleet, { message: 'x'.repeat(100_000) }), /status\.message is 100000 characters/],
      [
        3000,
        fleetStatus(fleet, {
          objects: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              namespace: 'b',
              name: 'n'.repeat(1000),
              action: 99 as never,
              health: 1,
              reason: '',
              message: '',
              drifted: false,
              driftChanges: [],
              driftManagers: [],
              driftCorrectedAtUnixMs: 0,
            },
          ],
        }),
        /status\.objects\[0\]\.action 99 is not an action/,
      ],
    ];
    for (const [sequence, s, why] of cases) {
      await assert.rejects(report(credB, sequence, s), refusedWith(status.INVALID_ARGUMENT, why));
    }
    // A negative sequence on the wire is a uint64 beyond what the control plane counts to, and
    // bytes that are no protobuf at all do not decode: both refused as invalid, not INTERNAL.
    const negative = Buffer.concat([
      // field 1 (sequence), varint: -5 as a two's-complement 64-bit number
      Buffer.from([0x08, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      ReportStatusRequest.encode({ sequence: 0, status: fleetStatus(fleet) }).finish(),
    ]);
    await assert.rejects(
      rawReport(bearer(credB), negative),
      refusedWith(status.INVALID_ARGUMENT, /not a valid gitfleet\.v1\.ReportStatusRequest/),
    );
    await assert.rejects(
      rawReport(bearer(credB), Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
      refusedWith(status.INVALID_ARGUMENT, /not a valid gitfleet\.v1\.ReportStatusRequest/),
    );
    // A Hello naming something that is not a fleet ends the stream with INVALID_ARGUMENT.
    const hello = openStream(client, credB, [{ fleet: 'bad#name', revision: '', bundleDigest: '' }]);
    const err = await hello.closed;
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    assert.match(err?.details ?? '', /hello\.running\[0\]\.fleet/);
    // None of it reached the stored status.
    assert.equal((await statusOn(clusterB))?.sequence, 2000);
  });

  it('refuses an oversized report with RESOURCE_EXHAUSTED and keeps serving everyone', async () => {
    const a = openStream(client, credA);
    await a.waitFor('A synced', () => a.raw.find((m) => m.kind?.$case === 'synced'));
    const huge = fleetStatus(fleet, {
      objects: Array.from({ length: 70 }, (_, i) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'b',
        name: `o-${i}`,
        action: 1,
        health: 1,
        reason: '',
        message: 'm'.repeat(256 * 1024),
        drifted: false,
        driftChanges: [],
        driftManagers: [],
        driftCorrectedAtUnixMs: 0,
      })),
    });
    await assert.rejects(report(credB, 4000, huge), refusedWith(status.RESOURCE_EXHAUSTED, /larger than/));
    // The server is up: B reports, A's stream is still open and gets heartbeats... and reports.
    assert.equal((await report(credB, 4001, fleetStatus(fleet))).duplicate, false);
    await waitForStatus(clusterB, 4001);
    assert.equal((await report(credA, 4002, fleetStatus(fleet))).duplicate, false);
    assert.equal(a.ended, null, 'A’s stream is unaffected');
    a.stream.cancel();
  });

  it('refuses a plaintext connection: there is no gRPC without TLS', async () => {
    const plain = new AgentServiceClient(cp.grpcAddress, credentials.createInsecure());
    try {
      const err = await new Promise<ServiceError | null>((resolve) =>
        plain.reportStatus(
          { sequence: 5000, status: fleetStatus(fleet) },
          bearer(credB),
          { deadline: Date.now() + 5000 },
          (e) => resolve(e),
        ),
      );
      assert.ok(err, 'a plaintext call must fail');
      assert.ok(
        err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED,
        `${status[err.code]}: ${err.details}`,
      );
    } finally {
      plain.close();
    }
    assert.equal((await statusOn(clusterB))?.sequence, 4001, 'nothing got through');
  });

  it('logs every refusal with its reason, and no secret that was presented', async () => {
    const lines = cp
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; method?: string; code?: string; reason?: string });
    const refused = lines.filter((l) => l.msg === 'agent call refused');
    const seen = new Set(refused.map((l) => `${l.method} ${l.code}`));
    for (const expected of [
      'ReportStatus UNAUTHENTICATED',
      'Connect UNAUTHENTICATED',
      'Register UNAUTHENTICATED',
      'ReportStatus INVALID_ARGUMENT',
      'Connect INVALID_ARGUMENT',
    ]) {
      assert.ok(seen.has(expected), `a refusal logged for ${expected}; saw ${[...seen].join(', ')}`);
    }
    assert.ok(refused.some((l) => /bootstrap token is not a cluster credential/.test(l.reason ?? '')));
    const all = cp.logs();
    for (const secret of presented) {
      assert.ok(!all.includes(secret), `a presented secret (${secret.slice(0, 8)}…) appears in the logs`);
      // Nor its random part alone.
      const tail = secret.slice(secret.lastIndexOf('.') + 1).slice(-20);
      assert.ok(!all.includes(tail), 'part of a presented secret appears in the logs');
    }
  });
});
