// The client against a loopback HTTP server standing in for the API (and for things that
// are not the API), checking how each answer becomes data or a typed error.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, apiUrl, Client, path } from './client.ts';

let server: Server;
let base: string;
const seen: { method?: string; url?: string; auth?: string; body?: string }[] = [];

type Answer = { status: number; body: string; type?: string; delayMs?: number };

const json = (status: number, data: unknown): Answer => ({ status, body: JSON.stringify(data) });

function answer(req: IncomingMessage, body: string): Answer {
  switch (req.url) {
    case '/api/v1/ok':
      return json(200, { items: [1] });
    case '/api/v1/echo':
      return json(201, JSON.parse(body));
    case '/api/v1/gone':
      return { status: 204, body: '' };
    case '/api/v1/missing':
      return json(404, { code: 'ClusterNotFound', message: 'cluster x does not exist' });
    case '/api/v1/refused':
      return json(409, {
        code: 'PromotionRefused',
        message: 'no',
        details: { notReady: [{ cluster: 'a', phase: 'Failed', revision: null }] },
      });
    case '/api/v1/proxy':
      return { status: 502, body: '<html>\n<b>Bad gateway</b></html>', type: 'text/html' };
    case '/api/v1/html':
      return { status: 200, body: '<html></html>', type: 'text/html' };
    case '/api/v1/slow':
      return { ...json(200, {}), delayMs: 2000 };
    default:
      return json(404, { code: 'NotFound', message: `no route ${req.method} ${req.url}` });
  }
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
  const a = answer(req, body);
  const send = () => {
    res.writeHead(a.status, a.status === 204 ? {} : { 'content-type': a.type ?? 'application/json' });
    res.end(a.body);
  };
  if (a.delayMs) setTimeout(send, a.delayMs).unref();
  else send();
}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('Client', () => {
  it('sends the bearer token and JSON, and returns the parsed body', async () => {
    const client = new Client({ server: `${base}/`, token: 'secret-token' });
    assert.deepEqual(await client.get('/api/v1/ok'), { items: [1] });
    assert.deepEqual(await client.post('/api/v1/echo', { name: 'a' }), { name: 'a' });
    assert.equal(await client.delete('/api/v1/gone'), undefined);
    const echo = seen.find((s) => s.url === '/api/v1/echo');
    assert.equal(echo?.auth, 'Bearer secret-token');
    assert.equal(echo?.body, '{"name":"a"}');
  });

  it("turns the API's errors into ApiError with its code, message and details", async () => {
    const client = new Client({ server: base, token: 't' });
    const err = await client.get('/api/v1/missing').catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'ClusterNotFound');
    assert.equal(err.message, 'cluster x does not exist');
    assert.equal(err.exitCode, 1);
    const refused = await client.post('/api/v1/refused', {}).catch((e: unknown) => e);
    assert.ok(refused instanceof ApiError);
    assert.equal(refused.exitCode, 4, 'a refused promotion exits 4');
    assert.deepEqual((refused.details as { notReady: unknown[] }).notReady.length, 1);
  });

  it('describes answers that are not the API', async () => {
    const client = new Client({ server: base, token: 't' });
    await assert.rejects(client.get('/api/v1/proxy'), {
      name: 'ApiError',
      code: 'UnexpectedResponse',
      message: /GET \/api\/v1\/proxy failed with HTTP 502 Bad Gateway: <html> <b>Bad gateway<\/b><\/html>/,
    });
    await assert.rejects(client.get('/api/v1/html'), {
      code: 'UnexpectedResponse',
      message: /not JSON|other than JSON/,
    });
  });

  it('reports an unreachable server as ConnectionError (exit 3) and a slow one as TimeoutError (exit 5)', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(new Client({ server: `http://127.0.0.1:${port}`, token: 't' }).get('/x'), {
      name: 'ConnectionError',
      exitCode: 3,
      message: new RegExp(`cannot reach the control plane at http://127.0.0.1:${port}: .*ECONNREFUSED`),
    });
    await assert.rejects(new Client({ server: base, token: 't', timeoutMs: 200 }).get('/api/v1/slow'), {
      name: 'TimeoutError',
      exitCode: 5,
    });
  });
});

describe('URLs', () => {
  it('joins server and path, keeps a prefix, adds the query, escapes names', () => {
    assert.equal(
      apiUrl('https://a/prefix/', '/api/v1/clusters', { selector: 'env in (a,b)', x: undefined }),
      'https://a/prefix/api/v1/clusters?selector=env+in+%28a%2Cb%29',
    );
    assert.equal(path`/api/v1/clusters/${'a/b c'}/x`, '/api/v1/clusters/a%2Fb%20c/x');
  });
});
