// The proxy against a plain echo server: what passes, what a blackhole swallows (without
// closing anything), what a reset refuses, and that `pass` brings the link back.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** A connected client that collects what it receives. */
async function dial(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  let text = '';
  let closed = false;
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await once(socket, 'connect');
  return { socket, received: () => text, closed: () => closed };
}

async function until(what: string, check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('tcp proxy', () => {
  let echo: Server;
  let proxy: TcpProxy;
  const serverSockets = new Set<Socket>();

  before(async () => {
    echo = createServer((s) => {
      serverSockets.add(s);
      s.on('close', () => serverSockets.delete(s));
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const address = echo.address();
    assert.ok(address && typeof address === 'object');
    proxy = await startTcpProxy(`127.0.0.1:${address.port}`);
  });

  after(async () => {
    await proxy.close();
    for (const s of serverSockets) s.destroy();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  it('passes bytes both ways and counts them', async () => {
    const c = await dial(proxy.port);
    c.socket.write('hello');
    await until('echo', () => c.received() === 'hello');
    assert.equal(proxy.mode, 'pass');
    assert.deepEqual(proxy.bytes, { up: 5, down: 5, dropped: 0 });
    c.socket.end();
    await until('closed', c.closed);
    await until('pair gone', () => proxy.open === 0);
  });

  it('a blackhole drops bytes both ways and closes nothing; pass resets what lost bytes', async () => {
    const quiet = await dial(proxy.port);
    const busy = await dial(proxy.port);
    busy.socket.write('a');
    await until('echo', () => busy.received() === 'a');
    const before = proxy.bytes;

    await proxy.blackhole();
    busy.socket.end('lost');
    // A connection made during the cut is accepted, then hears nothing.
    const late = await dial(proxy.port);
    late.socket.write('late');
    // Even a FIN is swallowed: the echo server must not learn that the client went away.
    const server = serverSockets.size;
    await sleep(300);
    assert.equal(busy.received(), 'a');
    assert.equal(late.received(), '');
    assert.equal(busy.closed() || quiet.closed() || late.closed(), false, 'nothing closed by the cut');
    assert.equal(serverSockets.size, server, 'the target saw no new connection and lost none');
    assert.equal(proxy.bytes.up, before.up);
    assert.equal(proxy.bytes.dropped, before.dropped + 'lost'.length + 'late'.length);

    await proxy.pass();
    // The connections with a hole in their byte stream are reset; the quiet one carries on.
    await until('broken connections reset', () => busy.closed() && late.closed());
    quiet.socket.write('still here');
    await until('quiet echo', () => quiet.received() === 'still here');
    const fresh = await dial(proxy.port);
    fresh.socket.write('back');
    await until('fresh echo', () => fresh.received() === 'back');
    quiet.socket.destroy();
    fresh.socket.destroy();
  });

  it('reset closes every connection and refuses new ones until pass', async () => {
    const c = await dial(proxy.port);
    c.socket.write('x');
    await until('echo', () => c.received() === 'x');
    await proxy.reset();
    await until('reset', c.closed);
    const refused = tcpConnect({ host: '127.0.0.1', port: proxy.port });
    const [err] = (await once(refused, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(proxy.open, 0);

    await proxy.pass();
    const again = await dial(proxy.port);
    again.socket.write('again');
    await until('echo after reset', () => again.received() === 'again');
    again.socket.destroy();
  });
});
