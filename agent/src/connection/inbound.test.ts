import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type BundleChunk, Compression } from '@gitfleet/proto';
import { BundleError, ChunkAssembler } from './inbound.ts';

const objects = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'x' } }];
const raw = Buffer.from(JSON.stringify({ objects }));
const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
const gz = gzipSync(raw);

function chunks(data: Buffer, size: number, over: Partial<BundleChunk> = {}): BundleChunk[] {
  const total = Math.ceil(data.length / size);
  return Array.from({ length: total }, (_, index) => ({
    sequence: 7,
    fleet: 'shop',
    stage: 'dev',
    revision: 'abc',
    bundleDigest: digest,
    index,
    total,
    compression: Compression.COMPRESSION_GZIP,
    uncompressedSize: raw.length,
    data: data.subarray(index * size, (index + 1) * size),
    ...over,
  }));
}

test('reassembles a chunked, compressed bundle and checks its digest', () => {
  const a = new ChunkAssembler();
  const parts = chunks(gz, 16);
  assert.ok(parts.length > 2);
  const results = parts.map((c) => a.accept(c));
  assert.deepEqual(results.slice(0, -1), new Array(parts.length - 1).fill(undefined));
  assert.deepEqual(results.at(-1)?.objects, objects);
  assert.equal(results.at(-1)?.sequence, 7);
});

test('refuses a bundle whose content does not match its digest', () => {
  const a = new ChunkAssembler();
  const bad = chunks(gzipSync(Buffer.from(JSON.stringify({ objects: [] }))), 1 << 20);
  assert.throws(() => a.accept(bad[0]!), BundleError);
});

test('a revision-only update carries no payload', () => {
  const d = new ChunkAssembler().accept({ ...chunks(gz, 1 << 20)[0]!, total: 0, data: Buffer.alloc(0) });
  assert.equal(d?.objects, null);
  assert.equal(d?.revision, 'abc');
});

test('out-of-order chunks are an error, and a newer sequence supersedes a half-received one', () => {
  const a = new ChunkAssembler();
  const parts = chunks(gz, 16);
  assert.throws(() => a.accept(parts[1]!), /without its first chunk/);
  a.accept(parts[0]!);
  const newer = chunks(gz, 16, { sequence: 8 });
  const done = newer.map((c) => a.accept(c)).at(-1);
  assert.equal(done?.sequence, 8);
});
