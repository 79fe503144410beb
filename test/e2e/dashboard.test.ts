// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${cluster.name} in plain strings is the substitution syntax
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText() is the text a person sees, which is what is asserted
// The web dashboard in a real headless Chromium (Debian's, driven by playwright-core), against
// real parts: a Git server, the control plane listening on loopback, real agents on the test
// kube-apiservers. Three gitfleet clusters in two stages (dev; prod with two clusters sharing
// one kube-apiserver, rolled out one at a time). What is asserted is what a person sees: the
// fleet Ready, a drift correction with its field and field manager, a bad commit's file and
// line, a promotion's preview (per cluster what would change, nothing applied), the gate's
// refusal with the clusters not Ready, a promotion's waves going Ready without a reload, a
// halted rollout's reason, a viewer without buttons; and that the page asked no host but the
// control plane. Screenshots of each view go
// to the test artifacts directory (GITFLEET_TEST_ARTIFACTS, default $TMPDIR/gitfleet-artifacts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { startAgentProcess } from '../src/agent-process.ts';
import { startBrowser, type TestBrowser } from '../src/browser.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import { webDeployment } from '../src/manifests.ts';
import type { ManagedProcess } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');
const fleet = `dash-${id}`;
const artifacts = join(
  process.env.GITFLEET_TEST_ARTIFACTS ?? join(tmpdir(), 'gitfleet-artifacts'),
  'dashboard',
);

const fleetYaml = (prodPin?: string) => `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { dash: "${id}", env: dev } }
  - name: prod
    selector: { matchLabels: { dash: "${id}", env: prod } }
    requires: dev
    rollout: { maxUnavailable: 1, progressDeadline: 5m }${prodPin ? `\n    revision: ${prodPin}` : ''}
`;

// Line 8 of config.yaml is the greeting: where the bad commit puts an unknown variable.
const manifests = (greeting: string, extra = false): Record<string, string | null> => ({
  'manifests/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop-${cluster.name}\n',
  'manifests/config.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop-\${cluster.name}
data:
  stage: "\${stage}"
  greeting: "${greeting}"
`,
  'manifests/extra.yaml': extra
    ? 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: shop-${cluster.name}\ndata:\n  a: "1"\n'
    : null,
  // The greeting in the pod template too: each revision rolls the Deployment's pods, so a
  // wave takes the seconds a real one does (the page has time to show it moving).
  'manifests/web.yaml': webDeployment(`shop-\${cluster.name}`, 1).replace(
    '    metadata: { labels: { app: web } }',
    `    metadata: { labels: { app: web }, annotations: { greeting: "${greeting}" } }`,
  ),
});

// The functions given to page.evaluate and waitForFunction run in the page: these are the few
// DOM names they use (the test project is compiled without the DOM library).
interface PageElement {
  textContent: string | null;
  tagName: string;
  outerHTML: string;
  dataset: Record<string, string | undefined>;
  labels?: { length: number } | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
declare const document: PageElement & {
  activeElement: PageElement | null;
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number; scrollTo(x: number, y: number): void };

interface StatusItem {
  cluster: string;
  phase: string;
  appliedRevision: string | null;
  driftCorrections: number;
}

describe('the dashboard, in a real browser', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let browser: TestBrowser;
  let base = '';
  let admin: Page;
  const pageErrors: string[] = [];
  const agents = new Map<string, ManagedProcess>();
  const [k1, k2] = env.clusters;
  const dev = `dev-${id}`;
  const prodA = `prod-a-${id}`;
  const prodB = `prod-b-${id}`;
  const members = [
    { name: dev, env: 'dev', kube: k1!, agentNs: `gfd-${id}-dev` },
    { name: prodA, env: 'prod', kube: k2!, agentNs: `gfd-${id}-pa` },
    { name: prodB, env: 'prod', kube: k2!, agentNs: `gfd-${id}-pb` },
  ];
  const kubectlOf = (cluster: string) => kubectlFor(members.find((m) => m.name === cluster)!.kube.kubeconfig);
  const rev = { v1: '', pin: '', bad: '', v2: '', v3: '' };
  const short = (sha: string) => sha.slice(0, 7);

  const statusOf = async (cluster: string) => {
    const res = await cp.api<{ items: StatusItem[] }>('GET', `/api/v1/fleets/${fleet}/status`);
    return res.body.items.find((i) => i.cluster === cluster);
  };
  const apiState = async () => {
    const status = await cp.api('GET', `/api/v1/fleets/${fleet}/status`);
    const view = await cp.api('GET', `/api/v1/fleets/${fleet}`);
    const logs = [...agents.values()].map((a) => `--- ${a.name}\n${a.tail(8)}`).join('\n');
    return `API status: ${JSON.stringify(status.body).slice(0, 3000)}\nfleet: ${JSON.stringify(view.body).slice(0, 3000)}\n${logs}`;
  };
  /** Waits until `probe` (run in the page) is true; on timeout says what the API had. */
  const see = async <A>(page: Page, what: string, probe: (arg: A) => boolean, arg: A, timeoutMs = 90_000) => {
    try {
      await page.waitForFunction(probe as (arg: unknown) => boolean, arg as unknown, {
        timeout: timeoutMs,
        polling: 100,
      });
    } catch (err) {
      await page.screenshot({
        path: join(artifacts, `failed-${what.replace(/\W+/g, '-')}.png`),
        fullPage: true,
      });
      throw new Error(`the page did not show ${what}: ${(err as Error).message}\n${await apiState()}`);
    }
  };
  const cellShows = (page: Page, cluster: string, phase: string, revision: string) =>
    see(
      page,
      `${cluster} ${phase} at ${short(revision)}`,
      ([c, p, r]) => {
        const el = document.querySelector(`a.cell[data-cluster="${c}"]`);
        return el?.dataset.phase === p && (el.textContent ?? '').includes(`at ${r}`);
      },
      [cluster, phase, short(revision)] as const,
    );
  const readyAt = async (cluster: string, revision: string) => {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const s = await statusOf(cluster);
      if (s?.phase === 'Ready' && s.appliedRevision === revision) return;
      await sleep(250);
    }
    throw new Error(`timed out waiting for ${cluster} Ready at ${short(revision)}\n${await apiState()}`);
  };
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const push = (files: Record<string, string | null>, message: string) =>
    git.commit(fleet, files, message, { author: { name: 'Pat Person', email: 'pat@example.com' } });
  const signIn = async (page: Page, token: string) => {
    page.on('pageerror', (err) => void pageErrors.push(err.message));
    await page.goto(`${base}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('caller').waitFor();
  };
  const openFleet = async (page: Page) => {
    await page.goto(`${base}/#/fleets/${fleet}`);
    await page.locator('#matrix').waitFor();
  };

  before(async () => {
    assert.ok(k2, 'this suite needs two kube clusters (GITFLEET_TEST_CLUSTERS=2)');
    rmSync(artifacts, { recursive: true, force: true });
    mkdirSync(artifacts, { recursive: true });
    git = await startGitServer();
    cp = await startTestControlPlane({ redisUrl: env.redisUrl });
    await cp.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(cp.app.server.address() as { port: number }).port}`;
    browser = await startBrowser();
    for (const m of members) await kubectlFor(m.kube.kubeconfig)(['create', 'namespace', m.agentNs]);
  });

  after(async () => {
    await browser?.close();
    for (const a of agents.values()) await a.stop();
    await cp?.stop();
    await git?.stop();
    for (const m of members) {
      await kubectlFor(m.kube.kubeconfig)([
        'delete',
        'namespace',
        m.agentNs,
        `shop-${m.name}`,
        '--wait=false',
        '--ignore-not-found',
      ]).catch(() => {});
    }
    process.stdout.write(`# dashboard screenshots: ${artifacts}\n`);
  });

  it('is served at / with a strict Content-Security-Policy, and refuses a wrong token', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal((await fetch(`${base}/ui/app.js`)).headers.get('content-security-policy'), csp);
    // The page and its files need no token; the API still does.
    assert.equal((await fetch(`${base}/api/v1/fleets`)).status, 401);

    const page = await browser.newPage();
    page.on('pageerror', (err) => void pageErrors.push(err.message));
    await page.goto(`${base}/`);
    await page.getByLabel('API token').fill('not-a-token-of-this-control-plane');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('API token not recognised').waitFor();
    await shot(page, '01-login');
    await page.close();
  });

  it('an admin signs in once per tab and sees the fleet Ready on the test clusters', async () => {
    const files = Object.fromEntries(
      Object.entries(manifests('v1')).filter((e): e is [string, string] => e[1] !== null),
    );
    rev.v1 = await git.createRepo(fleet, { 'fleet.yaml': fleetYaml(), ...files });
    rev.pin = await push({ 'fleet.yaml': fleetYaml(rev.v1) }, 'pin prod to v1');
    for (const m of members) {
      const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
        name: m.name,
        labels: { dash: id, env: m.env, region: m.env === 'dev' ? 'eu' : 'us' },
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      agents.set(
        m.name,
        startAgentProcess({
          name: m.name,
          kubeconfig: m.kube.kubeconfig,
          controlPlane: cp.grpcAddress,
          caPem: cp.caPem,
          namespace: m.agentNs,
          bootstrapToken: reg.body.bootstrapToken,
        }),
      );
    }
    const created = await cp.api('POST', '/api/v1/fleets', {
      name: fleet,
      repo: git.repoUrl(fleet),
      credentials: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    admin = await browser.newPage();
    await signIn(admin, cp.adminToken);
    assert.match(await admin.getByTestId('caller').innerText(), /alice\s*admin/);
    // The fleet list: Ready once every cluster is.
    const row = `tr[data-fleet="${fleet}"]`;
    await see(
      admin,
      'the fleet Ready in the list',
      (sel) => document.querySelector(`${sel} [data-ready]`)?.getAttribute('data-ready') === 'True',
      row,
    );
    const listed = await admin.locator(row).innerText();
    assert.match(listed, /✓ Ready/);
    assert.match(listed, new RegExp(short(rev.pin)), 'the head');
    assert.match(listed, /dev\s*✓\s*1 Ready/);
    assert.match(listed, /prod\s*✓\s*2 Ready/);
    await shot(admin, '02-fleets');

    // Kept for the tab: a reload asks for nothing.
    await admin.reload();
    await admin.getByTestId('caller').waitFor();
    assert.equal(await admin.getByLabel('API token').count(), 0);

    await openFleet(admin);
    await cellShows(admin, dev, 'Ready', rev.pin);
    await cellShows(admin, prodA, 'Ready', rev.v1);
    await cellShows(admin, prodB, 'Ready', rev.v1);
    const ready = admin.locator('[data-condition="Ready"]');
    assert.equal(await ready.getAttribute('data-status'), 'True');
    for (const type of ['Fetched', 'Rendered', 'Stalled']) {
      assert.equal(await admin.locator(`[data-condition="${type}"]`).count(), 1, type);
    }
    assert.match(await admin.getByTestId('last-good').innerText(), new RegExp(short(rev.pin)));
    // The cell says its phase in words and symbols, not colour alone.
    assert.match(await admin.locator(`a.cell[data-cluster="${prodA}"]`).innerText(), /✓\s*Ready/);
    await shot(admin, '03-fleet');

    // A cluster, and the fleet on it object by object.
    await admin.goto(`${base}/#/clusters/${dev}`);
    await admin.locator(`tr[data-fleet="${fleet}"]`).waitFor();
    const clusterPage = await admin.locator('main').innerText();
    assert.match(clusterPage, new RegExp(`dash=${id}`));
    assert.match(clusterPage, /connected/);
    assert.match(clusterPage, /v1\.\d+/, 'the Kubernetes version');
    await shot(admin, '04-cluster');
    await admin.locator(`tr[data-fleet="${fleet}"] a`).click();
    await admin.locator('tr[data-object="ConfigMap/web-config"]').waitFor();
    assert.match(await admin.locator('tr[data-object="Deployment/web"]').innerText(), /Current/);
    await shot(admin, '05-cluster-fleet');
  });

  it('a drift correction shows on the cluster × fleet page: the field, who changed it, when, and the count', async () => {
    const kubectl = kubectlOf(dev);
    const ns = `shop-${dev}`;
    await admin.goto(`${base}/#/fleets/${fleet}/clusters/${dev}`);
    await admin.locator('tr[data-object="ConfigMap/web-config"]').waitFor();
    await kubectl([
      'patch',
      'configmap',
      'web-config',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"data":{"greeting":"tampered"}}',
    ]);
    // The page is not reloaded: the correction arrives with the agent's report.
    await see(
      admin,
      'the corrected field and its manager',
      () => {
        const row = document.querySelector('tr[data-drift="ConfigMap/web-config"]')?.textContent ?? '';
        return row.includes('data.greeting changed') && row.includes('kubectl-patch');
      },
      null,
    );
    assert.equal(
      await kubectl(['get', 'configmap', 'web-config', '-n', ns, '-o', 'jsonpath={.data.greeting}']),
      'v1',
      'the agent put the value back',
    );
    const row = admin.locator('tr[data-drift="ConfigMap/web-config"]');
    const text = await row.innerText();
    assert.match(text, /ConfigMap\s+shop-[\w-]+\/web-config/);
    assert.match(text, /kubectl-patch\s+\(Update\)\s+\d+ (s|min) ago/);
    // Relative times, the exact ones in the title.
    for (const title of await row
      .locator('time')
      .evaluateAll((els) => els.map((e) => e.getAttribute('title')))) {
      assert.match(title ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    }
    const corrections = (await statusOf(dev))?.driftCorrections ?? 0;
    assert.ok(corrections >= 1, `${corrections} drift corrections`);
    await see(
      admin,
      `${corrections} drift corrections`,
      (n) => document.querySelector('[data-testid="drift-corrections"]')?.textContent === String(n),
      corrections,
    );
    assert.match(
      await admin.getByTestId('drift-total').innerText(),
      new RegExp(`^${corrections} corrections? in all$`),
    );
    // Only field paths: the value typed into the cluster is nowhere on the page.
    assert.doesNotMatch(await admin.locator('main').innerText(), /tampered/);
    // The reports that got it here, newest first, as the API keeps them (the agent may have sent
    // more since the page loaded: the page's rows are among the API's, in the same order).
    const rows = admin.locator('table.reports tbody tr');
    await rows.nth(1).waitFor();
    const shown = (await rows.allInnerTexts()).map((t) => t.split('\t').map((c) => c.trim()));
    const reports = (
      await cp.api<{ items: { sequence: number; phase: string }[] }>(
        'GET',
        `/api/v1/fleets/${fleet}/clusters/${dev}/reports`,
      )
    ).body.items;
    const bySequence = new Map(reports.map((r) => [String(r.sequence), r.phase]));
    for (const [sequence, phase] of shown) {
      assert.ok(phase?.endsWith(bySequence.get(sequence ?? '') ?? '?'), `report ${sequence}: ${phase}`);
    }
    const sequences = shown.map(([sequence]) => Number(sequence));
    assert.deepEqual(
      sequences,
      [...sequences].sort((a, b) => b - a),
      'newest first',
    );
    await shot(admin, '05b-drift-corrected');
  });

  it('a bad commit shows its error with file and line, and every cluster keeps the last good revision', async () => {
    await openFleet(admin);
    rev.bad = await push(
      { 'manifests/config.yaml': manifests('${nope}')['manifests/config.yaml']! },
      'greet with an unknown variable',
    );
    await admin.getByRole('button', { name: 'Sync now' }).click();
    await admin
      .getByRole('status')
      .getByText(`the branch head is ${short(rev.bad)}`)
      .waitFor();
    await see(
      admin,
      'the error with its file and line',
      () => /manifests\/config\.yaml:8/.test(document.querySelector('.errors')?.textContent ?? ''),
      null,
    );
    const errors = await admin.locator('.errors').innerText();
    assert.match(errors, /UnknownVariable/);
    assert.match(errors, /nope/);
    assert.match(errors, new RegExp(`keeps ${short(rev.pin)}`));
    assert.equal(await admin.locator('[data-condition="Rendered"]').getAttribute('data-status'), 'False');
    assert.match(await admin.locator('[data-condition="Rendered"]').innerText(), /InvalidRevision/);
    await cellShows(admin, dev, 'Ready', rev.pin);
    await shot(admin, '06-bad-commit');

    rev.v2 = await push(manifests('v2'), 'greet with v2');
    await admin.getByRole('button', { name: 'Sync now' }).click();
    await cellShows(admin, dev, 'Ready', rev.v2);
    await see(admin, 'the errors gone', () => !document.querySelector('.errors'), null);
  });

  it('the promote dialog previews what prod would change, per cluster, and previewing promotes nothing', async () => {
    await openFleet(admin);
    await cellShows(admin, prodA, 'Ready', rev.v1);
    await admin.getByRole('button', { name: 'Promote prod…' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Promote prod' });
    // The loading state is short: a sampler in the page notes whether it was shown.
    await admin.evaluate(() => {
      const w = window as unknown as { sawLoading: boolean };
      w.sawLoading = false;
      const timer = setInterval(() => {
        if (document.querySelector('[data-testid="preview-loading"]')) {
          w.sawLoading = true;
          clearInterval(timer);
        }
      }, 5);
    });
    // No revision typed: the promotion would pin what dev runs, v2, and that is what is previewed.
    await dialog.getByRole('button', { name: 'Preview changes' }).click();
    await see(
      admin,
      'the preview of both prod clusters',
      ([a, b]) =>
        [a, b].every(
          (c) =>
            document.querySelector(`[data-preview-cluster="${c}"]`)?.getAttribute('data-outcome') ===
            'compared',
        ),
      [prodA, prodB] as const,
    );
    assert.equal(
      await admin.evaluate(() => (window as unknown as { sawLoading: boolean }).sawLoading),
      true,
      'the dialog said it was loading',
    );
    const preview = dialog.getByTestId('preview');
    assert.match(
      await preview.locator('h3').innerText(),
      new RegExp(`If prod ran ${short(rev.v2)} \\(what dev runs\\)`),
    );
    for (const c of [prodA, prodB]) {
      const cluster = preview.locator(`[data-preview-cluster="${c}"]`);
      assert.match(await cluster.locator('h4').innerText(), new RegExp(`${c}\\s+✓ compared`));
      assert.match(await cluster.locator('.preview-counts').innerText(), /^2 changed, \d+ unchanged$/);
      const config = cluster.locator('li[data-object="ConfigMap/web-config"]');
      assert.equal(await config.getAttribute('data-change'), 'changed');
      assert.match(
        await config.locator('summary').innerText(),
        /~ changed\s+ConfigMap\s+shop-[\w-]+\/web-config/,
      );
      // Collapsed until opened: a large diff does not flood the dialog.
      assert.equal(await config.locator('pre.diff').isVisible(), false);
      await config.locator('summary').click();
      const diff = await config.locator('pre.diff').innerText();
      assert.match(diff, /^\+\s+greeting: v2$/m, diff);
      assert.match(diff, /^-\s+greeting: v1$/m, diff);
      assert.equal(await config.locator('pre.diff span.diff-add', { hasText: 'greeting: v2' }).count(), 1);
      assert.equal(await config.locator('pre.diff span.diff-del', { hasText: 'greeting: v1' }).count(), 1);
      assert.equal(
        await cluster.locator('li[data-object="Deployment/web"]').getAttribute('data-change'),
        'changed',
        'the greeting annotation of the pod template',
      );
    }
    await shot(admin, '06b-promotion-preview');

    // A revision typed is the one previewed: the pin commit has v1's manifests, which prod runs.
    await dialog.getByLabel(/^Revision/).fill(rev.pin);
    assert.equal(await dialog.getByTestId('preview').count(), 0, 'the preview of another revision is gone');
    await dialog.getByRole('button', { name: 'Preview changes' }).click();
    await see(
      admin,
      'the preview of the pin commit',
      (r) => (document.querySelector('[data-testid="preview"] h3')?.textContent ?? '').includes(r),
      short(rev.pin),
    );
    for (const c of [prodA, prodB]) {
      const cluster = preview.locator(`[data-preview-cluster="${c}"]`);
      assert.match(await cluster.locator('.preview-counts').innerText(), /^\d+ unchanged$/);
      assert.equal(await cluster.locator('li[data-change]').count(), 0);
    }
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });

    // Nothing was promoted: no commit on the branch, prod still runs v1.
    const view = await cp.api<{ head: string; stages: { name: string; revision: string }[] }>(
      'GET',
      `/api/v1/fleets/${fleet}`,
    );
    assert.equal(view.body.head, rev.v2);
    assert.equal(view.body.stages.find((s) => s.name === 'prod')?.revision, rev.v1);
    for (const c of [prodA, prodB]) assert.equal((await statusOf(c))?.appliedRevision, rev.v1, c);
    await cellShows(admin, prodA, 'Ready', rev.v1);
    await cellShows(admin, prodB, 'Ready', rev.v1);
  });

  it('the gate refuses a promotion with the clusters not Ready; a promotion moves prod wave by wave, live', async () => {
    await openFleet(admin);
    // Waves and cells as the page shows them, every 50 ms, without reloading the page.
    await admin.evaluate(() => {
      const w = window as unknown as { waveLog: string[]; sameDocument: boolean };
      w.waveLog = [];
      w.sameDocument = true;
      let last = '';
      setInterval(() => {
        const stage = document.querySelector('[data-stage="prod"]');
        const waves = [...(stage?.querySelectorAll('[data-wave]') ?? [])]
          .map((li) => `${li.dataset.wave}:${li.dataset.waveState}`)
          .join(',');
        const state = stage?.querySelector('[data-rollout-state]')?.dataset.rolloutState;
        const now = `${waves}|${state}`;
        if (now !== last) {
          w.waveLog.push(now);
          last = now;
        }
      }, 50);
    });

    // prod requires dev Ready at exactly that revision: dev runs v2, not the pin commit.
    await admin.getByRole('button', { name: 'Promote prod…' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Promote prod' });
    await dialog.getByLabel(/^Revision/).fill(rev.pin);
    await dialog.getByRole('button', { name: 'Promote prod' }).click();
    const refusal = dialog.getByTestId('refusal');
    await refusal.waitFor();
    const refused = await refusal.innerText();
    assert.match(refused, /PromotionRefused/);
    assert.match(refused, new RegExp(`${dev}: ✓ Ready\\s+at ${short(rev.v2)}`));
    await shot(admin, '07-promotion-refused');

    await dialog.getByLabel(/^Revision/).fill('');
    await dialog.getByLabel(/^Reason/).fill('v2 is fine in dev');
    await dialog.getByRole('button', { name: 'Promote prod' }).click();
    await admin
      .getByRole('status')
      .getByText(`Promoted prod to ${short(rev.v2)}`)
      .waitFor();

    await cellShows(admin, prodA, 'Ready', rev.v2);
    await cellShows(admin, prodB, 'Ready', rev.v2);
    await see(
      admin,
      'the prod rollout complete',
      () =>
        document.querySelector('[data-stage="prod"] [data-rollout-state]')?.dataset.rolloutState ===
        'complete',
      null,
    );
    // The sampler above runs every 50 ms: let it record what the page shows now.
    await see(
      admin,
      'the wave log at the completion',
      () => ((window as unknown as { waveLog: string[] }).waveLog.at(-1) ?? '').endsWith('|complete'),
      null,
    );
    const { waveLog, sameDocument } = await admin.evaluate(() => {
      const w = window as unknown as { waveLog: string[]; sameDocument?: boolean };
      return { waveLog: w.waveLog, sameDocument: w.sameDocument === true };
    });
    assert.equal(sameDocument, true, 'the page was not reloaded');
    // The page showed wave 1 moving (wave 2 waiting) and then the rollout complete, and every
    // state it showed in between came in rollout order (a wave that moves faster than the page
    // reloads may be seen only done): a reload read before an event never takes it back.
    const order = [
      /^1:moving,2:waiting\|progressing$/,
      /^1:done,2:waiting\|progressing$/,
      /^1:done,2:moving\|progressing$/,
      /^1:done,2:done\|complete$/,
    ];
    const rank = (x: string) => order.findIndex((re) => re.test(x));
    // From the new rollout's first state on (before it, the last rollout's complete shows).
    const all = waveLog.map(rank).filter((r) => r >= 0);
    const ranks = all.slice(Math.max(0, all.indexOf(0)));
    assert.ok(ranks.includes(0) && ranks.at(-1) === 3, waveLog.join('\n'));
    assert.ok(
      ranks.every((r, i) => i === 0 || r >= (ranks[i - 1] as number)),
      `the waves never went back:\n${waveLog.join('\n')}`,
    );
    // The events panel heard it on the stream, and the fleet is Ready again.
    await admin.locator('#events li[data-type="RolloutComplete"]').first().waitFor();
    await see(
      admin,
      'the fleet Ready again',
      () => document.querySelector('.title-row [data-ready]')?.getAttribute('data-ready') === 'True',
      null,
    );
    await shot(admin, '08-promoted');
  });

  it('a halted rollout shows its reason and cluster; a rollback from the dashboard restores prod', async () => {
    // prod caps ConfigMaps per namespace: the next revision adds one too many there.
    for (const c of [prodA, prodB]) {
      const kubectl = kubectlOf(c);
      const ns = `shop-${c}`;
      const n = (await kubectl(['get', 'configmaps', '-n', ns, '-o', 'name'])).trim().split('\n').length;
      await kubectl(['create', 'quota', 'cap', '-n', ns, `--hard=count/configmaps=${n}`]);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const quota = JSON.parse(await kubectl(['get', 'resourcequota', 'cap', '-n', ns, '-o', 'json']));
        if (quota.status?.used?.['count/configmaps'] === String(n)) break;
        assert.ok(Date.now() < deadline, `quota in ${ns} not counted`);
        await sleep(200);
      }
    }
    rev.v3 = await push(manifests('v2', true), 'add the extra config');
    await cp.api('POST', `/api/v1/fleets/${fleet}/sync`);
    await readyAt(dev, rev.v3);

    await openFleet(admin);
    await admin.getByRole('button', { name: 'Promote prod…' }).click();
    await admin.getByRole('dialog').getByRole('button', { name: 'Promote prod' }).click();
    await admin
      .getByRole('status')
      .getByText(`Promoted prod to ${short(rev.v3)}`)
      .waitFor();
    await see(
      admin,
      'the rollout halted',
      () => Boolean(document.querySelector('[data-testid="halted"]')),
      null,
    );
    const halted = await admin.getByTestId('halted').innerText();
    assert.match(halted, new RegExp(`Rollout halted at ${prodA}`));
    assert.match(halted, new RegExp(`cluster '${prodA}' is Failed at revision ${short(rev.v3)}`));
    assert.match(
      await admin.locator('[data-stage="prod"] [data-wave="1"]').innerText(),
      /Wave 1: halted/,
      'the wave it halted in',
    );
    // The halt is drawn from its event at once; the conditions come with the reload after it.
    await see(
      admin,
      'the fleet Stalled',
      () => document.querySelector('[data-condition="Stalled"]')?.getAttribute('data-status') === 'True',
      null,
    );
    await cellShows(admin, prodB, 'Ready', rev.v2);
    await shot(admin, '09-halted');

    // Which object failed, with the API server's words.
    await admin.locator(`a.cell[data-cluster="${prodA}"]`).click();
    await see(
      admin,
      'the failed object with its reason',
      () =>
        /exceeded quota/.test(document.querySelector('tr[data-object="ConfigMap/extra"]')?.textContent ?? ''),
      null,
    );
    await shot(admin, '10-failed-object');

    await openFleet(admin);
    await admin.getByRole('button', { name: 'Roll back prod…' }).click();
    await admin.getByRole('dialog').getByRole('button', { name: 'Roll back prod' }).click();
    await admin
      .getByRole('status')
      .getByText(`Rolled prod back to ${short(rev.v2)}`)
      .waitFor();
    await cellShows(admin, prodA, 'Ready', rev.v2);
    await see(admin, 'the halt gone', () => !document.querySelector('[data-testid="halted"]'), null);

    // The history: rollback, the two promotions, newest first, by alice.
    await see(
      admin,
      'the rollback in the history',
      () =>
        (
          document.querySelector('section[aria-labelledby="promotions"] tbody tr')?.textContent ?? ''
        ).includes('rollback'),
      null,
    );
    const history = await admin.locator('section[aria-labelledby="promotions"] tbody tr').allInnerTexts();
    assert.equal(history.length, 3, history.join('\n'));
    assert.match(history[0]!, new RegExp(`rollback\\s+prod[\\s\\S]*${short(rev.v2)}[\\s\\S]*alice`));
    assert.match(history[1]!, new RegExp(`promotion\\s+prod[\\s\\S]*${short(rev.v3)}`));
    assert.match(history[2]!, /promote prod to [0-9a-f]{7}\s+v2 is fine in dev/);
    assert.doesNotMatch(history.join('\n'), /Gitfleet-Promotion-Id/, 'trailers are not shown as the reason');
    await shot(admin, '11-history');
  });

  it('a viewer sees no action buttons, and the API refuses the action anyway', async () => {
    const viewer = await browser.newPage();
    await signIn(viewer, cp.viewerToken);
    assert.match(await viewer.getByTestId('caller').innerText(), /victor\s*viewer/);
    await openFleet(viewer);
    await cellShows(viewer, prodA, 'Ready', rev.v2);
    for (const name of [/Sync now/, /Promote/, /Roll back/]) {
      assert.equal(await viewer.getByRole('button', { name }).count(), 0, `a viewer sees no ${name} button`);
    }
    const refused = await viewer.evaluate(
      async ([f, token]) => {
        const res = await fetch(`/api/v1/fleets/${f}/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        return { status: res.status, body: (await res.json()) as { message: string } };
      },
      [fleet, cp.viewerToken] as const,
    );
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /viewer role/);
    await shot(viewer, '12-viewer');

    // Another tab of the same browser asks for a token again (kept per tab).
    const other = await browser.newPage();
    await other.goto(`${base}/`);
    await other.getByLabel('API token').waitFor();
    await other.close();
    await viewer.close();
  });

  it('works at phone width and from the keyboard', async () => {
    await admin.setViewportSize({ width: 390, height: 844 });
    await openFleet(admin);
    await cellShows(admin, prodA, 'Ready', rev.v2);
    const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await admin.evaluate(() => window.scrollTo(0, 0));
    await admin.screenshot({ path: join(artifacts, '13-phone.png') });
    // On a fresh load the first Tab reaches the skip link; Enter on it moves to the view's heading.
    await admin.reload();
    await admin.locator('#matrix').waitFor();
    await admin.keyboard.press('Tab');
    assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await admin.keyboard.press('Enter');
    assert.equal(await admin.evaluate(() => document.activeElement?.tagName), 'H1');
    // Every form control has a label.
    const unlabelled = await admin.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => !el.labels?.length && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unlabelled, []);
    // The promote dialog with a preview fits the phone too, and its diffs open from the keyboard.
    await admin.getByRole('button', { name: 'Promote prod…' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Promote prod' });
    await dialog.getByRole('button', { name: 'Preview changes' }).click();
    await dialog.locator(`[data-preview-cluster="${prodA}"] li[data-change] summary`).first().waitFor();
    const widths = await admin.evaluate(() => {
      const d = document.querySelector('dialog') as unknown as { scrollWidth: number; clientWidth: number };
      return {
        page: document.documentElement.scrollWidth - window.innerWidth,
        dialog: d.scrollWidth - d.clientWidth,
      };
    });
    assert.ok(widths.page <= 0 && widths.dialog <= 0, `wider than the phone: ${JSON.stringify(widths)}`);
    const first = dialog.locator(`[data-preview-cluster="${prodA}"] li[data-change]`).first();
    await first.locator('summary').focus();
    await admin.keyboard.press('Enter');
    assert.equal(await first.locator('details').getAttribute('open'), '');
    await admin.screenshot({ path: join(artifacts, '13b-phone-preview.png') });
    await admin.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await admin.setViewportSize({ width: 1400, height: 1000 });
  });

  it('the pages asked no host but the control plane, and threw no error', async () => {
    assert.ok(browser.requests.length > 20, `${browser.requests.length} requests`);
    const foreign = browser.requests.filter((url) => new URL(url).origin !== base);
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
  });
});
