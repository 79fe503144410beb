import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser } from './sse.ts';

describe('SseParser', () => {
  it('reads events as /api/v1/events writes them, skipping comments', () => {
    const p = new SseParser();
    const events = p.push(
      ': connected\n\nevent: ClusterRegistered\ndata: {"type":"ClusterRegistered","cluster":"a"}\n\n: keepalive\n\n',
    );
    assert.deepEqual(events, [
      { event: 'ClusterRegistered', data: '{"type":"ClusterRegistered","cluster":"a"}' },
    ]);
  });

  it('handles chunks split anywhere, including inside \\r\\n', () => {
    const stream = 'event: A\r\ndata: one\r\n\r\nevent: B\r\ndata: two\r\ndata: three\r\n\r\n';
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(stream.slice(0, cut)), ...p.push(stream.slice(cut))];
      assert.deepEqual(
        got,
        [
          { event: 'A', data: 'one' },
          { event: 'B', data: 'two\nthree' },
        ],
        `cut at ${cut}`,
      );
    }
  });

  it('defaults the event name to message, keeps ids, ignores unknown fields and empty events', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('retry: 5\nid: 7\ndata:x\n\nevent: lonely\n\n'), [
      { event: 'message', data: 'x', id: '7' },
    ]);
    assert.deepEqual(p.push('data: y\n\n'), [{ event: 'message', data: 'y', id: '7' }]);
  });

  it('waits for the blank line that ends an event', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('event: A\ndata: 1\n'), []);
    assert.deepEqual(p.push('\n'), [{ event: 'A', data: '1' }]);
  });
});
