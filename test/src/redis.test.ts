import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from './redis.ts';

function connectError(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('startRedis (default: no persistence)', () => {
  let redis: RedisServer;
  let client: Redis;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  test('answers PING on a loopback URL', async () => {
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    assert.equal(await client.ping(), 'PONG');
  });

  test('persists nothing', async () => {
    assert.deepEqual(await client.config('GET', 'save'), ['save', '']);
    assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'no']);
    assert.deepEqual(await client.config('GET', 'dir'), ['dir', redis.dir]);
  });

  test('runs a BullMQ job round trip', async () => {
    // Workers block on the connection, which BullMQ only allows with unlimited retries.
    const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
    const queue = new Queue('roundtrip', { connection });
    const events = new QueueEvents('roundtrip', { connection });
    const worker = new Worker<{ n: number }, { doubled: number }>(
      'roundtrip',
      async (job) => ({ doubled: job.data.n * 2 }),
      { connection },
    );
    try {
      await events.waitUntilReady();
      const job = await queue.add('double', { n: 21 });
      const result = await job.waitUntilFinished(events, 10_000);
      assert.deepEqual(result, { doubled: 42 });
      const stored = await queue.getJob(job.id!);
      assert.deepEqual(stored?.returnvalue, { doubled: 42 });
      assert.equal(await stored?.getState(), 'completed');
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});

describe('startRedis({ aof: true })', () => {
  let redis: RedisServer;
  let client: Redis;
  before(async () => {
    redis = await startRedis({ aof: true });
    client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  test('writes every command to the append-only file on disk', async () => {
    await client.set('gitfleet:aof-probe', 'written-through');
    // Redis 7 keeps a manifest plus base and incremental files under appenddirname.
    const aofDir = join(redis.dir, 'appendonlydir');
    const files = await readdir(aofDir);
    const incr = files.filter((f) => f.endsWith('.incr.aof'));
    assert.ok(incr.length > 0, `no incremental AOF in ${aofDir}: ${files.join(', ')}`);
    const contents = (await Promise.all(incr.map((f) => readFile(join(aofDir, f), 'utf8')))).join('');
    assert.ok(contents.includes('gitfleet:aof-probe'), 'key missing from the AOF');
    assert.ok(contents.includes('written-through'), 'value missing from the AOF');
  });
});

describe('RedisServer.stop()', () => {
  test('closes the port and removes the temp dir', async () => {
    const redis = await startRedis();
    try {
      assert.equal(await connectError(redis.port), 'connected');
    } finally {
      await redis.stop();
    }
    assert.equal(await connectError(redis.port), 'ECONNREFUSED');
    await assert.rejects(readdir(redis.dir), { code: 'ENOENT' });
    // A second stop (e.g. from a shared teardown) must not throw.
    await redis.stop();
  });
});
