// A loopback TCP proxy a test controls, to cut a link the way networks do:
//
//   pass       bytes flow both ways (the default);
//   blackhole  a silent cut: sockets stay open and new ones are accepted, but every byte, and
//              every FIN, is dropped in both directions. Neither end hears anything, which is
//              the case only keepalives can detect;
//   reset      every socket is reset and the port stops listening (connection refused).
//
// Back to `pass`, a connection that lost bytes during a blackhole is reset: its byte stream
// has a hole (a TLS record, an HTTP/2 frame is missing), so it could never be used again, and
// by then both ends gave up on it anyway. Connections that stayed quiet through the cut carry on.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'reset';

export interface ProxyBytes {
  /** Bytes forwarded client → target. */
  up: number;
  /** Bytes forwarded target → client. */
  down: number;
  /** Bytes dropped in either direction (blackhole). */
  dropped: number;
}

export interface TcpProxy {
  port: number;
  /** 127.0.0.1:port, to give a client instead of the target's address. */
  address: string;
  readonly mode: ProxyMode;
  /** Counters since the proxy started. */
  readonly bytes: Readonly<ProxyBytes>;
  /** Client connections accepted since the proxy started. */
  readonly accepted: number;
  /** Client connections open now. */
  readonly open: number;
  pass(): Promise<void>;
  blackhole(): Promise<void>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  /** Undefined for a connection accepted during a blackhole: it never reached the target. */
  upstream: Socket | undefined;
  /** Lost bytes (or a FIN) in a blackhole: unusable afterwards. */
  broken: boolean;
}

/** Starts a proxy on a free loopback port in front of `target` (host:port). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const colon = target.lastIndexOf(':');
  const host = target.slice(0, colon);
  const targetPort = Number(target.slice(colon + 1));
  if (!host || !Number.isInteger(targetPort)) throw new Error(`proxy target ${target} is not host:port`);

  let mode: ProxyMode = 'pass';
  let port = 0;
  let accepted = 0;
  const bytes: ProxyBytes = { up: 0, down: 0, dropped: 0 };
  const pairs = new Set<Pair>();

  // An RST by default: the peer learns at once, as from a real reset.
  const destroy = (pair: Pair, gently = false) => {
    pairs.delete(pair);
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (gently) socket.destroySoon();
      else socket.resetAndDestroy();
    }
  };

  // One direction of a pair: forwards in pass mode, drops (and marks the pair broken) otherwise.
  const pipe = (pair: Pair, from: Socket, to: () => Socket | undefined, counter: 'up' | 'down') => {
    from.on('data', (chunk: Buffer) => {
      const dest = to();
      if (mode === 'pass' && !pair.broken && dest) {
        bytes[counter] += chunk.length;
        dest.write(chunk);
      } else {
        bytes.dropped += chunk.length;
        pair.broken = true;
      }
    });
    from.on('end', () => {
      const dest = to();
      if (mode === 'pass' && !pair.broken && dest) dest.end();
      else pair.broken = true;
    });
    from.on('error', () => {
      if (mode === 'pass' && !pair.broken) destroy(pair);
      else pair.broken = true;
    });
    from.on('close', () => {
      // A socket closed by its own end in pass mode takes its pair along; during a blackhole
      // the other end must not hear of it.
      if (mode === 'pass' && !pair.broken) destroy(pair, true);
    });
  };

  const onConnection = (client: Socket) => {
    accepted++;
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined, broken: false };
    pairs.add(pair);
    client.setNoDelay(true);
    if (mode === 'pass') {
      const upstream = tcpConnect({ host, port: targetPort, allowHalfOpen: true });
      upstream.setNoDelay(true);
      pair.upstream = upstream;
      pipe(pair, upstream, () => pair.client, 'down');
    } else {
      // Accepted but never forwarded: a client dialling through a cut hears nothing.
      pair.broken = true;
    }
    pipe(pair, client, () => pair.upstream, 'up');
  };

  // Half-open sockets throughout: the proxy, not Node, decides whether a FIN goes on.
  let server: Server | undefined;
  const listen = async () => {
    const s = createServer({ noDelay: true, allowHalfOpen: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    const address = s.address();
    if (!address || typeof address !== 'object') throw new Error('proxy did not get a port');
    port = address.port;
    server = s;
  };
  const unlisten = async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();

  return {
    port,
    address: `127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    get bytes() {
      return { ...bytes };
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    async pass() {
      if (!server) await listen();
      mode = 'pass';
      for (const pair of [...pairs]) if (pair.broken) destroy(pair);
    },
    async blackhole() {
      if (!server) await listen();
      mode = 'blackhole';
    },
    async reset() {
      mode = 'reset';
      for (const pair of [...pairs]) destroy(pair);
      await unlisten();
    },
    async close() {
      mode = 'reset';
      for (const pair of [...pairs]) destroy(pair);
      await unlisten();
    },
  };
}
