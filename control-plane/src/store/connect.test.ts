import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { loadConfig } from '../config.ts';
import { isRedisUnavailable } from './availability.ts';
import { bullConnection, bullPrefix, bullQueueConnection } from './bull.ts';
import { connectRedis, duplicateRedis, isCluster, parseClusterNodes, parseSentinels } from './connect.ts';

const KEY = { GITFLEET_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
const target = (over: Partial<Parameters<typeof connectRedis>[0]> = {}) => ({
  url: 'redis://127.0.0.1:1',
  sentinels: [],
  sentinelMaster: 'gitfleet',
  clusterNodes: [],
  password: undefined,
  sentinelPassword: undefined,
  ...over,
});

describe('Redis targets', () => {
  it('host:port lists name the variable and the entry to fix', () => {
    assert.deepEqual(parseClusterNodes(' a:6379, b:7000 ,'), ['a:6379', 'b:7000']);
    assert.deepEqual(parseClusterNodes(undefined), []);
    assert.throws(() => parseClusterNodes('a:6379,b'), /GITFLEET_REDIS_CLUSTER_NODES: 'b' is not host:port/);
    assert.throws(() => parseSentinels('s:99999'), /GITFLEET_REDIS_SENTINELS: 's:99999' is not host:port/);
  });

  it('the configuration: one server, Sentinel or Cluster, and WAIT for a replica with either of the last two', () => {
    const single = loadConfig(KEY);
    assert.deepEqual(
      [single.redis.sentinels, single.redis.clusterNodes, single.redisWaitReplicas],
      [[], [], 0],
    );
    const cluster = loadConfig({
      ...KEY,
      GITFLEET_REDIS_CLUSTER_NODES: 'r0:6379,r1:6379',
      GITFLEET_REDIS_PASSWORD: 'p',
    });
    assert.deepEqual(cluster.redis.clusterNodes, ['r0:6379', 'r1:6379']);
    assert.equal(cluster.redis.password, 'p');
    assert.equal(cluster.redisWaitReplicas, 1);
    assert.equal(
      loadConfig({ ...KEY, GITFLEET_REDIS_CLUSTER_NODES: 'r0:6379', GITFLEET_REDIS_WAIT_REPLICAS: '0' })
        .redisWaitReplicas,
      0,
    );
    assert.throws(
      () =>
        loadConfig({ ...KEY, GITFLEET_REDIS_CLUSTER_NODES: 'r0:6379', GITFLEET_REDIS_SENTINELS: 's:26379' }),
      /GITFLEET_REDIS_SENTINELS and GITFLEET_REDIS_CLUSTER_NODES are both set/,
    );
  });

  it('a Cluster: client-wide options on the Cluster, the rest (password) on each node; primaries only', () => {
    const redis = connectRedis(target({ clusterNodes: ['h0:7000', 'h1:7001'], password: 'pw' }), {
      lazyConnect: true,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 3,
    });
    try {
      assert.ok(isCluster(redis));
      assert.equal(redis.options.enableAutoPipelining, true);
      assert.equal(redis.options.scaleReads, 'master');
      assert.equal(redis.options.redisOptions?.password, 'pw');
      assert.equal(redis.options.redisOptions?.maxRetriesPerRequest, 3);
      assert.equal(redis.options.redisOptions?.enableAutoPipelining, undefined);

      const subscriber = duplicateRedis(redis, { enableAutoPipelining: false }) as Cluster;
      assert.ok(subscriber instanceof Cluster);
      assert.equal(subscriber.options.enableAutoPipelining, false);
      assert.equal(subscriber.options.redisOptions?.password, 'pw', 'the nodes’ options are kept');
      subscriber.disconnect();

      // BullMQ's keys in one slot on a Cluster, given Cluster instances; its workers' never
      // give up on a command (BullMQ refuses a blocking connection that would).
      assert.equal(bullPrefix(redis, 'gitfleet'), '{gitfleet:bull}');
      const worker = bullConnection(redis);
      const template = worker.connection as Cluster;
      assert.ok(template instanceof Cluster);
      assert.equal(template.options.redisOptions?.maxRetriesPerRequest, null);
      assert.equal(template.options.enableAutoPipelining, false);
      assert.equal(template.status, 'wait', 'never connected itself: BullMQ connects its duplicates');
      const queue = bullQueueConnection(redis);
      assert.equal(queue.cluster, queue.connection);
      void worker.close();
      void queue.close();
    } finally {
      redis.disconnect();
    }
  });

  it('a Cluster that is down or lost slots is "Redis unavailable" (503, UNAVAILABLE), not an internal error', () => {
    const clusterDown = Object.assign(new Error('CLUSTERDOWN The cluster is down'), { name: 'ReplyError' });
    const noSlots = Object.assign(new Error('Failed to refresh slots cache.'), {
      name: 'ClusterAllFailedError',
    });
    for (const err of [
      clusterDown,
      noSlots,
      new Error("Cluster isn't ready and enableOfflineQueue options is false"),
    ]) {
      assert.ok(isRedisUnavailable(err), err.message);
    }
    assert.ok(
      !isRedisUnavailable(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')),
    );
  });

  it('one server keeps the prefix existing installations have their queues under, and options for BullMQ', () => {
    const redis = connectRedis(target(), { lazyConnect: true, enableAutoPipelining: true });
    try {
      assert.ok(redis instanceof Redis);
      assert.equal(bullPrefix(redis, 'gitfleet'), 'gitfleet:bull');
      const worker = bullConnection(redis);
      assert.ok(!(worker.connection instanceof Redis), 'options: BullMQ owns the connections it makes');
      assert.equal((worker.connection as { maxRetriesPerRequest?: null }).maxRetriesPerRequest, null);
      assert.equal(bullQueueConnection(redis).cluster, undefined);
    } finally {
      redis.disconnect();
    }
  });
});
