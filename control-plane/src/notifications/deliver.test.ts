import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { attempt, redact, secretsOf } from './deliver.ts';

describe('redaction', () => {
  test('a Slack URL is cut whole and in parts; a webhook secret too', () => {
    const url = 'https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx';
    const secrets = secretsOf(url, 'the-webhook-secret');
    const text = `POST ${url} failed; token abcdefghijklmnopqrstuvwx; path /services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx; the-webhook-secret`;
    const out = redact(text, secrets);
    assert.doesNotMatch(out, /abcdefghijklmnopqrstuvwx|T0AAAAAAA|the-webhook-secret/);
    assert.match(out, /^POST \[redacted\] failed/);
  });

  test('tokens in a query or userinfo, encoded or not', () => {
    const url = 'https://bot:pa%24%24word99@example.com/hook?token=s3cr3t-t0ken-value';
    const out = redact(`${url} pa$$word99 s3cr3t-t0ken-value`, secretsOf(url));
    assert.doesNotMatch(out, /pa\$\$word99|pa%24%24word99|s3cr3t-t0ken-value/);
  });
});

describe('attempt', () => {
  let server: Server;
  let base = '';
  const answers = new Map<string, { status: number; body: string; delayMs?: number }>();

  before(async () => {
    server = createServer((req, res) => {
      const a = answers.get(req.url ?? '') ?? { status: 204, body: '' };
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          res.writeHead(a.status, { 'content-type': 'text/plain' });
          res.end(a.body);
        }, a.delayMs ?? 0),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const post = (path: string, timeoutMs = 2000) => {
    const url = `${base}${path}`;
    return attempt(url, '{}', {}, { timeoutMs, secrets: secretsOf(url) });
  };

  test('2xx is delivered', async () => {
    assert.deepEqual(await post('/ok'), { ok: true, status: 204 });
  });

  test('a 4xx is not retried, and its answer is kept without the URL', async () => {
    answers.set('/hooks/secret-path-token', { status: 404, body: 'no_service for /hooks/secret-path-token' });
    const r = await post('/hooks/secret-path-token');
    assert.deepEqual(r, {
      ok: false,
      retry: false,
      status: 404,
      message: 'HTTP 404 Not Found: no_service for [redacted]',
    });
  });

  test('5xx, 429 and timeouts are retried; a closed port too', async () => {
    answers.set('/busy', { status: 503, body: 'try later' });
    answers.set('/slow-down', { status: 429, body: '' });
    answers.set('/slow', { status: 200, body: '', delayMs: 1000 });
    assert.equal(((await post('/busy')) as { retry: boolean }).retry, true);
    assert.equal(((await post('/slow-down')) as { retry: boolean }).retry, true);
    const slow = await post('/slow', 200);
    assert.deepEqual(slow, { ok: false, retry: true, status: null, message: 'no answer within 0.2 s' });
    const spare = createServer();
    await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
    const port = (spare.address() as AddressInfo).port;
    await new Promise<void>((r) => spare.close(() => r()));
    const closed = await attempt(`http://127.0.0.1:${port}/x`, '{}', {}, { timeoutMs: 1000, secrets: [] });
    assert.deepEqual(closed, { ok: false, retry: true, status: null, message: 'connection refused' });
  });

  test('a redirect is not followed', async () => {
    answers.set('/moved', { status: 301, body: '' });
    const r = await post('/moved');
    assert.equal(r.ok, false);
    assert.match((r as { message: string }).message, /^HTTP 301 .*not followed/);
  });
});
