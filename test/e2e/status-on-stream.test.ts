// Status reports on the Connect stream (ConnectRequest.report → ConnectResponse.report_ack):
// what an agent sends while its stream is up, instead of a ReportStatus call per report. The
// same rules as ReportStatus: acknowledged only once enqueued, stored once however often it is
// sent, refused (never retried) when it is invalid, and only after the Hello.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type FleetStatus, Phase, type ReportAck, ReportOutcome } from '@gitfleet/proto';
import { bearer, startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { openStream, registerAgent } from '../src/protocol-agent.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
let cp: TestControlPlane;

before(async () => {
  cp = await startTestControlPlane({ redisUrl: env.redisUrl });
});
after(async () => {
  await cp?.stop();
});

const status = (fleet: string, phase: Phase): FleetStatus => ({
  fleet,
  desiredRevision: 'a'.repeat(40),
  desiredDigest: `sha256:${'b'.repeat(64)}`,
  appliedRevision: 'a'.repeat(40),
  attemptedRevision: 'a'.repeat(40),
  phase,
  message: '',
  objects: [],
  observedAtUnixMs: Date.now(),
  driftCorrections: 0,
});

test('reports on the stream are acked once stored, stored once, and refused when invalid', async () => {
  const cluster = `stream-${id}`;
  const fleet = `shop-${id}`;
  const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', { name: cluster });
  const { credential } = await registerAgent(cp.grpcClient(), reg.body.bootstrapToken);
  const agent = openStream(cp.grpcClient(), credential);
  await agent.waitFor('Synced', () => agent.raw.find((m) => m.kind?.$case === 'synced'));
  const acks = () =>
    agent.raw.flatMap((m) => (m.kind?.$case === 'reportAck' ? [m.kind.value as ReportAck] : []));
  const send = async (sequence: number, s: FleetStatus): Promise<ReportAck> => {
    const seen = acks().length;
    agent.stream.write({ kind: { $case: 'report', value: { sequence, status: s } } });
    return agent.waitFor(`the answer to report ${sequence}`, () =>
      acks()
        .slice(seen)
        .find((a) => a.sequence === sequence),
    );
  };

  const base = Date.now();
  assert.equal(
    (await send(base + 1, status(fleet, Phase.PHASE_APPLYING))).outcome,
    ReportOutcome.REPORT_OUTCOME_STORED,
  );
  assert.equal(
    (await send(base + 2, status(fleet, Phase.PHASE_READY))).outcome,
    ReportOutcome.REPORT_OUTCOME_STORED,
  );
  // Sent again (its ack was lost, say): answered, not stored twice.
  assert.equal(
    (await send(base + 2, status(fleet, Phase.PHASE_READY))).outcome,
    ReportOutcome.REPORT_OUTCOME_DUPLICATE,
  );
  // Invalid: a phase that does not exist. Refused with the reason, so the agent drops it.
  const refused = await send(base + 3, status(fleet, 42 as Phase));
  assert.equal(refused.outcome, ReportOutcome.REPORT_OUTCOME_REFUSED);
  assert.match(refused.reason, /phase/i);

  // What is stored: the two reports, once each, newest first; Ready is the cluster's status.
  let history: { sequence: number; phase: string }[] = [];
  for (let i = 0; i < 100 && history.length < 2; i++) {
    history = await cp.cp.ingestion.history(cluster, fleet);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(
    history.map((h) => [h.sequence, h.phase]),
    [
      [base + 2, 'Ready'],
      [base + 1, 'Applying'],
    ],
  );
  agent.stream.cancel();
});

test('a report before the Hello is refused: the stream is not yet the cluster’s', async () => {
  const cluster = `early-${id}`;
  const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', { name: cluster });
  const { credential } = await registerAgent(cp.grpcClient(), reg.body.bootstrapToken);
  // openStream says Hello at once; a raw stream that reports first shows the refusal.
  const stream = cp.grpcClient().connect(bearer(credential));
  const answer = new Promise<ReportAck>((resolve) =>
    stream.on('data', (m) => {
      if (m.kind?.$case === 'reportAck') resolve(m.kind.value);
    }),
  );
  stream.on('error', () => {});
  stream.write({
    kind: { $case: 'report', value: { sequence: Date.now(), status: status(`f-${id}`, Phase.PHASE_READY) } },
  });
  const ack = await answer;
  assert.equal(ack.outcome, ReportOutcome.REPORT_OUTCOME_REFUSED);
  assert.match(ack.reason, /Hello/);
  assert.deepEqual(await cp.cp.ingestion.history(cluster, `f-${id}`), []);
  stream.cancel();
});
