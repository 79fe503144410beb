// Durable events (issue #15): every event is kept in Redis; the API pages through the history
// with filters, an SSE client that reconnects — to another replica — with Last-Event-ID gets
// exactly what it missed, the history survives a restart, and `gitfleet events` prints it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { runGitfleet } from '../src/gitfleet-cli.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');

type Event = { id: string; type: string; cluster?: string; time: string };

async function listen(cp: TestControlPlane): Promise<string> {
  await cp.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(cp.app.server.address() as AddressInfo).port}`;
}

/** An SSE client: collects events until closed; `lastId` is what it would resume after. */
function sse(url: string, token: string, lastEventId?: string) {
  const controller = new AbortController();
  const events: Event[] = [];
  const done = (async () => {
    const res = await fetch(`${url}/api/v1/events?type=ClusterRegistered`, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
      },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    let buffer = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += Buffer.from(chunk).toString();
      let cut = buffer.indexOf('\n\n');
      while (cut !== -1) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        const sseId = block.split('\n').find((l) => l.startsWith('id: '));
        if (data) {
          const e = JSON.parse(data.slice(6)) as Event;
          assert.equal(sseId?.slice(4), e.id, 'the SSE id is the event id');
          events.push(e);
        }
        cut = buffer.indexOf('\n\n');
      }
    }
  })().catch((err: Error) => {
    if (err.name !== 'AbortError') throw err;
  });
  return {
    events,
    close: async () => {
      controller.abort();
      await done;
    },
    async waitFor(n: number) {
      for (let i = 0; i < 200 && events.length < n; i++) await sleep(25);
      assert.ok(events.length >= n, `got ${events.length} of ${n} events`);
    },
  };
}

describe('the event history', () => {
  let a: TestControlPlane;
  let b: TestControlPlane;
  let urlA = '';
  let urlB = '';
  const register = (cp: TestControlPlane, name: string) =>
    cp.api('POST', '/api/v1/clusters', { name, labels: { history: id } });

  before(async () => {
    a = await startTestControlPlane({ redisUrl: env.redisUrl });
    b = await startTestControlPlane({ redisUrl: env.redisUrl, replicaOf: a });
    urlA = await listen(a);
    urlB = await listen(b);
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('pages through what happened, filtered, oldest first', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await register(a, `h${id}-${i}`)).status, 201);
    assert.equal(
      (await a.api('PATCH', `/api/v1/clusters/h${id}-0`, { labels: { history: id, tier: 'gold' } })).status,
      200,
    );
    const first = await b.api<{ items: Event[]; next: string | null }>(
      'GET',
      '/api/v1/events?type=ClusterRegistered&limit=2',
    );
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(
      first.body.items.map((e) => e.cluster),
      [`h${id}-0`, `h${id}-1`],
    );
    assert.ok(first.body.next);
    const second = await b.api<{ items: Event[]; next: string | null }>(
      'GET',
      `/api/v1/events?type=ClusterRegistered&limit=2&since=${first.body.next}`,
    );
    assert.deepEqual(
      second.body.items.map((e) => e.cluster),
      [`h${id}-2`],
    );
    assert.equal(second.body.next, null);
    const one = await a.api<{ items: Event[] }>('GET', `/api/v1/events?cluster=h${id}-0`);
    assert.deepEqual(
      one.body.items.map((e) => e.type),
      // The relabelling's audit is about the cluster too.
      ['ClusterRegistered', 'ClusterLabelsChanged', 'ApiAction'],
    );
    const bad = await a.api<{ code: string; message: string }>('GET', '/api/v1/events?since=yesterday');
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /since=yesterday is neither an event id/);
  });

  it('an SSE client that reconnects to the other replica with Last-Event-ID misses nothing', async () => {
    const onB = sse(urlB, b.adminToken);
    await sleep(200);
    await register(a, `h${id}-3`);
    await onB.waitFor(1);
    const lastSeen = onB.events.at(-1)!.id;
    await onB.close();
    // While nobody listens: two more registrations.
    await register(b, `h${id}-4`);
    await register(a, `h${id}-5`);
    const onA = sse(urlA, a.adminToken, lastSeen);
    await onA.waitFor(2);
    await register(a, `h${id}-6`);
    await onA.waitFor(3);
    await onA.close();
    assert.deepEqual(
      onA.events.map((e) => e.cluster),
      [`h${id}-4`, `h${id}-5`, `h${id}-6`],
      'exactly what was missed, then what came, in order',
    );
  });

  it('survives a restart of the control plane, and `gitfleet events` prints it and exits 0', async () => {
    await a.stop({ keepState: true });
    a = await startTestControlPlane({ redisUrl: env.redisUrl, restartOf: a });
    urlA = await listen(a);
    const after = await a.api<{ items: Event[] }>('GET', '/api/v1/events?type=ClusterRegistered&limit=1000');
    const ours = after.body.items.filter((e) => e.cluster?.startsWith(`h${id}-`));
    assert.equal(ours.length, 7);

    const run = await runGitfleet(
      ['events', '--since', '1h', '--type', 'ClusterRegistered'],
      urlA,
      a.adminToken,
    );
    assert.equal(run.code, 0, run.stderr);
    for (let i = 0; i < 7; i++)
      assert.match(run.stdout, new RegExp(`ClusterRegistered\\s+cluster=h${id}-${i}\\b`));
  });
});
