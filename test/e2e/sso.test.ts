// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText() is the text a person sees, which is what is asserted
// Single sign-on for people (issue #17), with real parts: a real OpenID provider with its own
// login and consent pages (test/src/oidc-provider.ts), the control plane listening on loopback,
// Debian's Chromium, and the gitfleet CLI as its own process. A person signs in at the provider
// by authorization code with PKCE, from the dashboard and from `gitfleet login --sso`, and the
// ID token they get is their bearer token: sam (shop-team) has the role project shop gives his
// group and sees shop's fleets only, ada (platform-admins) is an installation admin. An answer
// that is not for the sign-in begun (its state) is refused by both.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Page } from 'playwright-core';
import { ssoSettingsFromEnv } from '../../control-plane/src/auth/oidc.ts';
import { startBrowser, type TestBrowser } from '../src/browser.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { PEOPLE, PUBLIC_CLIENT, startOidcProvider, type TestOidcProvider } from '../src/oidc-provider.ts';
import { freePort, tempDir } from '../src/process.ts';

const env = environmentFromEnv();
const CLI = new URL('../../cli/src/main.ts', import.meta.url).pathname;
const FLEET_YAML = 'stages:\n  - name: all\n    selector: {}\n';
const configMap = (ns: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${ns}\ndata:\n  a: b\n`;

interface Cli {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in stdout (or stderr), once it is printed. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<RegExpMatchArray>;
}

/** `gitfleet ...args` as a person runs it: its own process, its own config file, no token in the environment. */
function startCli(args: string[], configFile: string): Cli {
  const { GITFLEET_SERVER: _s, GITFLEET_TOKEN: _t, ...rest } = process.env;
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...rest, GITFLEET_CONFIG: configFile, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  child.stdout?.on('data', (c) => {
    out.stdout += c;
    wake();
  });
  child.stderr?.on('data', (c) => {
    out.stderr += c;
    wake();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      wake();
      resolve(code);
    }),
  );
  return {
    child,
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exited,
    waitFor(pattern, stream = 'stdout') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(out[stream]);
          if (match) {
            waiters.delete(check);
            resolve(match);
          } else if (child.exitCode !== null) {
            waiters.delete(check);
            reject(
              new Error(
                `gitfleet exited ${child.exitCode} without printing ${pattern}\nstdout: ${out.stdout}\nstderr: ${out.stderr}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

const AUTH_URL = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m;

describe('single sign-on: people sign in at the identity provider', () => {
  let idp: TestOidcProvider;
  let git: GitServer;
  let cp: TestControlPlane;
  let plain: TestControlPlane;
  let browser: TestBrowser;
  let base = '';
  let plainBase = '';
  const pageErrors: string[] = [];
  const configDir = tempDir('sso-cli');

  before(async () => {
    // The dashboard's address is a redirect URI of the provider's client, so it is chosen first.
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startOidcProvider({ people: PEOPLE, redirectUris: [`${base}/`] });
    git = await startGitServer();
    cp = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: {
        GITFLEET_OIDC_ISSUER: idp.issuer,
        // The ID token is the bearer: its audience is the client people sign in with.
        GITFLEET_OIDC_AUDIENCE: PUBLIC_CLIENT,
        GITFLEET_OIDC_ADMIN_GROUPS: 'platform-admins',
        GITFLEET_OIDC_CLIENT_ID: PUBLIC_CLIENT,
      },
    });
    await cp.app.listen({ host: '127.0.0.1', port });
    plain = await startTestControlPlane({ redisUrl: env.redisUrl });
    await plain.app.listen({ host: '127.0.0.1', port: 0 });
    plainBase = `http://127.0.0.1:${(plain.app.server.address() as { port: number }).port}`;

    for (const repo of ['shop-web', 'billing-api']) {
      await git.createRepo(repo, {
        'fleet.yaml': FLEET_YAML,
        'manifests/cm.yaml': configMap(repo.split('-')[0]!),
      });
    }
    const project = await cp.api('POST', '/api/v1/projects', {
      name: 'shop',
      fleets: ['shop-*'],
      clusters: 'team=shop',
      namespaces: ['shop'],
      repos: [`${git.url}/shop-*`],
      roles: { admin: { groups: ['shop-team'] } },
    });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    for (const [name, projectName] of [
      ['shop-web', 'shop'],
      ['billing-api', undefined],
    ] as const) {
      const created = await cp.api('POST', '/api/v1/fleets', {
        name,
        repo: git.repoUrl(name),
        credentials: { username: git.username, password: git.password },
        ...(projectName ? { project: projectName } : {}),
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    browser = await startBrowser();
    // The provider's development pages import a web font: no host outside this machine is asked.
    await browser.context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => route.abort(),
    );
  });

  after(async () => {
    await browser?.close();
    await cp?.stop();
    await plain?.stop();
    await git?.stop();
    await idp?.stop();
  });

  it('reads GITFLEET_OIDC_CLIENT_ID and GITFLEET_OIDC_SCOPES, and refuses them half set', () => {
    const issuer = { GITFLEET_OIDC_ISSUER: 'https://idp.example.com' };
    assert.equal(ssoSettingsFromEnv(issuer), undefined);
    assert.deepEqual(ssoSettingsFromEnv({ ...issuer, GITFLEET_OIDC_CLIENT_ID: 'gitfleet' }), {
      issuer: 'https://idp.example.com',
      clientId: 'gitfleet',
      scopes: ['openid', 'email', 'groups'],
    });
    assert.deepEqual(
      ssoSettingsFromEnv({
        ...issuer,
        GITFLEET_OIDC_CLIENT_ID: 'gitfleet',
        GITFLEET_OIDC_SCOPES: 'openid profile',
      })?.scopes,
      ['openid', 'profile'],
    );
    assert.throws(
      () => ssoSettingsFromEnv({ GITFLEET_OIDC_CLIENT_ID: 'gitfleet' }),
      /needs GITFLEET_OIDC_ISSUER/,
    );
    assert.throws(
      () =>
        ssoSettingsFromEnv({ ...issuer, GITFLEET_OIDC_CLIENT_ID: 'gitfleet', GITFLEET_OIDC_SCOPES: 'email' }),
      /must include openid/,
    );
    assert.throws(
      () => ssoSettingsFromEnv({ ...issuer, GITFLEET_OIDC_SCOPES: 'openid' }),
      /without GITFLEET_OIDC_CLIENT_ID/,
    );
  });

  it('GET /api/v1/sso names the provider without a token, and is a 404 where sign-in is tokens only', async () => {
    const res = await fetch(`${base}/api/v1/sso`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      issuer: idp.issuer,
      clientId: PUBLIC_CLIENT,
      scopes: ['openid', 'email', 'groups'],
    });
    const none = await fetch(`${plainBase}/api/v1/sso`);
    assert.equal(none.status, 404);
    const body = (await none.json()) as { code: string; message: string };
    assert.equal(body.code, 'NotFound');
    assert.match(body.message, /^single sign-on is not configured on this control plane/);

    // The page may call the provider (discovery, token endpoint) and nothing else.
    const csp = (await fetch(`${base}/`)).headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`connect-src 'self' ${new URL(idp.issuer).origin}(;|$)`));
    assert.match(csp, /form-action 'none'/);
    assert.match(
      (await fetch(`${plainBase}/`)).headers.get('content-security-policy') ?? '',
      /connect-src 'self';/,
    );
  });

  const signIn = async (page: Page, email: string) => {
    page.on('pageerror', (err) => void pageErrors.push(err.message));
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign in with SSO' }).click();
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.locator('input[name="login"]').fill(email);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByTestId('caller').waitFor();
  };
  const tokenOf = async (page: Page) =>
    String(await page.evaluate('sessionStorage.getItem("gitfleet.token")'));

  it("the dashboard: sam signs in at the provider and has his project's role, seeing only its fleets", async () => {
    const page = await browser.newPage();
    await signIn(page, 'sam@shop.example');
    assert.match(await page.getByTestId('caller').innerText(), /sam@shop\.example\s*shop: admin/);
    // The code and state are gone from the address bar and the history.
    assert.equal(page.url(), `${base}/`);
    const claims = decodeJwt(await tokenOf(page));
    assert.equal(claims.aud, PUBLIC_CLIENT);
    assert.equal(claims.email, 'sam@shop.example');
    assert.deepEqual(claims.groups, ['shop-team']);

    await page.locator('tr[data-fleet="shop-web"]').waitFor();
    assert.equal(await page.locator('tr[data-fleet="billing-api"]').count(), 0);
    // Kept for the tab like a pasted token: a reload asks neither the provider nor for a token.
    await page.reload();
    await page.locator('tr[data-fleet="shop-web"]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign in with SSO' }).count(), 0);
    // The token field is still there for API tokens.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    await page.close();
  });

  it('the dashboard: ada, in platform-admins, is an installation admin with its actions', async () => {
    // A new person: the provider's session of sam (its cookies) is not hers.
    await browser.context.clearCookies();
    const page = await browser.newPage();
    await signIn(page, 'ada@example.com');
    assert.match(await page.getByTestId('caller').innerText(), /ada@example\.com\s*admin/);
    await page.locator('tr[data-fleet="shop-web"]').waitFor();
    await page.locator('tr[data-fleet="billing-api"]').waitFor();
    await page.goto(`${base}/#/fleets/billing-api`);
    await page.getByRole('button', { name: 'Sync now' }).waitFor();
    await page.close();
    assert.deepEqual(pageErrors, []);
  });

  it('the dashboard refuses an answer that is not for the sign-in it began, and signs in no one', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign in with SSO' }).click();
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.goto(`${base}/?code=stolen&state=forged`);
    await page.getByRole('alert').getByText('its state does not match').waitFor();
    assert.equal(page.url(), `${base}/`);
    assert.equal(await page.evaluate('sessionStorage.getItem("gitfleet.token")'), null);
    // What the sign-in needed is gone with it: the same answer again is for no sign-in at all.
    await page.goto(`${base}/?code=stolen&state=forged`);
    await page.getByRole('alert').getByText('this tab was not waiting for a sign-in').waitFor();
    await page.close();
  });

  it('the CLI: login --sso --no-browser signs sam in through the printed URL, and the token works', async () => {
    const configFile = join(configDir, 'sam.json');
    const login = startCli(['login', '--server', base, '--sso', '--no-browser'], configFile);
    const [, url] = await login.waitFor(AUTH_URL);
    const authorization = new URL(url!);
    assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorization.searchParams.get('client_id'), PUBLIC_CLIENT);
    assert.match(
      authorization.searchParams.get('redirect_uri') ?? '',
      /^http:\/\/127\.0\.0\.1:\d+\/callback$/,
    );
    const back = await idp.signIn(url!, 'sam@shop.example');
    const answer = await fetch(back);
    assert.equal(answer.status, 200);
    assert.match(await answer.text(), /Signed in to .* as sam@shop\.example/);
    assert.equal(await login.exited, 0, login.stderr);
    assert.match(login.stdout, /As:\s+sam@shop\.example \(none\)/);
    assert.match(login.stdout, /Projects:\s+shop \(admin\)/);
    const saved = JSON.parse(readFileSync(configFile, 'utf8')) as { server: string; token: string };
    assert.equal(saved.server, base);
    assert.equal(decodeJwt(saved.token).email, 'sam@shop.example');

    const list = startCli(['fleet', 'list'], configFile);
    assert.equal(await list.exited, 0, list.stderr);
    assert.match(list.stdout, /shop-web/);
    assert.doesNotMatch(list.stdout, /billing-api/);
  });

  it('the CLI refuses a callback with a wrong state, keeps waiting, and takes the real one', async () => {
    const configFile = join(configDir, 'ada.json');
    const login = startCli(['login', '--server', base, '--sso', '--no-browser'], configFile);
    const [, url] = await login.waitFor(AUTH_URL);
    const back = new URL(await idp.signIn(url!, 'ada@example.com'));
    const forged = new URL(back);
    forged.searchParams.set('state', 'forged');
    const refused = await fetch(forged);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /state does not match/);
    await login.waitFor(/ignored a sign-in answer whose state does not match/, 'stderr');
    assert.equal(login.child.exitCode, null, 'still waiting');
    // The code was not spent on the forged answer: the real one signs in with it.
    assert.equal((await fetch(back)).status, 200);
    assert.equal(await login.exited, 0, login.stderr);
    assert.match(login.stdout, /As:\s+ada@example\.com \(admin\)/);
  });

  it('the CLI gives up after --timeout with exit 5, and says so where only tokens are taken', async () => {
    const configFile = join(configDir, 'nobody.json');
    const waiting = startCli(
      ['login', '--server', base, '--sso', '--no-browser', '--timeout', '1s'],
      configFile,
    );
    assert.equal(await waiting.exited, 5);
    assert.match(waiting.stderr, /no sign-in within 1s/);
    const plainLogin = startCli(['login', '--server', plainBase, '--sso', '--no-browser'], configFile);
    assert.equal(await plainLogin.exited, 1);
    assert.match(plainLogin.stderr, /^NotFound: single sign-on is not configured/);
    assert.throws(() => readFileSync(configFile), /ENOENT/);
  });
});
