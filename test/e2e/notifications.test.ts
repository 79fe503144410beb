// Notifications with real parts: the control plane on the shared Redis, a Git server, an agent
// at the protocol level (no Kubernetes needed: it reports whatever phase the test says), and
// real HTTP receivers on loopback. The webhook receiver checks every signature and timestamp
// as a user's would, answers 500 to the first deliveries and is then down for 30 s: every
// notification arrives once per idempotency key after it is back, none is lost, and the API
// answers as fast as ever meanwhile. A Slack target whose webhook was revoked (404) is marked
// failing with its answer, secret-free.
//
// Two control-plane replicas, each running its NotificationService: each hears every event and
// enqueues the same jobs, and both run a delivery worker.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GitfleetEvent } from '@gitfleet/control-plane';
import { Phase } from '@gitfleet/proto';
import type { NotificationService } from '../../control-plane/src/notifications/service.ts';
import { NotificationTargets } from '../../control-plane/src/notifications/targets.ts';
import { decodeSecretKey, SecretBox } from '../../control-plane/src/store/secrets.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { freePort } from '../src/process.ts';
import { openStream, registerAgent } from '../src/protocol-agent.ts';
import { fleetStatus, reportStatus } from '../src/simulated-agent.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const fleet = `notify-${id}`;
const cluster = `notify-prod-${id}`;
const SECRET = `whsec-${randomBytes(16).toString('hex')}`;
const SLACK_PATH = `/services/T0${id}SEC/B0${id}RET/${randomBytes(12).toString('hex')}`;
const PUBLIC_URL = 'https://gitfleet.example.test';
const WINDOW_SECONDS = 3;
const OUTAGE_MS = 30_000;

const fleetYaml = (
  events = 'FleetError, RolloutHalted, RolloutComplete, DriftCorrected',
) => `manifests: ./manifests
stages:
  - name: prod
    selector: { matchLabels: { notify: "${id}", env: prod } }
notify:
  - target: hook
    events: [${events}]
  - target: revoked
    events: [FleetError]
`;
const configMap = (greeting: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: shop\ndata:\n  greeting: "${greeting}"\n`;

interface Delivery {
  id: string;
  event: string;
  body: Record<string, unknown> & { type: string; count: number; message: string; link: string };
}

/**
 * A webhook receiver as a user would write one: it verifies the HMAC over `<timestamp>.<body>`
 * and refuses timestamps more than 5 minutes away, and drops a delivery id it already took.
 */
function webhookReceiver(port: number, secret: string) {
  let server: Server | undefined;
  let failNext = 0;
  const accepted: Delivery[] = [];
  const answers: { id: string; status: number }[] = [];
  const rejected: string[] = [];
  const taken = new Set<string>();
  let repeats = 0;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-gitfleet-timestamp'] ?? '');
      const signature = String(req.headers['x-gitfleet-signature'] ?? '');
      const delivery = String(req.headers['x-gitfleet-delivery'] ?? '');
      const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300;
      const same =
        signature.length === expected.length &&
        timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
      if (!same || !fresh || !delivery) {
        rejected.push(
          `${delivery}: ${!same ? 'bad signature' : !fresh ? 'stale timestamp' : 'no delivery id'}`,
        );
        res.writeHead(401).end('rejected');
        return;
      }
      if (failNext > 0) {
        failNext--;
        answers.push({ id: delivery, status: 500 });
        res.writeHead(500).end('busy');
        return;
      }
      answers.push({ id: delivery, status: 200 });
      if (taken.has(delivery)) repeats++;
      else {
        taken.add(delivery);
        accepted.push({
          id: delivery,
          event: String(req.headers['x-gitfleet-event']),
          body: JSON.parse(body),
        });
      }
      res.writeHead(200).end('ok');
    });
  };
  return {
    url: `http://127.0.0.1:${port}/hook?token=${randomBytes(8).toString('hex')}`,
    accepted,
    answers,
    rejected,
    get repeats() {
      return repeats;
    },
    failNext(n: number) {
      failNext = n;
    },
    async start() {
      server = createServer(handle);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** A Slack incoming webhook that was revoked: Slack answers such posts 404 `no_service`. */
async function revokedSlack() {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(req.url ?? '');
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no_service');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${SLACK_PATH}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface TargetView {
  name: string;
  type: string;
  host: string;
  health: {
    state: string;
    status: number | null;
    message: string | null;
    lastDeliveryAt: string | null;
    retrying: { status: number | null; message: string } | null;
  };
  usedBy?: { fleet: string; file: string; line: number | null }[];
  secret?: string;
}

describe('notifications', () => {
  let cp: TestControlPlane;
  let other: TestControlPlane | undefined;
  let git: GitServer;
  let receiver: ReturnType<typeof webhookReceiver>;
  let slack: Awaited<ReturnType<typeof revokedSlack>>;
  const services: NotificationService[] = [];
  const unsubscribes: (() => void)[] = [];
  const events: GitfleetEvent[] = [];
  let agent: ReturnType<typeof openStream>;
  let credential = '';
  let sequence = 0;
  const rev = { c1: '', c2: '', c3: '', c4: '' };

  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | undefined | false> | T | undefined | false,
    timeoutMs = 60_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const result = await probe();
      if (result) return result as T;
      await sleep(200);
    }
    throw new Error(
      `timed out waiting for ${what}; accepted: ${JSON.stringify(receiver.accepted.map((d) => [d.event, d.body.count]))}; answers: ${JSON.stringify(receiver.answers)}`,
    );
  };
  const target = async (name: string) =>
    (await cp.api<TargetView>('GET', `/api/v1/notification-targets/${name}`)).body;
  const report = async (revision: string, phase: Phase) => {
    const desired = await agent.waitFor(`desired state at ${revision.slice(0, 7)}`, () =>
      agent.desired.find((d) => d.revision === revision),
    );
    await reportStatus(
      cp.grpcClient(),
      credential,
      ++sequence,
      fleetStatus(fleet, revision, desired.digest, phase),
    );
  };
  const push = async (files: Record<string, string | null>, message: string) => {
    const sha = await git.commit(fleet, files, message);
    assert.equal((await cp.api('POST', `/api/v1/fleets/${fleet}/sync`)).status < 300, true);
    return sha;
  };
  const deliveredOf = (type: string) => receiver.accepted.filter((d) => d.body.type === type);

  before(async () => {
    git = await startGitServer();
    receiver = webhookReceiver(await freePort(), SECRET);
    receiver.failNext(3);
    await receiver.start();
    slack = await revokedSlack();
    // Two replicas, each with the NotificationService the control plane runs: every event
    // reaches both, and each (event, target) is still delivered once.
    const notify = {
      GITFLEET_PUBLIC_URL: PUBLIC_URL,
      GITFLEET_NOTIFY_WINDOW_SECONDS: String(WINDOW_SECONDS),
      GITFLEET_NOTIFY_ATTEMPTS: '40',
      GITFLEET_NOTIFY_BACKOFF_MS: '500',
      GITFLEET_NOTIFY_MAX_BACKOFF_MS: '4000',
      GITFLEET_NOTIFY_TIMEOUT_SECONDS: '2',
      GITFLEET_NOTIFY_CONCURRENCY: '4',
    };
    cp = await startTestControlPlane({ redisUrl: env.redisUrl, env: notify });
    other = await startTestControlPlane({ redisUrl: env.redisUrl, env: notify, replicaOf: cp });
    services.push(cp.cp.notifications, other.cp.notifications);
    unsubscribes.push(await cp.cp.events.subscribe((e) => events.push(e)));
  });

  after(async () => {
    for (const u of unsubscribes) u();
    await other?.stop();
    agent?.stream.cancel();
    await cp?.stop();
    await receiver?.stop();
    await slack?.stop();
    await git?.stop();
  });

  it('keeps targets with their secrets sealed: the API shows the host only; admins write, viewers read', async () => {
    const created = await cp.api<TargetView>('POST', '/api/v1/notification-targets', {
      name: 'hook',
      type: 'webhook',
      url: receiver.url,
      secret: SECRET,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.secret, undefined, 'a secret given is not returned');
    const revoked = await cp.api<TargetView>('POST', '/api/v1/notification-targets', {
      name: 'revoked',
      type: 'slack',
      url: slack.url,
    });
    assert.equal(revoked.status, 201, JSON.stringify(revoked.body));

    const list = await cp.api<{ items: TargetView[] }>(
      'GET',
      '/api/v1/notification-targets',
      undefined,
      cp.viewerToken,
    );
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.items.map((t) => [t.name, t.type, t.host, t.health.state]),
      [
        ['hook', 'webhook', new URL(receiver.url).host, 'unknown'],
        ['revoked', 'slack', new URL(slack.url).host, 'unknown'],
      ],
    );
    const shown = JSON.stringify(list.body);
    for (const secret of [SECRET, SLACK_PATH, SLACK_PATH.split('/').pop()!, new URL(receiver.url).search]) {
      assert.ok(!shown.includes(secret), `${secret} is not shown`);
    }
    // Sealed in Redis too: the hash holds no URL and no secret in clear.
    const stored = JSON.stringify(await cp.cp.redis.hgetall(`${cp.prefix}:notify:target:{revoked}`));
    assert.ok(!stored.includes(SLACK_PATH) && /"url":"v1:/.test(stored), stored);

    const refused = await cp.api<{ code: string }>(
      'POST',
      '/api/v1/notification-targets',
      { name: 'other', type: 'slack', url: slack.url },
      cp.viewerToken,
    );
    assert.equal(refused.status, 403);
    const again = await cp.api<{ code: string }>('POST', '/api/v1/notification-targets', {
      name: 'hook',
      type: 'webhook',
      url: receiver.url,
    });
    assert.equal(again.status, 409);
    const withSecret = await cp.api<{ message: string }>('POST', '/api/v1/notification-targets', {
      name: 'other',
      type: 'slack',
      url: slack.url,
      secret: 'sixteen-chars-or-more',
    });
    assert.equal(withSecret.status, 400);
    assert.match(withSecret.body.message, /slack target takes no secret/);
    const notUrl = await cp.api<{ message: string }>('POST', '/api/v1/notification-targets', {
      name: 'other',
      type: 'webhook',
      url: 'hooks.example.com/xoxb-not-a-url-token',
    });
    assert.equal(notUrl.status, 400);
    assert.doesNotMatch(notUrl.body.message, /xoxb/, 'the value is not echoed');
    // A webhook without a secret gets one, shown this once.
    const generated = await cp.api<TargetView>('POST', '/api/v1/notification-targets', {
      name: 'generated',
      type: 'webhook',
      url: 'https://receiver.example.test/gitfleet',
    });
    assert.equal(generated.status, 201);
    assert.match(generated.body.secret ?? '', /^gfn_[A-Za-z0-9_-]{32}$/);
    assert.equal((await target('generated')).secret, undefined);
    // A key rotation's reencrypt seals a target's URL and secret again with the new key.
    const oldKey = decodeSecretKey(cp.secretKey)!;
    const newKey = randomBytes(32);
    const rotating = new NotificationTargets(cp.cp.redis, cp.prefix, new SecretBox(newKey, oldKey));
    assert.equal(await rotating.reseal('generated'), 2);
    assert.equal(await rotating.reseal('generated'), 0, 'a second run re-seals nothing');
    const opened = await new NotificationTargets(cp.cp.redis, cp.prefix, new SecretBox(newKey)).open(
      'generated',
    );
    assert.deepEqual(opened, {
      name: 'generated',
      type: 'webhook',
      url: 'https://receiver.example.test/gitfleet',
      secret: generated.body.secret,
    });
    assert.equal((await cp.api('DELETE', '/api/v1/notification-targets/generated')).status, 204);
    assert.equal((await cp.api('GET', '/api/v1/notification-targets/generated')).status, 404);
  });

  it('delivers through BullMQ, retrying the first deliveries the receiver answers with 500', async () => {
    rev.c1 = await git.createRepo(fleet, {
      'fleet.yaml': fleetYaml(),
      'manifests/cm.yaml': configMap('one'),
    });
    const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: cluster,
      labels: { notify: id, env: 'prod' },
    });
    assert.equal(reg.status, 201);
    ({ credential } = await registerAgent(cp.grpcClient(), reg.body.bootstrapToken));
    agent = openStream(cp.grpcClient(), credential);
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await report(rev.c1, Phase.PHASE_READY);

    const [complete] = await waitFor(
      'RolloutComplete delivered',
      () => deliveredOf('RolloutComplete').length > 0 && deliveredOf('RolloutComplete'),
    );
    assert.equal(complete!.event, 'RolloutComplete');
    assert.equal(complete!.body.fleet, fleet);
    assert.equal(complete!.body.stage, 'prod');
    assert.equal(complete!.body.revision, rev.c1);
    assert.equal(complete!.body.severity, 'info');
    assert.equal(complete!.body.count, 1);
    assert.equal(complete!.body.link, `${PUBLIC_URL}/api/v1/fleets/${fleet}`);
    assert.match(
      complete!.body.message,
      new RegExp(`^Rollout complete: fleet ${fleet}, stage prod, revision ${rev.c1.slice(0, 7)}`),
    );
    // Its idempotency key: the event's id and the target.
    assert.match(complete!.id, /^\d+-[0-9a-f]{12}\.hook$/);
    assert.equal(complete!.id, `${complete!.body.id}.hook`);
    // The receiver's 500s were retried under the same key.
    const statuses = receiver.answers.filter((a) => a.id === complete!.id).map((a) => a.status);
    assert.deepEqual(statuses, [500, 500, 500, 200]);
    // The worker records the answer right after the receiver sent it.
    await waitFor('the target marked ok', async () => (await target('hook')).health.state === 'ok');
  });

  it('loses nothing while the receiver is down for 30 s, and the API stays as fast', async () => {
    await receiver.stop();
    const downSince = Date.now();

    // A halted rollout: the agent reports Failed at the new revision.
    rev.c2 = await push({ 'manifests/cm.yaml': configMap('two') }, 'two');
    await report(rev.c2, Phase.PHASE_FAILED);
    await waitFor('RolloutHalted published', () => events.some((e) => e.type === 'RolloutHalted'));
    // A bad commit: an object without a kind.
    rev.c3 = await push({ 'manifests/bad.yaml': 'apiVersion: v1\nmetadata:\n  name: broken\n' }, 'bad');
    await waitFor('FleetError published', () =>
      events.some((e) => e.type === 'FleetError' && e.revision === rev.c3),
    );
    // A storm of drift corrections on the cluster, inside one coalescing window.
    while (Date.now() % (WINDOW_SECONDS * 1000) > 300) await sleep(20);
    for (let i = 1; i <= 12; i++) {
      await cp.cp.events.publish({
        type: 'DriftCorrected',
        fleet,
        cluster,
        stage: 'prod',
        revision: rev.c2,
        reason: `ConfigMap shop/web-config: data.greeting changed by kubectl-edit (#${i})`,
      });
    }

    // Deliveries fail (connection refused) and are retried; the API answers as usual.
    const retrying = await waitFor(
      'hook retrying',
      async () => (await target('hook')).health.retrying ?? undefined,
    );
    assert.match(retrying.message, /connection refused/);
    const latencies: number[] = [];
    // The whole outage, and at least ten rounds however long the steps above took.
    while (Date.now() - downSince < OUTAGE_MS || latencies.length < 40) {
      for (const url of [
        `/api/v1/fleets/${fleet}`,
        '/api/v1/notification-targets',
        '/api/v1/notification-targets/hook',
        '/api/v1/clusters',
      ]) {
        const started = performance.now();
        const res = await cp.api('GET', url);
        latencies.push(performance.now() - started);
        assert.equal(res.status, 200, url);
      }
      await sleep(1000);
    }
    assert.ok(latencies.length >= 40, `${latencies.length} calls measured`);
    assert.ok(
      Math.max(...latencies) < 500,
      `API latencies during the outage: max ${Math.max(...latencies).toFixed(0)} ms`,
    );
    assert.equal(deliveredOf('RolloutHalted').length, 0, 'nothing got through while the receiver was down');
    assert.ok(
      (await Promise.all(services.map((s) => s.backlog())))[0]! >= 3,
      'notifications wait in the queue',
    );

    await receiver.start();
    await waitFor(
      'every notification delivered after the outage',
      () =>
        deliveredOf('RolloutHalted').length === 1 &&
        deliveredOf('FleetError').length === 1 &&
        deliveredOf('DriftCorrected').reduce((n, d) => n + d.body.count, 0) === 12,
      90_000,
    );
    await sleep(2 * WINDOW_SECONDS * 1000);

    assert.deepEqual(receiver.rejected, [], 'every delivery was signed and fresh');
    assert.equal(receiver.repeats, 0, 'no idempotency key was delivered twice');
    assert.deepEqual(receiver.accepted.map((d) => d.body.type).sort(), [
      'DriftCorrected',
      'FleetError',
      'RolloutComplete',
      'RolloutHalted',
    ]);
    const [halted] = deliveredOf('RolloutHalted');
    assert.equal(halted!.body.severity, 'error');
    assert.equal(halted!.body.revision, rev.c2);
    assert.match(
      halted!.body.message,
      new RegExp(
        `^Rollout halted: fleet ${fleet}, stage prod, revision ${rev.c2.slice(0, 7)} — rollout of stage 'prod' to ${rev.c2.slice(0, 7)} halted: cluster '${cluster}' is Failed at revision ${rev.c2.slice(0, 7)} \\(${PUBLIC_URL}/api/v1/fleets/${fleet}\\)$`,
      ),
    );
    const [bad] = deliveredOf('FleetError');
    assert.equal(bad!.body.revision, rev.c3);
    assert.match(bad!.body.message, /^Fleet error: fleet .* — .*manifests\/bad\.yaml/);
    // The storm is one message with its count.
    const [drift] = deliveredOf('DriftCorrected');
    assert.equal(deliveredOf('DriftCorrected').length, 1);
    assert.equal(drift!.body.count, 12);
    assert.equal(drift!.body.severity, 'warning');
    assert.match(
      drift!.body.message,
      new RegExp(
        `^12 drift corrections on cluster ${cluster} in ${WINDOW_SECONDS} s: fleet ${fleet}, stage prod, revision ${rev.c2.slice(0, 7)} — last: ConfigMap shop/web-config: data.greeting changed by kubectl-edit \\(#12\\)`,
      ),
    );
    // Each key was attempted during the outage and then taken once.
    for (const d of receiver.accepted) {
      assert.equal(receiver.answers.filter((a) => a.id === d.id && a.status === 200).length, 1, d.id);
    }
    const health = (await target('hook')).health;
    assert.equal(health.state, 'ok');
    assert.equal(health.retrying, null);
    assert.ok(health.lastDeliveryAt);
  });

  it('marks a target that answers 4xx failing with its answer, secret-free, and does not retry it', async () => {
    const revoked = await waitFor('revoked failing', async () => {
      const t = await target('revoked');
      return t.health.state === 'failing' && t;
    });
    assert.equal(revoked.health.status, 404);
    assert.equal(revoked.health.message, 'HTTP 404 Not Found: no_service');
    assert.deepEqual(revoked.usedBy, [{ fleet, file: 'fleet.yaml', line: 8 }]);
    assert.ok(!JSON.stringify(revoked).includes(SLACK_PATH));
    // One FleetError, one attempt, from two replicas enqueueing it.
    assert.deepEqual(slack.requests, [SLACK_PATH]);
    const failed = await waitFor('NotificationFailed published', () =>
      events.find((e) => e.type === 'NotificationFailed' && e.target === 'revoked'),
    );
    assert.equal(failed.fleet, fleet);
    assert.match(
      failed.reason ?? '',
      /^target revoked did not take the notification of FleetError .*: HTTP 404 Not Found: no_service$/,
    );
    for (const e of events)
      assert.ok(!JSON.stringify(e).includes(SLACK_PATH.split('/').pop()!), 'no secret in events');
  });

  it('an unknown event type in notify: is a fleet error naming fleet.yaml and the line', async () => {
    rev.c4 = await push(
      { 'manifests/bad.yaml': null, 'fleet.yaml': fleetYaml('FleetError, RolloutHalted, RollotComplete') },
      'typo in notify',
    );
    const errors = await waitFor('the fleet error', async () => {
      const view = await cp.api<{
        head: string;
        errors: { code: string; file: string; line?: number; message: string }[];
      }>('GET', `/api/v1/fleets/${fleet}`);
      return view.body.head === rev.c4 && view.body.errors.length > 0 && view.body.errors;
    });
    assert.deepEqual(
      errors.map((e) => [e.code, e.file, e.line]),
      [['UnknownEventType', 'fleet.yaml', 7]],
    );
    assert.match(
      errors[0]!.message,
      /^fleet\.yaml:7: notify rule #1: unknown event type 'RollotComplete'; did you mean 'RolloutComplete'\?/,
    );
    // The bad commit is told by the rules in force (the last good revision's).
    await waitFor('the typo told', () =>
      deliveredOf('FleetError').some((d) => /RollotComplete/.test(d.body.message)),
    );
  });

  it('refuses to delete a target that rules in force name, unless forced', async () => {
    const refused = await cp.api<{ code: string; message: string }>(
      'DELETE',
      '/api/v1/notification-targets/revoked',
    );
    assert.equal(refused.status, 409);
    assert.match(
      refused.body.message,
      new RegExp(`named by the notify rules of fleet ${fleet} \\(fleet\\.yaml:8\\)`),
    );
    assert.equal((await cp.api('DELETE', '/api/v1/notification-targets/revoked?force=true')).status, 204);
    assert.equal((await cp.api('GET', '/api/v1/notification-targets/revoked')).status, 404);
    assert.equal((await cp.api('DELETE', '/api/v1/notification-targets/revoked')).status, 404);
  });
});
