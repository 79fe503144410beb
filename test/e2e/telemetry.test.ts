// OpenTelemetry as an operator sees it: with the standard OTEL_* variables pointing at an
// OTLP/HTTP receiver, traces arrive that follow a request from REST through Git and the
// planner, and a status report across the BullMQ hop (one trace from ReportStatus to the
// worker that ingests it). The receiver is a real HTTP server taking OTLP JSON.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Phase } from '@gitfleet/proto';
import { bearer, startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

const spans: OtlpSpan[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    const json = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
    for (const rs of json.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

let cp: TestControlPlane;
let git: GitServer;

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_SERVICE_NAME: 'gitfleet-test',
  });
  git = await startGitServer();
  cp = await startTestControlPlane({ redisUrl: environmentFromEnv().redisUrl });
});

after(async () => {
  await cp?.stop();
  await git?.stop();
  receiver.close();
});

async function waitForAny(where: (s: OtlpSpan) => boolean): Promise<OtlpSpan> {
  for (let i = 0; i < 100; i++) {
    const found = spans.find(where);
    if (found) return found;
    await sleep(100);
  }
  throw new Error(`no such span; got ${[...new Set(spans.map((s) => s.name))].join(', ')}`);
}

async function waitForSpan(name: string, where: (s: OtlpSpan) => boolean = () => true): Promise<OtlpSpan> {
  for (let i = 0; i < 100; i++) {
    const found = spans.find((s) => s.name === name && where(s));
    if (found) return found;
    await sleep(100);
  }
  throw new Error(`no span ${name}; got ${[...new Set(spans.map((s) => s.name))].join(', ')}`);
}

test('a fleet creation is one trace: REST request → Git fetch → plan', async () => {
  const repo = `otel-${randomBytes(3).toString('hex')}`;
  await git.createRepo(repo, {
    'fleet.yaml': 'stages:\n  - name: all\n    selector: {}\n',
    'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: default\n',
  });
  const res = await cp.api('POST', '/api/v1/fleets', {
    name: repo,
    repo: git.repoUrl(repo),
    credentials: { username: git.username, password: git.password },
  });
  assert.equal(res.status, 201);
  // The reconcile that ran inside the HTTP request's trace (that span ends, and is exported,
  // last). The fleet's poller may reconcile it too, in a trace of its own: not this one.
  const isHttp = (s: OtlpSpan) => /fastify|request|POST/i.test(s.name);
  const reconcile = await waitForSpan('fleet.reconcile', (r) =>
    spans.some((s) => s.traceId === r.traceId && s.spanId === r.parentSpanId && isHttp(s)),
  );
  const fetch = await waitForSpan('fleet.fetch', (s) => s.traceId === reconcile.traceId);
  await waitForSpan('fleet.plan', (s) => s.traceId === reconcile.traceId);
  assert.equal(fetch.parentSpanId, reconcile.spanId);
  const http = await waitForAny(
    (s) => s.traceId === reconcile.traceId && s.spanId === reconcile.parentSpanId,
  );
  assert.ok(isHttp(http), `parent span ${http.name}`);
  assert.ok(!JSON.stringify(spans).includes(git.password), 'no secret in any span');
});

test('a status report is one trace across the BullMQ hop', async () => {
  const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
    name: `otel-${randomBytes(3).toString('hex')}`,
  });
  const client = cp.grpcClient();
  const { credential } = await new Promise<{ credential: string }>((resolve, reject) =>
    client.register({ bootstrapToken: reg.body.bootstrapToken }, (err, r) =>
      err ? reject(err) : resolve(r),
    ),
  );
  await new Promise<void>((resolve, reject) =>
    client.reportStatus(
      {
        sequence: 1,
        status: {
          fleet: 'otel',
          desiredRevision: 'a',
          desiredDigest: 'd',
          appliedRevision: 'a',
          attemptedRevision: 'a',
          phase: Phase.PHASE_READY,
          message: '',
          objects: [],
          observedAtUnixMs: Date.now(),
          driftCorrections: 0,
        },
      },
      bearer(credential),
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  const report = await waitForSpan('grpc.ReportStatus');
  await waitForSpan('status.enqueue', (s) => s.traceId === report.traceId);
  const ingest = await waitForSpan('status.ingest', (s) => s.traceId === report.traceId);
  assert.equal(ingest.traceId, report.traceId, 'the worker continues the trace carried in the job');
});
