import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type BundleChunk, Compression } from '@gitfleet/proto';
import { BundleError } from '@gitfleet/proto/core';
import { ChunkAssembler } from './inbound.ts';

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

test('a wrong digest is refused with a clear error, and the next bundle is accepted', () => {
  const a = new ChunkAssembler();
  const parts = chunks(gz, 16, { bundleDigest: `sha256:${'0'.repeat(64)}` });
  for (const c of parts.slice(0, -1)) assert.equal(a.accept(c), undefined);
  assert.throws(() => a.accept(parts.at(-1)!), /does not match its digest.*not applied/);
  const good = chunks(gz, 16, { sequence: 8 })
    .map((c) => a.accept(c))
    .at(-1);
  assert.deepEqual(good?.objects, objects);
});

test('a payload that is not gzip is refused as such', () => {
  const a = new ChunkAssembler();
  const [only] = chunks(Buffer.from('this is not gzip at all'), 1 << 20);
  assert.throws(
    () => a.accept(only!),
    (err: Error) => err instanceof BundleError && /is not valid gzip.*not applied/.test(err.message),
  );
  // Truncated gzip (the end of the stream lost) is refused too.
  const [cut] = chunks(gz.subarray(0, gz.length - 8), 1 << 20);
  assert.throws(() => new ChunkAssembler().accept(cut!), BundleError);
});

test('a missing chunk is refused; nothing of that desired state is returned', () => {
  const a = new ChunkAssembler();
  const parts = chunks(gz, 16);
  assert.ok(parts.length >= 4);
  assert.equal(a.accept(parts[0]!), undefined);
  assert.equal(a.accept(parts[1]!), undefined);
  assert.throws(() => a.accept(parts[3]!), /chunk 3 arrived out of order \(expected 2\): a chunk is missing/);
  // What follows of the broken sequence is refused too, not stitched onto something else.
  assert.throws(() => a.accept(parts[4] ?? parts[3]!), /without its first chunk/);
});

test('chunks that do not belong together are refused', () => {
  const a = new ChunkAssembler();
  const parts = chunks(gz, 16);
  a.accept(parts[0]!);
  assert.throws(() => a.accept({ ...parts[1]!, total: parts[1]!.total + 5 }), /does not belong with chunk 0/);
});

test('a gzip bomb is cut off at the declared size and at the agent limit', () => {
  // 64 MiB of zeros gzip to about 64 KiB.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  assert.ok(bomb.length < 128 * 1024);
  // Declared small: decompression stops at the declared size.
  const lying = chunks(bomb, 1 << 20, { uncompressedSize: raw.length });
  assert.throws(() => new ChunkAssembler().accept(lying[0]!), /decompresses to more than \d+ bytes/);
  // Declared honestly but over the limit: refused before decompressing anything.
  const honest = chunks(bomb, 1 << 20, { uncompressedSize: 64 * 1024 * 1024 });
  assert.throws(
    () => new ChunkAssembler({ maxBundleBytes: 16 * 1024 * 1024 }).accept(honest[0]!),
    /is 67108864 bytes, over the agent's limit of 16777216/,
  );
  // Not declared: the limit still holds.
  const undeclared = chunks(bomb, 1 << 20, { uncompressedSize: 0 });
  assert.throws(
    () => new ChunkAssembler({ maxBundleBytes: 16 * 1024 * 1024 }).accept(undeclared[0]!),
    /decompresses to more than 16777216 bytes/,
  );
});

test('a bundle whose size differs from the declared one is refused', () => {
  const [only] = chunks(gz, 1 << 20, { uncompressedSize: raw.length + 1 });
  assert.throws(() => new ChunkAssembler().accept(only!), /were declared/);
});

test('the compressed chunks themselves are bounded', () => {
  const a = new ChunkAssembler({ maxBundleBytes: 1024 });
  const big = Buffer.alloc(1024 * 1024 + 4096);
  const parts = chunks(big, 512 * 1024, { uncompressedSize: 1000 });
  assert.equal(a.accept(parts[0]!), undefined);
  assert.equal(a.accept(parts[1]!), undefined);
  assert.throws(() => a.accept(parts[2]!), /add up to more than the agent's limit/);
});

test('a bundle that is not JSON is refused with a BundleError', () => {
  const junk = Buffer.from('{not json');
  const junkDigest = `sha256:${createHash('sha256').update(junk).digest('hex')}`;
  const [only] = chunks(gzipSync(junk), 1 << 20, { bundleDigest: junkDigest, uncompressedSize: junk.length });
  assert.throws(() => new ChunkAssembler().accept(only!), /is not JSON/);
});
