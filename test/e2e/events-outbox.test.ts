// Events written by scripts reach the history even when their writer dies in between (issue
// #15): a replica started with GITFLEET_FAILPOINT=after-event-script kills itself (SIGKILL) right
// after the first script that wrote events, before recording them; another replica's sweeper
// records them, each once. Then the outbox against real Redis, in process: nothing is taken
// before the grace, and a writer stalled past the grace racing sweepers still records once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { encodeEvent } from '../../control-plane/src/events.ts';
import { EventLog } from '../../control-plane/src/history/event-log.ts';
import { OUTBOX_LUA, Outbox, outboxField } from '../../control-plane/src/history/outbox.ts';
import { keys } from '../../control-plane/src/store/keys.ts';
import { script } from '../../control-plane/src/store/script.ts';
import {
  type ControlPlaneProcess,
  createInstallation,
  type Installation,
  removeInstallation,
  startControlPlaneProcess,
} from '../src/control-plane-process.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { waitFor } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const GRACE_MS = 1000;

type Heard = { id: string; type: string; cluster?: string; fleet?: string };
type Recorded = { id: string; eventId?: string; type: string; cluster?: string };

/** Every event of the history, oldest first. */
async function history(cp: ControlPlaneProcess): Promise<Recorded[]> {
  const out: Recorded[] = [];
  let since = '';
  for (;;) {
    const page = await cp.api<{ items: Recorded[]; next: string | null }>(
      'GET',
      `/api/v1/events?limit=1000${since ? `&since=${since}` : ''}`,
    );
    assert.equal(page.status, 200, JSON.stringify(page.body));
    out.push(...page.body.items);
    if (!page.body.next) return out;
    since = page.body.next;
  }
}

describe('a writer killed between its script and the history', () => {
  let git: GitServer;
  let installation: Installation;
  let redis: Redis;
  let subscriber: Redis;
  let doomed: ControlPlaneProcess | undefined;
  let survivor: ControlPlaneProcess | undefined;
  const heard: Heard[] = [];

  before(async () => {
    git = await startGitServer();
    installation = await createInstallation({
      redisUrl: env.redisUrl,
      env: { GITFLEET_FLEET_LEASE_SECONDS: '3', GITFLEET_EVENTS_OUTBOX_GRACE_MS: String(GRACE_MS) },
    });
    redis = new Redis(env.redisUrl);
    subscriber = new Redis(env.redisUrl);
    subscriber.on('message', (_channel: string, message: string) => heard.push(JSON.parse(message) as Heard));
    await subscriber.subscribe(`${installation.prefix}:channel:events`);
  });

  after(async () => {
    subscriber?.disconnect();
    redis?.disconnect();
    await doomed?.stop();
    await survivor?.stop();
    if (installation) removeInstallation(installation);
    await git?.stop();
  });

  it('dies right after the script; another replica records what it published, once', async () => {
    const k = keys(installation.prefix);
    const cluster = `ob${id}-0`;
    const fleet = `outbox-${id}`;
    doomed = await startControlPlaneProcess(
      { ...installation, env: { ...installation.env, GITFLEET_FAILPOINT: 'after-event-script' } },
      'doomed',
    );
    const reg = await doomed.api('POST', '/api/v1/clusters', { name: cluster, labels: { outbox: id } });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    await git.createRepo(fleet, {
      'fleet.yaml': `stages:\n  - name: prod\n    selector: { matchLabels: { outbox: "${id}" } }\n`,
      'manifests/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outbox\n  namespace: default\ndata:\n  v: "1"\n',
    });
    // The first pass delivers the fleet to the cluster: its script announces DesiredStateChanged
    // and the process dies before recording it, so the request gets no answer.
    await assert.rejects(
      doomed.api('POST', '/api/v1/fleets', {
        name: fleet,
        repo: git.repoUrl(fleet),
        credentials: { username: git.username, password: git.password },
      }),
    );
    await waitFor('the doomed replica to be gone', async () => doomed!.proc.exited, 10_000, 20);
    assert.equal(doomed.proc.child.signalCode, 'SIGKILL', doomed.proc.tail());

    // What the script left: the event in the cluster's outbox (the state is written, the event
    // was published) and the outbox in the index; not in the history.
    const delivered = await waitFor('DesiredStateChanged on the channel', async () =>
      heard.find((e) => e.type === 'DesiredStateChanged' && e.cluster === cluster),
    );
    assert.ok(await redis.hget(k.desired(cluster), fleet), 'the desired state is written');
    assert.deepEqual(Object.keys(await redis.hgetall(k.outbox(cluster))), [delivered.id]);
    assert.notEqual(await redis.zscore(k.outboxes(), k.outbox(cluster)), null);
    const streamed = await redis.xrange(k.events(), '-', '+');
    assert.ok(!streamed.some(([, fields]) => fields[1]?.includes(delivered.id)), 'not yet in the history');

    survivor = await startControlPlaneProcess(installation, 'survivor');
    const found = await waitFor(
      'the survivor to record it',
      async () => (await history(survivor!)).find((e) => e.eventId === delivered.id),
      30_000,
      200,
    );
    assert.equal(found.type, 'DesiredStateChanged');
    // Sweeps go on, and the survivor takes the fleet over and plans it again (the desired state
    // is unchanged: no new DesiredStateChanged): nothing is recorded a second time.
    await waitFor('the survivor to take the fleet over', async () => {
      const f = await survivor!.api<{ head?: string | null }>('GET', `/api/v1/fleets/${fleet}`);
      return f.status === 200 && Number(await redis.hget(k.fleet(fleet), 'passes')) >= 1;
    });
    await sleep(3 * GRACE_MS);
    const all = await history(survivor);
    for (const e of heard) {
      assert.equal(all.filter((r) => r.eventId === e.id).length, 1, `${e.type} ${e.id} recorded once`);
    }
    assert.equal(all.filter((r) => r.type === 'DesiredStateChanged' && r.cluster === cluster).length, 1);
    assert.equal(await redis.exists(k.outbox(cluster), k.fleetOutbox(fleet)), 0, 'the outboxes are empty');
    await waitFor('the index to forget them', async () => (await redis.zcard(k.outboxes())) === 0, 10_000);
  });
});

describe('the outbox on real Redis', () => {
  const prefix = `t-${randomBytes(6).toString('hex')}`;
  const k = keys(prefix);
  let redis: Redis;
  let log: EventLog;
  const channel = `${prefix}:channel:events`;
  // What a writer's script does with its event (no state: only the outbox and the channel).
  const announce = script(`${OUTBOX_LUA}
local reply = outbox_found(KEYS[1], {1})
outbox_publish(KEYS[1], ARGV[1], ARGV[2])
return reply
`);
  const outbox = () => new Outbox(redis, k.outboxes(), log, { graceMs: GRACE_MS });
  const recorded = async (eventId: string) =>
    (await log.page({ limit: 1000 })).items.filter((e) => e.eventId === eventId).length;

  before(() => {
    redis = new Redis(env.redisUrl);
    log = new EventLog(
      redis,
      { stream: k.events(), recorded: k.recorded() },
      { maxCount: 1000, maxAgeMs: 3600_000 },
    );
  });

  after(async () => {
    const ours = await redis.keys(`${prefix}:*`);
    if (ours.length > 0) await redis.del(...ours);
    redis.disconnect();
  });

  it('records a writer’s event right after its script, and leaves nothing behind', async () => {
    const key = k.outbox(`w${id}`);
    const json = encodeEvent({ type: 'StatusChanged', cluster: `w${id}` });
    await outbox().write(
      [key],
      () => announce(redis, [key], [channel, json]) as Promise<string[]>,
      (reply) => [{ key, events: [json], found: reply.slice(1) }],
    );
    assert.equal(await recorded(outboxField(json)), 1);
    assert.equal(await redis.exists(key), 0);
    assert.notEqual(await redis.zscore(k.outboxes(), key), null, 'indexed until a sweeper forgets it');
  });

  it('a sweeper takes what a dead writer left only after the grace, and forgets the outbox', async () => {
    const key = k.outbox(`d${id}`);
    const json = encodeEvent({ type: 'StatusChanged', cluster: `d${id}` });
    // The writer: its touch and its script, then nothing (it died).
    await Promise.all([
      redis.zadd(k.outboxes(), 'GT', Date.now(), key),
      announce(redis, [key], [channel, json]),
    ]);
    const sweeper = outbox();
    assert.equal((await sweeper.sweep()).recorded, 0, 'not before the grace');
    assert.equal(await recorded(outboxField(json)), 0);
    await sleep(GRACE_MS + 100);
    const swept = await sweeper.sweep();
    assert.ok(swept.recorded >= 1, JSON.stringify(swept));
    assert.equal(await recorded(outboxField(json)), 1);
    assert.equal(await redis.exists(key), 0);
    assert.equal(await redis.zscore(k.outboxes(), key), null, 'forgotten once empty');
  });

  it('the next writer of an outbox records what a dead one left there', async () => {
    const key = k.outbox(`n${id}`);
    const left = encodeEvent(
      { type: 'StatusChanged', cluster: `n${id}` },
      new Date(Date.now() - 2 * GRACE_MS),
    );
    await announce(redis, [key], [channel, left]);
    const json = encodeEvent({ type: 'StatusChanged', cluster: `n${id}` });
    await outbox().write(
      [key],
      () => announce(redis, [key], [channel, json]) as Promise<string[]>,
      (reply) => [{ key, events: [json], found: reply.slice(1) }],
    );
    assert.equal(await recorded(outboxField(left)), 1);
    assert.equal(await recorded(outboxField(json)), 1);
    assert.equal(await redis.exists(key), 0);
  });

  it('a writer stalled past the grace and two sweepers at once: the event is recorded once', async () => {
    const key = k.outbox(`s${id}`);
    const json = encodeEvent({ type: 'StatusChanged', cluster: `s${id}` });
    const sweepers = [outbox(), outbox()];
    const writing = outbox().write(
      [key],
      async () => {
        const reply = (await announce(redis, [key], [channel, json])) as string[];
        // The writer's process stalls here (a long GC, a blocked loop) while sweepers run.
        await sleep(GRACE_MS + 200);
        await Promise.all(sweepers.map((s) => s.sweep()));
        assert.equal(await recorded(outboxField(json)), 1, 'the sweepers recorded it');
        return reply;
      },
      (reply) => [{ key, events: [json], found: reply.slice(1) }],
    );
    await writing;
    assert.equal(await recorded(outboxField(json)), 1, 'the writer, late, did not record it again');
    assert.equal(await redis.exists(key), 0);
  });
});
