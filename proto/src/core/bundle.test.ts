import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BundleError,
  bundleDigest,
  compressBundle,
  decodeBundle,
  decompressBundle,
  encodeBundle,
} from './bundle.ts';

const objects = [{ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'a', namespace: 'x' }, data: {} }];

test('what is encoded and compressed decodes back under its digest', () => {
  const bytes = encodeBundle(objects);
  assert.equal(
    new TextDecoder().decode(bytes),
    '{"objects":[{"apiVersion":"v1","data":{},"kind":"ConfigMap","metadata":{"name":"a","namespace":"x"}}]}',
  );
  const received = decompressBundle(compressBundle(bytes), bytes.length);
  assert.deepEqual(decodeBundle(received, bundleDigest(bytes), 'shop'), objects);
});

test('bytes that do not match the digest are refused as such', () => {
  const bytes = encodeBundle(objects);
  assert.throws(
    () => decodeBundle(bytes, bundleDigest(encodeBundle([])), 'shop'),
    (e: unknown) => e instanceof BundleError && e.code === 'DigestMismatch',
  );
});

test('decompression stops at the limit', () => {
  assert.throws(
    () => decompressBundle(compressBundle(new Uint8Array(4096)), 1024),
    (e: unknown) => (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE',
  );
});
