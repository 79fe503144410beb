import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blobText } from './mirror.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

test('UTF-8 text within the limit is read as is (a byte-order mark included)', () => {
  assert.deepEqual(blobText('m/a.yaml', bytes('kind: ConfigMap\n'), 100), {
    ok: true,
    text: 'kind: ConfigMap\n',
  });
  const bom = blobText('m/a.yaml', new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), 100);
  assert.equal(bom.ok, true);
});

test('a file over the limit is refused with its size, the limit and the setting', () => {
  const r = blobText('m/big.yaml', new Uint8Array(2048).fill(0x61), 1024);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.problem.code, 'FileTooLarge');
  assert.equal(r.problem.file, 'm/big.yaml');
  assert.match(
    r.problem.message,
    /^m\/big\.yaml: is 2048 bytes, over the limit of 1024 per file \(GITFLEET_GIT_MAX_FILE_BYTES\)/,
  );
});

test('binary content is refused as binary', () => {
  const r = blobText('m/logo.yaml', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]), 1024);
  assert.equal(!r.ok && r.problem.code, 'BinaryFile');
});

test('text in another encoding is refused with the line and offset of the first bad byte', () => {
  // "caf\xe9" in Latin-1 on line 3.
  const latin1 = new Uint8Array([...bytes('a: 1\nb: 2\nc: caf'), 0xe9, 0x0a]);
  const r = blobText('m/latin1.yaml', latin1, 1024);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.problem.code, 'NotUtf8');
  assert.equal(r.problem.line, 3);
  assert.match(r.problem.message, /^m\/latin1\.yaml:3: is not UTF-8 text \(invalid byte 0xe9 at offset 16\)/);
  // Cut off in the middle of a character at the very end.
  const cut = blobText('m/cut.yaml', new Uint8Array([...bytes('a: '), 0xc3]), 1024);
  assert.equal(!cut.ok && cut.problem.code, 'NotUtf8');
});
