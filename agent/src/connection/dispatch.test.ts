import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type BundleChunk, Compression, type ConnectRequest, type ConnectResponse } from '@gitfleet/proto';
import pino from 'pino';
import { StreamDispatcher } from './dispatch.ts';
import type { DesiredState } from './inbound.ts';

function bundle(name: string) {
  const raw = Buffer.from(
    JSON.stringify({
      objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'x' } }],
    }),
  );
  return { raw, gz: gzipSync(raw), digest: `sha256:${createHash('sha256').update(raw).digest('hex')}` };
}

function chunkMessages(
  sequence: number,
  b: ReturnType<typeof bundle>,
  size: number,
  over: Partial<BundleChunk> = {},
): ConnectResponse[] {
  const total = Math.ceil(b.gz.length / size);
  return Array.from({ length: total }, (_, index) => ({
    kind: {
      $case: 'chunk' as const,
      value: {
        sequence,
        fleet: 'shop',
        stage: 'dev',
        revision: `rev-${sequence}`,
        bundleDigest: b.digest,
        index,
        total,
        compression: Compression.COMPRESSION_GZIP,
        uncompressedSize: b.raw.length,
        data: b.gz.subarray(index * size, (index + 1) * size),
        options: undefined,
        ...over,
      },
    },
  }));
}

function harness() {
  const applied: DesiredState[] = [];
  const sent: ConnectRequest[] = [];
  const logs: { reason?: string; msg: string; fleet?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const dispatcher = new StreamDispatcher({
    logger,
    send: (msg) => sent.push(msg),
    onSynced: () => {},
    handlers: {
      running: () => [],
      onDesired: async (d) => void applied.push(d),
      onRemoved: async () => {},
      onRevoked: () => {},
    },
  });
  const acks = () => sent.flatMap((m) => (m.kind?.$case === 'ack' ? [m.kind.value.sequence] : []));
  return { dispatcher, applied, acks, logs };
}

test('a corrupt desired state is neither applied nor acked; the fleet keeps the last good one', async () => {
  const h = harness();
  const good = bundle('v1');
  for (const m of chunkMessages(1, good, 32)) await h.dispatcher.handle(m);
  assert.deepEqual(
    h.applied.map((d) => d.revision),
    ['rev-1'],
  );
  assert.deepEqual(h.acks(), [1]);

  const next = bundle('v2');
  const broken: ConnectResponse[][] = [
    // wrong digest
    chunkMessages(2, next, 32, { bundleDigest: good.digest }),
    // a chunk lost in the middle
    chunkMessages(3, next, 32).filter((_, i) => i !== 1),
    // bad gzip
    chunkMessages(4, { ...next, gz: Buffer.from('garbage that is not gzip') }, 1 << 20),
    // a gzip bomb declared as a small bundle
    chunkMessages(5, { ...next, gz: gzipSync(Buffer.alloc(8 * 1024 * 1024)) }, 1 << 20),
  ];
  for (const messages of broken) for (const m of messages) await h.dispatcher.handle(m);
  assert.deepEqual(
    h.applied.map((d) => d.revision),
    ['rev-1'],
    'nothing of a corrupt desired state reached the fleet',
  );
  assert.deepEqual(h.acks(), [1], 'nothing corrupt was acked');
  assert.equal(h.dispatcher.lastSequence, 1);
  const reasons = h.logs
    .filter((l) => l.msg === 'desired state refused; the fleet keeps running what it had')
    .map((l) => l.reason ?? '');
  assert.ok(reasons.some((r) => /does not match its digest/.test(r)));
  assert.ok(reasons.some((r) => /a chunk is missing/.test(r)));
  assert.ok(reasons.some((r) => /not valid gzip/.test(r)));
  assert.ok(reasons.some((r) => /decompresses to more than/.test(r)));
  assert.ok(h.logs.every((l) => l.fleet === undefined || l.fleet === 'shop'));

  // The stream goes on: the next good desired state is applied and acked.
  for (const m of chunkMessages(6, next, 32)) await h.dispatcher.handle(m);
  assert.deepEqual(
    h.applied.map((d) => d.revision),
    ['rev-1', 'rev-6'],
  );
  assert.deepEqual(h.acks(), [1, 6]);
});
