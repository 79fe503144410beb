// Bad input is refused, clearly: every write route answers malformed JSON, wrong types,
// oversize bodies, unknown fields, path tricks and invalid selectors or labels with a 4xx, a
// stable `code` and a message naming what to fix — never a 5xx, which a fuzzer driven by the
// OpenAPI document checks over thousands of requests. Webhooks without a valid signature are
// refused before anything is fetched, viewers cannot write, and no secret (API tokens,
// bootstrap tokens, cluster credentials, Git credentials, the webhook secret) ever shows up
// in logs, errors, events or API responses.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceError } from '@grpc/grpc-js';
import { bearer, startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { formatFuzzResult, fuzzApi } from '../src/fuzz.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { openStream, registerAgent } from '../src/protocol-agent.ts';

const env = environmentFromEnv();
// Secrets made here start with MARK: finding MARK anywhere is a leak, even of part of one.
const MARK = 'SeCrEt';
const WEBHOOK_SECRET = `${MARK}-webhook-${randomBytes(12).toString('hex')}`;
// No background polling: the webhook test counts the Git server's requests.
const CP_ENV = { GITFLEET_WEBHOOK_SECRET: WEBHOOK_SECRET, GITFLEET_POLL_INTERVAL_SECONDS: '3600' };
const MiB = 1024 * 1024;
const BODY_LIMIT_BYTES = MiB;

const FLEET_YAML = `stages:
  - name: dev
    selector: { matchLabels: { env: dev } }
  - name: prod
    selector: { matchLabels: { env: prod } }
    requires: dev
`;
const CONFIG_MAP =
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  a: "1"\n';

interface Answer {
  status: number;
  body: { code?: string; message?: string } & Record<string, unknown>;
  text: string;
}

function send(
  cp: TestControlPlane,
  method: string,
  url: string,
  payload?: string,
  headers: Record<string, string> = {},
  token = cp.adminToken,
): Promise<Answer> {
  return cp.app
    .inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(payload === undefined ? {} : { payload }),
    })
    .then((res) => {
      let body: Answer['body'] = {};
      try {
        body = res.json();
      } catch {
        // not JSON: the assertions below say so
      }
      return { status: res.statusCode, body, text: res.body };
    });
}

/** A refusal as users meet it: the status, a stable code, and a message saying what to fix. */
function assertRefused(answer: Answer, status: number, code: string, message: RegExp, what: string): void {
  assert.equal(answer.status, status, `${what}: ${answer.text}`);
  assert.equal(answer.body.code, code, `${what}: ${answer.text}`);
  assert.match(String(answer.body.message), message, what);
}

const signature = (payload: string, secret = WEBHOOK_SECRET) =>
  `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;

describe('bad input is refused, clearly', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  const repo = `input-${randomBytes(3).toString('hex')}`;
  const fleet = repo;
  const cluster = 'in-dev';

  // Every write route with a body that would be accepted: each case below breaks one thing.
  const writes = () => [
    { method: 'POST', url: '/api/v1/clusters', body: { name: 'w-new', labels: { env: 'dev' } } },
    { method: 'PATCH', url: `/api/v1/clusters/${cluster}`, body: { labels: { env: 'dev' } } },
    { method: 'DELETE', url: `/api/v1/clusters/${cluster}` },
    { method: 'POST', url: `/api/v1/clusters/${cluster}/bootstrap-token` },
    {
      method: 'POST',
      url: '/api/v1/fleets',
      body: { name: 'w-fleet', repo: git.repoUrl(repo), credentials: { username: 'u', password: 'p' } },
    },
    { method: 'POST', url: `/api/v1/fleets/${fleet}/sync` },
    { method: 'PATCH', url: `/api/v1/fleets/${fleet}`, body: { pollIntervalSeconds: 120 } },
    { method: 'DELETE', url: `/api/v1/fleets/${fleet}` },
    { method: 'POST', url: `/api/v1/fleets/${fleet}/promotions`, body: { stage: 'prod' } },
    { method: 'POST', url: `/api/v1/fleets/${fleet}/rollbacks`, body: { stage: 'prod' } },
    {
      method: 'POST',
      url: '/api/v1/notification-targets',
      body: {
        name: 'w-target',
        type: 'webhook',
        url: 'https://hooks.example.invalid/x',
        secret: 's3cret-value',
      },
    },
    { method: 'DELETE', url: '/api/v1/notification-targets/w-target' },
    { method: 'POST', url: '/api/v1/tokens', body: { name: 'w-token', role: 'viewer' } },
    { method: 'DELETE', url: '/api/v1/tokens/w-token' },
    {
      method: 'POST',
      url: '/api/v1/projects',
      body: {
        name: 'w-project',
        fleets: ['w-*'],
        clusters: 'team=w',
        namespaces: ['w'],
        repos: ['https://x/*'],
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/projects/w-project',
      body: { fleets: ['w-*'], clusters: 'team=w', namespaces: ['w'], repos: ['https://x/*'] },
    },
    { method: 'DELETE', url: '/api/v1/projects/w-project' },
  ];

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl, env: CP_ENV });
    await git.createRepo(repo, { 'fleet.yaml': FLEET_YAML, 'manifests/settings.yaml': CONFIG_MAP });
    const registered = await cp.api('POST', '/api/v1/clusters', { name: cluster, labels: { env: 'dev' } });
    assert.equal(registered.status, 201);
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(repo),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it('the cases below cover every write route of /openapi.json', async () => {
    const doc = (await cp.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .filter((op) => !op.startsWith('GET ') && op !== 'POST /api/v1/webhooks/git')
      .sort();
    const covered = writes()
      .map(
        (w) =>
          `${w.method} ${w.url.replace(cluster, '{name}').replace(fleet, '{name}').replace('w-target', '{name}').replace('tokens/w-token', 'tokens/{name}').replace('projects/w-project', 'projects/{name}')}`,
      )
      .sort();
    assert.deepEqual(covered, documented);
  });

  it('malformed JSON: 400 saying where the JSON breaks, on every write route', async () => {
    for (const w of writes()) {
      for (const broken of ['{"name":', '{name: "x"}', "{'a': 1}", '[1 2]', '{"a":1}}']) {
        assertRefused(
          await send(cp, w.method, w.url, broken),
          400,
          'InvalidRequest',
          /^the request body is not valid JSON \(.+\): send a JSON object$/,
          `${w.method} ${w.url} ${broken}`,
        );
      }
      assertRefused(
        await send(cp, w.method, w.url, ''),
        400,
        'InvalidRequest',
        /body is empty but Content-Type is application\/json/,
        `${w.method} ${w.url} empty`,
      );
      assertRefused(
        await send(cp, w.method, w.url, '{"__proto__": {"admin": true}}'),
        400,
        'InvalidRequest',
        /"__proto__" or "constructor.prototype" key is not accepted/,
        `${w.method} ${w.url} __proto__`,
      );
    }
    // The message never quotes the body back (it may hold a password).
    const leaky = await send(cp, 'POST', '/api/v1/fleets', '{"credentials": {"password": hunter2-secret}}');
    assert.equal(leaky.status, 400);
    assert.ok(!leaky.text.includes('hunter2'), leaky.text);
  });

  it('wrong types and missing fields: 400 naming the field and the type expected', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/api/v1/clusters', { name: 123 }, /^body\.name must be a string, not a number$/],
      ['POST', '/api/v1/clusters', [], /^body must be an object, not an array$/],
      ['POST', '/api/v1/clusters', 'dev-1', /^body must be an object, not a string$/],
      ['POST', '/api/v1/clusters', null, /^body must be an object, not null$/],
      ['POST', '/api/v1/clusters', {}, /^body: field "name" is required$/],
      ['POST', '/api/v1/clusters', { name: 't-1', labels: 'env=prod' }, /^body\.labels must be an object/],
      [
        'POST',
        '/api/v1/clusters',
        { name: 't-2', labels: { env: 5 } },
        /^body\.labels\.env must be a string/,
      ],
      [
        'POST',
        '/api/v1/clusters',
        { name: 't-3', labels: { 'example.com/tier': [[[]]] } },
        /^body\.labels\.example\.com\/tier must be a string, not an array$/,
      ],
      [
        'PATCH',
        `/api/v1/clusters/${cluster}`,
        { labels: null },
        /^body\.labels must be an object, not null$/,
      ],
      ['PATCH', `/api/v1/clusters/${cluster}`, {}, /^body: field "labels" is required$/],
      ['POST', '/api/v1/fleets', { name: 't-4' }, /^body: field "repo" is required$/],
      ['POST', '/api/v1/fleets', { name: 't-4', repo: true }, /^body\.repo must be a string, not a boolean$/],
      [
        'POST',
        '/api/v1/fleets',
        { name: 7, repo: 'https://x.invalid/r.git' },
        /^body\.name must be a string/,
      ],
      [
        'POST',
        '/api/v1/fleets',
        { name: 't-5', repo: 'https://x.invalid/r.git', credentials: 'user:pass' },
        /^body\.credentials must be an object, not a string$/,
      ],
      [
        'POST',
        '/api/v1/fleets',
        { name: 't-6', repo: 'https://x.invalid/r.git', credentials: { password: 5 } },
        /^body\.credentials\.password must be a string, not a number$/,
      ],
      ['POST', `/api/v1/fleets/${fleet}/promotions`, { stage: 1 }, /^body\.stage must be a string/],
      ['POST', `/api/v1/fleets/${fleet}/promotions`, {}, /^body: field "stage" is required$/],
      [
        'POST',
        `/api/v1/fleets/${fleet}/promotions`,
        { stage: 'prod', revision: null },
        /^body\.revision must be a string, not null$/,
      ],
      ['POST', `/api/v1/fleets/${fleet}/rollbacks`, { stage: ['prod'] }, /^body\.stage must be a string/],
      [
        'POST',
        `/api/v1/fleets/${fleet}/rollbacks`,
        { stage: 'prod', reason: 'x'.repeat(4001) },
        /^body\.reason must NOT have more than 4000 characters$/,
      ],
    ];
    for (const [method, url, body, message] of cases) {
      assertRefused(
        await send(cp, method, url, JSON.stringify(body)),
        400,
        'InvalidRequest',
        message,
        `${method} ${url} ${JSON.stringify(body).slice(0, 80)}`,
      );
    }
    // `{"name": 123}` is refused, not registered as the cluster "123".
    assert.equal((await cp.api('GET', '/api/v1/clusters/123')).status, 404);
  });

  it('bodies over the limit: 413 naming the limit (1 MiB for the API, 25 MiB for webhooks)', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(BODY_LIMIT_BYTES) });
    for (const w of writes()) {
      assertRefused(
        await send(cp, w.method, w.url, big),
        413,
        'InvalidRequest',
        /^the request body is larger than 1048576 bytes, the limit of this endpoint: send less$/,
        `${w.method} ${w.url}`,
      );
    }
    const huge = 'x'.repeat(25 * MiB + 1);
    assertRefused(
      await send(cp, 'POST', '/api/v1/webhooks/git', huge, { 'x-hub-signature-256': signature(huge) }),
      413,
      'InvalidRequest',
      /larger than 26214400 bytes/,
      'webhook',
    );
    // Just under the limit is read (and then judged on its content).
    const fits = JSON.stringify({ name: 'x'.repeat(BODY_LIMIT_BYTES - 100) });
    assertRefused(
      await send(cp, 'POST', '/api/v1/clusters', fits),
      400,
      'InvalidRequest',
      /cluster name .* is not valid: use 1-63 lowercase letters/,
      'just under the limit',
    );
  });

  it('unknown fields: 400 naming the field and the allowed ones, and nothing is written', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      [
        'POST',
        '/api/v1/clusters',
        { name: 'u-1', lables: { env: 'dev' } },
        /^body: unknown field "lables"; remove it \(allowed: name, labels\)$/,
      ],
      [
        'PATCH',
        `/api/v1/clusters/${cluster}`,
        { labels: { env: 'prod' }, name: 'other' },
        /^body: unknown field "name"; remove it \(allowed: labels\)$/,
      ],
      [
        'POST',
        '/api/v1/fleets',
        { name: 'u-2', repo: git.repoUrl(repo), token: 'x' },
        /^body: unknown field "token"; remove it \(allowed: name, repo, branch, path, pollIntervalSeconds, project, credentials, chartCredentials\)$/,
      ],
      [
        'POST',
        '/api/v1/fleets',
        { name: 'u-3', repo: git.repoUrl(repo), credentials: { user: 'x', password: 'y' } },
        /^body\.credentials: unknown field "user"; remove it \(allowed: username, password, token\)$/,
      ],
      [
        'POST',
        `/api/v1/fleets/${fleet}/promotions`,
        { stage: 'prod', force: true },
        /^body: unknown field "force"; remove it \(allowed: stage, revision, reason\)$/,
      ],
      [
        'POST',
        `/api/v1/fleets/${fleet}/rollbacks`,
        { stage: 'prod', revision: 'abc1234' },
        /^body: unknown field "revision"; remove it \(allowed: stage, reason\)$/,
      ],
    ];
    for (const [method, url, body, message] of cases) {
      assertRefused(
        await send(cp, method, url, JSON.stringify(body)),
        400,
        'InvalidRequest',
        message,
        `${method} ${url}`,
      );
    }
    assert.equal((await cp.api('GET', '/api/v1/clusters/u-1')).status, 404, 'not registered without labels');
    const kept = await cp.api<{ labels: Record<string, string> }>('GET', `/api/v1/clusters/${cluster}`);
    assert.deepEqual(kept.body.labels, { env: 'dev' }, 'not relabelled');
    assert.equal((await cp.api('GET', '/api/v1/fleets/u-2')).status, 404);
  });

  it('path tricks: names that are not DNS labels, encoded slashes, unicode, very long names', async () => {
    const named = (name: string) => [
      ['GET', `/api/v1/clusters/${name}`],
      ['PATCH', `/api/v1/clusters/${name}`],
      ['DELETE', `/api/v1/clusters/${name}`],
      ['POST', `/api/v1/clusters/${name}/bootstrap-token`],
      ['GET', `/api/v1/fleets/${name}`],
      ['GET', `/api/v1/fleets/${name}/status`],
      ['POST', `/api/v1/fleets/${name}/sync`],
      ['DELETE', `/api/v1/fleets/${name}`],
      ['GET', `/api/v1/fleets/${name}/promotions`],
      ['POST', `/api/v1/fleets/${name}/promotions`],
      ['POST', `/api/v1/fleets/${name}/rollbacks`],
    ];
    const bodyFor = (method: string, url: string) =>
      method === 'PATCH'
        ? '{"labels":{}}'
        : /promotions|rollbacks/.test(url) && method === 'POST'
          ? '{"stage":"dev"}'
          : undefined;
    const invalidNames = [
      '..%2F..%2Fetc%2Fpasswd',
      'a%2Fb',
      '%E2%98%83',
      'caf%C3%A9',
      '%00',
      'a%20b',
      'UPPER',
      '-lead',
      'trail-',
      'a_b',
      'a.b',
      'a'.repeat(64),
    ];
    for (const name of invalidNames) {
      for (const [method, url] of named(name)) {
        assertRefused(
          await send(cp, method as string, url as string, bodyFor(method as string, url as string)),
          400,
          'InvalidRequest',
          /^name ".*" is not valid: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit$/,
          `${method} ${url}`,
        );
      }
    }
    for (const [method, url] of named('a'.repeat(101))) {
      assertRefused(
        await send(cp, method as string, url as string),
        414,
        'InvalidRequest',
        /^a path segment is longer than 100 characters: cluster and fleet names are 1-63 lowercase/,
        `${method} long name`,
      );
    }
    for (const [method, url] of named('%ZZ')) {
      assertRefused(
        await send(cp, method as string, url as string),
        400,
        'InvalidRequest',
        /URL path is not valid percent-encoding/,
        `${method} ${url}`,
      );
    }
    // `..` as a whole segment: clients and routers resolve or refuse it; never a 5xx, never a
    // route it was not meant for.
    for (const url of [
      '/api/v1/clusters/..',
      '/api/v1/clusters/%2e%2e',
      '/api/v1/clusters/../fleets',
      '/api/v1/fleets/./..',
    ]) {
      const answer = await send(cp, 'DELETE', url);
      assert.ok([400, 404].includes(answer.status), `${url}: ${answer.text}`);
      assert.ok(answer.body.code && answer.body.message, `${url}: ${answer.text}`);
    }
    assert.equal((await cp.api('GET', `/api/v1/fleets/${fleet}`)).status, 200, 'the fleet is still there');
  });

  it('label selectors that do not parse: 400 InvalidSelector with the column and the syntax', async () => {
    for (const selector of [
      'env in prod',
      'env in (',
      'env in ()',
      '=prod',
      ',',
      'env=prod,',
      'a b',
      '!',
      'env==prod==x',
      `${'k'.repeat(64)}=v`,
      `k=${'v'.repeat(64)}`,
      'UPPER.example.com/x=1',
      '☃=1',
      'env=prod;rm -rf',
    ]) {
      assertRefused(
        await send(cp, 'GET', `/api/v1/clusters?selector=${encodeURIComponent(selector)}`),
        400,
        'InvalidSelector',
        /^invalid selector ".*": .* at column \d+; write requirements separated by commas, e\.g\. env=prod/,
        selector,
      );
    }
    assertRefused(
      await send(cp, 'GET', '/api/v1/clusters?selector=env%3Ddev&selector=env%3Dprod'),
      400,
      'InvalidRequest',
      /^querystring\.selector must be a string, not an array$/,
      'two selectors',
    );
    const fine = await cp.api<{ items: { name: string }[] }>('GET', '/api/v1/clusters?selector=env%3Ddev');
    assert.deepEqual(
      fine.body.items.map((c) => c.name),
      [cluster],
    );
  });

  it('label keys and values that Kubernetes would refuse: 400 saying what a label may be', async () => {
    const keys = ['bad key', '-x', 'x-', 'a/b/c', 'UPPER.example.com/x', 'a'.repeat(64), '', '/x', 'x/', '☃'];
    const values = ['has space', '-x', 'x-', 'a'.repeat(64), 'a/b', '☃', 'a,b'];
    for (const [method, url, wrap] of [
      ['POST', '/api/v1/clusters', (labels: object) => ({ name: 'lbl-1', labels })],
      ['PATCH', `/api/v1/clusters/${cluster}`, (labels: object) => ({ labels })],
    ] as const) {
      for (const key of keys) {
        assertRefused(
          await send(cp, method, url, JSON.stringify(wrap({ [key]: 'x' }))),
          400,
          'InvalidRequest',
          /^label key ".*" is not a valid Kubernetes label key: use name or prefix\/name, the name up to 63/,
          `${method} key ${key}`,
        );
      }
      for (const value of values) {
        assertRefused(
          await send(cp, method, url, JSON.stringify(wrap({ env: value }))),
          400,
          'InvalidRequest',
          /^label env: value ".*" is not valid: use a string of up to 63 letters, digits/,
          `${method} value ${value}`,
        );
      }
    }
    assert.equal((await cp.api('GET', '/api/v1/clusters/lbl-1')).status, 404);
  });

  it('fleet settings that cannot work: 400 before anything is stored', async () => {
    const url = git.repoUrl(repo);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'Shop', repo: url }, /^fleet name "Shop" is not valid: use 1-63 lowercase letters/],
      [
        { name: 's-1', repo: 'http://[::1' },
        /^repo "http:\/\/\[::1" is not an HTTP\(S\) Git URL, e\.g\. https:/,
      ],
      [{ name: 's-1', repo: 'git@example.com:org/x.git' }, /is not an HTTP\(S\) Git URL/],
      [{ name: 's-1', repo: 'https://u:p@example.com/x.git' }, /^put credentials in the `credentials` field/],
      [{ name: 's-1', repo: url, path: '../other' }, /^path "\.\.\/other" must stay inside the repository$/],
      ...['a b', '../x', '-x', 'x.lock', 'x/', 'a..b', 'a~1', 'x:y', '', 'f'.repeat(40)].map(
        (branch): [Record<string, unknown>, RegExp] => [
          { name: 's-1', repo: url, branch },
          /^branch ".*" is not a valid Git branch name \(no spaces, '\.\.'/,
        ],
      ),
    ];
    for (const [body, message] of cases) {
      assertRefused(
        await send(cp, 'POST', '/api/v1/fleets', JSON.stringify(body)),
        400,
        'InvalidRequest',
        message,
        JSON.stringify(body),
      );
    }
    assert.equal((await cp.api('GET', '/api/v1/fleets/s-1')).status, 404, 'nothing stored');
  });

  it('a fleet whose Git settings are wrong: 409 GitError saying which, and others on the repo unaffected', async () => {
    const url = git.repoUrl(repo);
    const wrong = await cp.api<{ fetchError: string }>('POST', '/api/v1/fleets', {
      name: 'g-wrong',
      repo: url,
      credentials: { username: git.username, password: 'not-the-password' },
    });
    assert.match(wrong.body.fetchError, /authentication failed, check the fleet credentials/);
    // The same repository with the right credentials works: a wrong password does not stick.
    const right = await cp.api<{ fetchError: string | null; head: string }>('POST', '/api/v1/fleets', {
      name: 'g-right',
      repo: url,
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(right.body.fetchError, null);
    // ... and no credentials do not borrow another fleet's.
    const none = await cp.api<{ fetchError: string }>('POST', '/api/v1/fleets', {
      name: 'g-none',
      repo: url,
    });
    assert.match(none.body.fetchError, /the repository asks for credentials, give the fleet `credentials`/);
    const branch = await cp.api<{ fetchError: string }>('POST', '/api/v1/fleets', {
      name: 'g-branch',
      repo: url,
      branch: 'release',
      credentials: { username: git.username, password: git.password },
    });
    assert.match(
      branch.body.fetchError,
      /the branch is not in the repository, push it or change the fleet's branch/,
    );
    for (const [name, message] of [
      ['g-wrong', /authentication failed/],
      ['g-none', /asks for credentials/],
      ['g-branch', /branch is not in the repository/],
    ] as const) {
      assertRefused(
        await send(cp, 'GET', `/api/v1/fleets/${name}/promotions`),
        409,
        'GitError',
        message,
        name,
      );
    }
    for (const name of ['g-wrong', 'g-right', 'g-none', 'g-branch']) {
      assert.equal((await cp.api('DELETE', `/api/v1/fleets/${name}`)).status, 204);
    }
  });

  it('bodies that are not JSON: 415 asking for application/json', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data',
    ]) {
      assertRefused(
        await send(cp, 'POST', '/api/v1/clusters', 'name=x', { 'content-type': type }),
        415,
        'InvalidRequest',
        /send the body as JSON with `Content-Type: application\/json`/,
        type,
      );
    }
  });

  it('a viewer token cannot write on any route, and nothing changes', async () => {
    for (const w of writes()) {
      assertRefused(
        await send(cp, w.method, w.url, w.body ? JSON.stringify(w.body) : undefined, {}, cp.viewerToken),
        403,
        'Forbidden',
        /^victor has the viewer role: (POST|PUT|PATCH|DELETE) needs an admin token$/,
        `${w.method} ${w.url}`,
      );
    }
    assert.equal((await cp.api('GET', `/api/v1/clusters/${cluster}`, undefined, cp.viewerToken)).status, 200);
    assert.equal((await cp.api('GET', `/api/v1/fleets/${fleet}`, undefined, cp.viewerToken)).status, 200);
    assert.equal((await cp.api('GET', '/api/v1/clusters/w-new')).status, 404);
    assert.equal((await cp.api('GET', '/api/v1/fleets/w-fleet')).status, 404);
    assert.equal((await cp.api('GET', '/api/v1/notification-targets/w-target')).status, 404);
    const history = await cp.api<{ items: unknown[] }>('GET', `/api/v1/fleets/${fleet}/promotions`);
    assert.deepEqual(history.body.items, []);
  });

  it('webhooks with a wrong or missing signature: 401 InvalidSignature, and nothing is fetched', async () => {
    const payload = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: git.repoUrl(repo) } });
    // Wait until the Git server is quiet (the fleet's first fetch and any scheduled one).
    let count = git.requestCount;
    for (let quiet = 0; quiet < 3; ) {
      await sleep(300);
      quiet = git.requestCount === count ? quiet + 1 : 0;
      count = git.requestCount;
    }
    const bad: [string, Record<string, string>, string][] = [
      ['no signature', {}, payload],
      ['empty signature', { 'x-hub-signature-256': '' }, payload],
      ['not hex', { 'x-hub-signature-256': 'sha256=not-hex' }, payload],
      ['truncated', { 'x-hub-signature-256': signature(payload).slice(0, 40) }, payload],
      ['other secret', { 'x-hub-signature-256': signature(payload, 'not-the-secret') }, payload],
      ['other body', { 'x-hub-signature-256': signature(`${payload} `) }, payload],
      ['gitea, wrong', { 'x-gitea-signature': '00'.repeat(32) }, payload],
      ['sha1 only', { 'x-hub-signature': `sha1=${'00'.repeat(20)}` }, payload],
      ['no body', {}, ''],
      ['text/plain', { 'content-type': 'text/plain' }, payload],
    ];
    for (const [what, headers, body] of bad) {
      const res = await cp.app.inject({
        method: 'POST',
        url: '/api/v1/webhooks/git',
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', ...headers },
        ...(body ? { payload: body } : {}),
      });
      assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
      assert.equal(res.json().code, 'InvalidSignature', what);
      assert.match(res.json().message, /webhook signature missing or wrong: check the webhook secret/);
      assert.ok(!res.body.includes(WEBHOOK_SECRET));
    }
    await sleep(500);
    assert.equal(git.requestCount, count, 'no request reached the Git server');

    // Signed but not a push payload: 400 saying what is wrong, still nothing fetched.
    for (const body of ['{"ref":', 'null', '[1]', '"push"']) {
      const res = await cp.app.inject({
        method: 'POST',
        url: '/api/v1/webhooks/git',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature(body) },
        payload: body,
      });
      assert.equal(res.statusCode, 400, `${body}: ${res.body}`);
      assert.equal(res.json().code, 'InvalidRequest');
      assert.match(res.json().message, /^webhook body (is not JSON|must be a JSON object)/);
    }
    const odd = JSON.stringify({ ref: 5, repository: { clone_url: ['x'] } });
    const oddRes = await cp.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/git',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature(odd) },
      payload: odd,
    });
    assert.equal(oddRes.statusCode, 202, oddRes.body);
    assert.deepEqual(oddRes.json().fleets, [], 'fields of the wrong type match nothing');
    await sleep(300);
    assert.equal(git.requestCount, count, 'still nothing fetched');

    // The counter does count: a correctly signed push fetches.
    const good = await cp.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/git',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signature(payload),
        'x-github-event': 'push',
      },
      payload,
    });
    assert.equal(good.statusCode, 202, good.body);
    assert.deepEqual(good.json().fleets, [fleet]);
    // Answered when queued; the fetch follows.
    for (let i = 0; i < 100 && git.requestCount === count; i++) await sleep(50);
    assert.ok(git.requestCount > count, 'a signed push is fetched');
  });
});

describe('the API under fuzzing', () => {
  let cp: TestControlPlane;
  let git: GitServer;

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl, env: CP_ENV });
    await git.createRepo('fuzz', { 'fleet.yaml': FLEET_YAML, 'manifests/settings.yaml': CONFIG_MAP });
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it('thousands of generated requests from /openapi.json: the server keeps to its contract', async (t) => {
    const result = await fuzzApi({
      app: cp.app,
      token: cp.adminToken,
      requests: 4000,
      seed: 20260801,
      timeBudgetMs: 30_000,
      concurrency: 4,
      names: ['fuzz-a', 'fuzz-b', 'fuzz-c'],
      repoUrl: git.repoUrl('fuzz'),
      credentials: { username: git.username, password: git.password },
      webhookSecret: WEBHOOK_SECRET,
    });
    t.diagnostic(formatFuzzResult(result));
    assert.ok(result.requests >= 1000, `only ${result.requests} requests in the time budget`);
    assert.ok(result.operations >= 15, `${result.operations} operations in /openapi.json`);
    assert.equal(result.serverErrors, 0, formatFuzzResult(result));
    assert.equal(result.uncoded, 0, formatFuzzResult(result));
    // Every answer is one the document lists for the operation, with a body of its schema.
    assert.equal(result.undocumented, 0, formatFuzzResult(result));
    assert.equal(result.mismatched, 0, formatFuzzResult(result));
    // Every constraint the server checks is in the schema: what the schema allows is not refused.
    assert.ok(result.validRequests >= 300, formatFuzzResult(result));
    assert.equal(result.refusedValid, 0, formatFuzzResult(result));
    // Some requests got through: the fuzzer reaches the routes, not only the validators.
    assert.ok((result.byStatus[200] ?? 0) + (result.byStatus[201] ?? 0) > 100, formatFuzzResult(result));
  });
});

describe('secrets never appear in logs, errors, events or API responses', () => {
  let cp: TestControlPlane;
  let git: GitServer;

  before(async () => {
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl, env: CP_ENV, captureLogs: true });
  });
  after(async () => {
    await cp?.stop();
    await git?.stop();
  });

  it('a registration, agent exchange, fleets with credentials and many failures leak none of them', async () => {
    const id = randomBytes(3).toString('hex');
    const seen: { where: string; text: string }[] = [];
    const record = (where: string, text: string) => seen.push({ where, text });
    // REST calls whose answers are checked; `issuing` ones return a secret on purpose.
    const call = async (method: string, url: string, body?: unknown, token?: string, issuing = false) => {
      const answer = await send(
        cp,
        method,
        url,
        body === undefined ? undefined : JSON.stringify(body),
        {},
        token,
      );
      if (!issuing) record(`${method} ${url} → ${answer.status}`, answer.text);
      return answer;
    };

    // Events as a client of /api/v1/events sees them.
    const address = await cp.app.listen({ host: '127.0.0.1', port: 0 });
    const events = new AbortController();
    let eventText = '';
    const stream = fetch(`${address}/api/v1/events`, {
      headers: { authorization: `Bearer ${cp.adminToken}`, accept: 'text/event-stream' },
      signal: events.signal,
    }).then(async (res) => {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        eventText += decoder.decode(chunk, { stream: true });
      }
    });
    for (let i = 0; i < 250 && !eventText.includes('connected'); i++) await sleep(20);
    assert.match(eventText, /connected/, 'the event stream is open');

    const wrongPassword = `${MARK}-wrong-pw-${randomBytes(8).toString('hex')}`;
    const patToken = `${MARK}-pat-${randomBytes(12).toString('hex')}`;
    const urlPassword = `${MARK}-urlpw-${randomBytes(8).toString('hex')}`;
    const badApiToken = `${MARK}-not-a-token-${randomBytes(8).toString('hex')}`;

    // A cluster: bootstrap token, a renewed one, the exchange for a credential over gRPC.
    const reg = await call(
      'POST',
      '/api/v1/clusters',
      { name: `sec-${id}`, labels: { env: 'dev' } },
      undefined,
      true,
    );
    assert.equal(reg.status, 201);
    const firstBootstrap = String(reg.body.bootstrapToken);
    const renewed = await call(
      'POST',
      `/api/v1/clusters/sec-${id}/bootstrap-token`,
      undefined,
      undefined,
      true,
    );
    assert.equal(renewed.status, 201);
    const bootstrap = String(renewed.body.bootstrapToken);
    const client = cp.grpcClient();
    const grpcError = async (what: string, work: Promise<unknown>) => {
      const err = (await work.then(
        () => assert.fail(`${what} was accepted`),
        (e: ServiceError) => e,
      )) as ServiceError;
      record(`gRPC ${what}`, `${err.message} ${err.details}`);
    };
    await grpcError('the replaced bootstrap token', registerAgent(client, firstBootstrap));
    const { credential } = await registerAgent(client, bootstrap);
    await grpcError('a used bootstrap token', registerAgent(client, bootstrap));
    for (const forged of [`${credential.slice(0, -2)}xx`, bootstrap, `${credential}x`]) {
      const s = openStream(client, forged);
      const err = await s.closed;
      record('gRPC Connect with a forged credential', `${err?.message} ${err?.details}`);
    }
    await grpcError(
      'ReportStatus with a forged credential',
      new Promise((resolve, reject) =>
        client.reportStatus(
          { sequence: 1, status: undefined },
          bearer(`${credential.slice(0, -2)}xx`),
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      ),
    );
    const agent = openStream(client, credential);

    // Fleets with Git credentials: good ones, a wrong password, a token, and failures.
    await git.createRepo(`sec-${id}`, { 'fleet.yaml': FLEET_YAML, 'manifests/settings.yaml': CONFIG_MAP });
    const good = await call('POST', '/api/v1/fleets', {
      name: `good-${id}`,
      repo: git.repoUrl(`sec-${id}`),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(good.status, 201);
    assert.equal(good.body.fetchError, null, good.text);
    await agent.waitFor('desired state', () => agent.desired.find((d) => d.fleet === `good-${id}`));
    const wrong = await call('POST', '/api/v1/fleets', {
      name: `wrong-${id}`,
      repo: git.repoUrl(`sec-${id}`),
      credentials: { username: git.username, password: wrongPassword },
    });
    assert.match(String(wrong.body.fetchError), /authentication failed, check the fleet credentials/);
    const pat = await call('POST', '/api/v1/fleets', {
      name: `pat-${id}`,
      repo: git.repoUrl(`sec-${id}`),
      credentials: { token: patToken },
    });
    assert.match(String(pat.body.fetchError), /authentication failed/);
    // A repository that is not there, and a server that is not there, with credentials.
    await call('POST', '/api/v1/fleets', {
      name: `gone-${id}`,
      repo: git.repoUrl(`nothing-${id}`),
      credentials: { username: git.username, password: wrongPassword },
    });
    await call('POST', '/api/v1/fleets', {
      name: `down-${id}`,
      repo: 'http://127.0.0.1:9/x.git',
      credentials: { username: 'someone', password: wrongPassword, token: patToken },
    });
    // Credentials in the URL are refused without being quoted back, however the URL is written.
    for (const repo of [
      `http://someone:${urlPassword}@127.0.0.1:9/x.git`,
      `https:/someone:${urlPassword}@127.0.0.1:9/x.git`,
      `ftp://someone:${urlPassword}@127.0.0.1/x.git`,
      `HTTP://someone:${urlPassword}@127.0.0.1/x.git`,
    ]) {
      const refused = await call('POST', '/api/v1/fleets', { name: `url-${id}`, repo });
      assert.equal(refused.status, 400, refused.text);
    }
    // Broken JSON around a password: the parse error does not quote it.
    const broken = await send(
      cp,
      'POST',
      '/api/v1/fleets',
      `{"credentials": {"password": "${git.password}" }`,
    );
    record('POST /api/v1/fleets with broken JSON', broken.text);
    const unquoted = await send(cp, 'POST', '/api/v1/fleets', `{"credentials": {"password": ${patToken}}}`);
    record('POST /api/v1/fleets with an unquoted token', unquoted.text);
    await call('POST', `/api/v1/fleets/wrong-${id}/sync`);
    await call('POST', `/api/v1/fleets/down-${id}/sync`);
    await call('GET', `/api/v1/fleets/wrong-${id}/promotions`);
    await call('GET', `/api/v1/fleets/gone-${id}/promotions`);
    await call('POST', `/api/v1/fleets/wrong-${id}/promotions`, { stage: 'dev' });
    // A promotion pushes with the credentials.
    const head = String(good.body.head);
    const promoted = await call('POST', `/api/v1/fleets/good-${id}/promotions`, {
      stage: 'dev',
      revision: head,
    });
    assert.equal(promoted.status, 201, promoted.text);
    await call('POST', `/api/v1/fleets/good-${id}/rollbacks`, { stage: 'dev' });

    // API tokens: wrong, missing, a viewer writing; a webhook with a wrong signature.
    await call('GET', '/api/v1/clusters', undefined, badApiToken);
    await call('GET', '/api/v1/clusters', undefined, `${cp.adminToken}x`);
    await call('DELETE', `/api/v1/clusters/sec-${id}`, undefined, cp.viewerToken);
    record(
      'webhook, wrong signature',
      (
        await cp.app.inject({
          method: 'POST',
          url: '/api/v1/webhooks/git',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature('{}', 'guess') },
          payload: '{}',
        })
      ).body,
    );

    // Everything a user can read back.
    for (const url of [
      '/api/v1/clusters',
      `/api/v1/clusters/sec-${id}`,
      '/api/v1/fleets',
      `/api/v1/fleets/good-${id}`,
      `/api/v1/fleets/good-${id}/status`,
      `/api/v1/fleets/good-${id}/promotions`,
      `/api/v1/fleets/wrong-${id}`,
      `/api/v1/fleets/pat-${id}`,
      `/api/v1/fleets/down-${id}`,
      '/metrics',
      '/readyz',
      '/openapi.json',
    ]) {
      await call('GET', url);
    }
    agent.stream.cancel();
    await sleep(500);
    events.abort();
    await stream.catch(() => {});
    record('events', eventText);
    record('logs', cp.logs());

    // The capture is real: what should be there is there.
    assert.match(eventText, /event: ClusterRegistered/);
    assert.match(eventText, /event: FleetError[\s\S]*authentication failed/);
    assert.match(cp.logs(), /agent registered/);
    assert.match(cp.logs(), /agent call refused/);
    assert.match(cp.logs(), /incoming request/);

    const secrets: Record<string, string> = {
      'admin token': cp.adminToken,
      'viewer token': cp.viewerToken,
      'first bootstrap token': firstBootstrap,
      'bootstrap token': bootstrap,
      'cluster credential': credential,
      'cluster credential secret part': credential.split('.')[1] ?? credential,
      'Git password': git.password,
      'Git basic auth header': Buffer.from(`${git.username}:${git.password}`).toString('base64'),
      'wrong Git password': wrongPassword,
      'Git token': patToken,
      'password in a repo URL': urlPassword,
      'unknown API token sent': badApiToken,
      'webhook secret': WEBHOOK_SECRET,
    };
    const leaks = [
      ...Object.entries(secrets).flatMap(([name, secret]) =>
        seen.filter((s) => s.text.includes(secret)).map((s) => `${name} in ${s.where}`),
      ),
      ...seen.filter((s) => s.text.includes(MARK)).map((s) => `part of a secret in ${s.where}`),
    ];
    assert.deepEqual(leaks, []);
    assert.ok(seen.length > 30, `${seen.length} answers and streams checked`);
  });
});
