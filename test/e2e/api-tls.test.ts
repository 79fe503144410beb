// The REST API over HTTPS: with GITFLEET_API_TLS_CERT_FILE/KEY_FILE set, the control plane
// serves HTTPS only — a client that trusts the certificate is answered (and still needs its
// token), a plain-HTTP client gets no API.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '@gitfleet/control-plane';
import { loadOrGenerateTls } from '../../control-plane/src/grpc/server.ts';
import { startBrowser } from '../src/browser.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { tempDir } from '../src/process.ts';

const env = environmentFromEnv();
let cp: TestControlPlane;
let port = 0;
let caPem = '';

before(async () => {
  // A certificate for 127.0.0.1, as an operator would mount one (here: generated).
  const dir = tempDir('api-tls');
  const tls = await loadOrGenerateTls({ dataDir: dir, hosts: ['localhost', '127.0.0.1'] });
  caPem = tls.cert;
  cp = await startTestControlPlane({
    redisUrl: env.redisUrl,
    env: { GITFLEET_API_TLS_CERT_FILE: tls.certFile, GITFLEET_API_TLS_KEY_FILE: join(dir, 'grpc-tls.key') },
  });
  await cp.app.listen({ host: '127.0.0.1', port: 0 });
  const address = cp.app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
});

after(async () => {
  await cp?.stop();
});

function get(path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: caPem,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('answers over HTTPS to a client that trusts its certificate, tokens still required', async () => {
  assert.equal((await get('/healthz')).status, 200);
  assert.equal((await get('/api/v1/clusters')).status, 401);
  const listed = await get('/api/v1/clusters', cp.adminToken);
  assert.equal(listed.status, 200, listed.body);
});

test('the dashboard over the same HTTPS: a browser trusting the certificate signs in with a token', async () => {
  const browser = await startBrowser({ trustCertificate: caPem });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => void errors.push(err.message));
    await page.goto(`https://127.0.0.1:${port}/`);
    await page.getByLabel('API token').fill(cp.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('caller').waitFor();
    assert.match(String(await page.getByTestId('caller').textContent()), /alice\s*admin/);
    // The live event stream too (it is a fetch of its own).
    await page.locator('[data-testid="stream"][data-state="live"]').waitFor();
    assert.deepEqual(errors, []);
    assert.ok(
      browser.requests.every(
        (url) => url.startsWith(`https://127.0.0.1:${port}/`) || url.startsWith('data:'),
      ),
      browser.requests.join('\n'),
    );
  } finally {
    await browser.close();
  }
});

test('a plain-HTTP client gets no API', async () => {
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
      resolve(`HTTP ${res.statusCode}`);
      res.resume();
    });
    req.on('error', (err) => resolve(`error: ${err.message}`));
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
  // Node's TLS server answers garbage to a plaintext request (or drops it); never a 200.
  assert.doesNotMatch(outcome, /HTTP 200/);
});

test('a certificate without its key is a configuration error that names both variables', () => {
  assert.throws(
    () => loadConfig({ GITFLEET_API_TLS_CERT_FILE: '/tmp/cert.pem' }),
    /GITFLEET_API_TLS_CERT_FILE and GITFLEET_API_TLS_KEY_FILE go together/,
  );
});
