// Scenario 8: the web dashboard with a fleet of N clusters (default 10,000), measured in a real
// headless Chromium (Debian's, through test/src/browser.ts). N clusters are registered, a
// plain-YAML fleet (the quick start's manifests; stages dev and prod by label) is created, and
// every cluster's status is ingested (Ready at its desired revision with its four objects; 2 %
// Failed with a message, 1 % Progressing) — no agents: the page reads only what is stored.
//
//   fleet page   navigation → the fleet's summary, conditions and stages drawn (the first
//                meaningful paint, mark `gitfleet:fleet`), and → the first page of the
//                stages × clusters matrix drawn (`gitfleet:matrix`); FCP; the longest task
//   clusters     navigation → the first page of the cluster list drawn
//   filter       phase = Failed on the fleet page: input → the filtered matrix drawn
//   live         N StatusChanged events on the stream at once: the longest task, and the time
//                until the page has drawn the last one
//
// Reference, same run, same page origin and token: the API calls the fleet page makes (fetch +
// JSON.parse in the page, nothing drawn), i.e. the floor the control plane sets.
//
//   node bench/dashboard.ts [--clusters 10000] [--runs 5] [--quick]
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import type { ClusterFleetStatus } from '../control-plane/src/status/types.ts';
import { startBrowser } from '../test/src/browser.ts';
import { startTestControlPlane } from '../test/src/control-plane.ts';
import { startGitServer } from '../test/src/git-server.ts';
import { startRedis } from '../test/src/redis.ts';
import { benchArgs, positive } from './lib/args.ts';
import { quickstartManifests } from './lib/fleet.ts';
import { type Cell, ms, now, Report } from './lib/report.ts';
import { summarize } from './lib/stats.ts';

const args = benchArgs({
  clusters: { type: 'string', default: '10000' },
  runs: { type: 'string', default: '5' },
});
const N = args.quick ? 1000 : positive(args.clusters, '--clusters');
const RUNS = args.quick ? 2 : positive(args.runs, '--runs');
const GOAL_MS = 1000;
const FLEET = 'bench';

// The functions given to page.evaluate run in the page: the few DOM names they use.
declare const performance: {
  now(): number;
  getEntriesByName(name: string): { startTime: number }[];
  getEntriesByType(type: string): { name: string; startTime: number }[];
};
declare const window: { __longTasks: { start: number; duration: number }[] };
declare const document: {
  querySelector(s: string): { value: string; dispatchEvent(e: unknown): void } | null;
  querySelectorAll(s: string): { length: number };
};
declare const Event: new (type: string, init?: { bubbles: boolean }) => unknown;
declare function requestAnimationFrame(cb: () => void): void;
declare function fetch(url: string, init?: unknown): Promise<{ text(): Promise<string> }>;

const report = new Report('dashboard', { clusters: N, runs: RUNS, goalMs: GOAL_MS });
// Bounded in time whatever happens: a run that hangs stops (and its servers with it).
setTimeout(() => {
  console.error('bench/dashboard.ts: still running after 20 minutes; stopping');
  process.exit(1);
}, 20 * 60_000).unref();
const redis = await startRedis();
const git = await startGitServer();
const cp = await startTestControlPlane({
  redisUrl: redis.url,
  env: { GITFLEET_POLL_INTERVAL_SECONDS: '3600' },
});
report.log('starting Chromium');
const browser = await startBrowser({ viewport: { width: 1400, height: 1000 } });

try {
  await cp.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(cp.app.server.address() as { port: number }).port}`;

  // ---- the fleet -----------------------------------------------------------------------------
  report.log(`registering ${N} clusters`);
  const regions = ['eu', 'us', 'ap'];
  const names = Array.from({ length: N }, (_, i) => `c-${String(i).padStart(5, '0')}`);
  const envOf = (i: number) => (i % 10 === 0 ? 'dev' : 'prod');
  for (let i = 0; i < N; i += 200) {
    await Promise.all(
      names.slice(i, i + 200).map((name, j) =>
        cp.cp.registry.register(name, {
          env: envOf(i + j),
          region: regions[(i + j) % 3]!,
          bench: 'dashboard',
        }),
      ),
    );
  }
  await git.createRepo(FLEET, {
    'fleet.yaml': `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { bench: dashboard, env: dev } }
  - name: prod
    selector: { matchLabels: { bench: dashboard, env: prod } }
substitute:
  namespace: podinfo-\${stage}
`,
    ...quickstartManifests(),
  });
  report.log('creating the fleet (renders every cluster)');
  let start = now();
  const created = await cp.api<{ head: string }>('POST', '/api/v1/fleets', {
    name: FLEET,
    repo: git.repoUrl(FLEET),
    credentials: { username: git.username, password: git.password },
  });
  if (created.status !== 201) throw new Error(`fleet not created: ${JSON.stringify(created.body)}`);
  report.log(`fleet created in ${ms(start).toFixed(0)} ms`);

  report.log('ingesting a status for every cluster');
  start = now();
  const objects = ['Namespace', 'ConfigMap', 'Deployment', 'Service'].map((kind) => ({
    apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
    kind,
    namespace: kind === 'Namespace' ? '' : 'podinfo-prod',
    name: kind === 'Namespace' ? 'podinfo-prod' : 'podinfo',
    action: 'unchanged' as const,
    health: 'Current' as const,
    reason: kind === 'Deployment' ? 'Available' : 'NoStatus',
    message: kind === 'Deployment' ? '2 replicas updated and available' : 'has no status to wait for',
    drifted: false,
  }));
  for (let i = 0; i < N; i += 500) {
    await Promise.all(
      names.slice(i, i + 500).map(async (cluster, j) => {
        const desired = await cp.cp.desired.getOne(cluster, FLEET);
        if (!desired) return;
        const k = i + j;
        const phase = k % 50 === 7 ? 'Failed' : k % 100 === 3 ? 'Progressing' : 'Ready';
        const status: ClusterFleetStatus = {
          cluster,
          fleet: FLEET,
          sequence: 1,
          desiredRevision: desired.revision,
          desiredDigest: desired.digest,
          appliedRevision: phase === 'Ready' ? desired.revision : '',
          attemptedRevision: desired.revision,
          phase,
          message: phase === 'Failed' ? 'Deployment podinfo-prod/podinfo: ProgressDeadlineExceeded' : '',
          objects,
          driftCorrections: 0,
          observedAt: new Date().toISOString(),
          receivedAt: new Date().toISOString(),
        };
        await cp.cp.ingestion.enqueue(cluster, status);
      }),
    );
  }
  for (let i = 0; (await cp.cp.ingestion.backlog()) > 0; i++) {
    if (i > 600) throw new Error('status ingestion did not finish in 5 minutes');
    await sleep(500);
  }
  // The re-plans that the StatusChanged events caused: let them settle.
  await sleep(3000);
  report.log(`statuses stored in ${ms(start).toFixed(0)} ms`);

  // ---- measurements --------------------------------------------------------------------------
  const token = cp.adminToken;
  // In every page before its own scripts: the token (as if typed at login) and a recorder of
  // long tasks (main thread busy > 50 ms).
  await browser.context.addInitScript({
    content: `sessionStorage.setItem('gitfleet.token', ${JSON.stringify(token)});
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });`,
  });
  const markAt = (page: Page, mark: string) =>
    page
      .waitForFunction((m) => performance.getEntriesByName(m).length > 0, mark, { timeout: 60_000 })
      .then(() => page.evaluate((m) => performance.getEntriesByName(m)[0]!.startTime, mark));
  const longest = (page: Page, from = 0) =>
    page.evaluate(
      (f) => Math.max(0, ...window.__longTasks.filter((t) => t.start >= f).map((t) => t.duration)),
      from,
    );

  const rows: Record<string, number[]> = {
    fleetPaint: [],
    matrixPaint: [],
    fcp: [],
    fleetLongTask: [],
    clustersPaint: [],
    clustersLongTask: [],
    filter: [],
    reference: [],
    statusApi: [],
    fleetApi: [],
    promotionsApi: [],
  };
  for (let run = 0; run < RUNS; run++) {
    // Server side alone, from Node.
    for (const [key, path] of [
      ['fleetApi', `/api/v1/fleets/${FLEET}`],
      ['statusApi', `/api/v1/fleets/${FLEET}/status`],
      ['promotionsApi', `/api/v1/fleets/${FLEET}/promotions`],
    ] as const) {
      const t = now();
      await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).text();
      rows[key]!.push(ms(t));
    }

    const page = await browser.newPage();
    await page.goto(`${base}/#/fleets/${FLEET}`);
    rows.fleetPaint!.push(await markAt(page, 'gitfleet:fleet'));
    rows.matrixPaint!.push(await markAt(page, 'gitfleet:matrix'));
    rows.fcp!.push(
      await page.evaluate(
        () =>
          performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint')?.startTime ??
          -1,
      ),
    );
    rows.fleetLongTask!.push(await longest(page));

    // Filter by phase: the change event → the next frame after the matrix shows only Failed.
    rows.filter!.push(
      await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            const select = document.querySelector('#f-phase')!;
            const t0 = performance.now();
            select.value = 'Failed';
            select.dispatchEvent(new Event('change', { bubbles: true }));
            const check = () => {
              if (document.querySelectorAll('a.cell:not([data-phase="Failed"])').length === 0)
                requestAnimationFrame(() => resolve(performance.now() - t0));
              else requestAnimationFrame(check);
            };
            requestAnimationFrame(check);
          }),
      ),
    );
    await page.close();

    const list = await browser.newPage();
    await list.goto(`${base}/#/clusters`);
    rows.clustersPaint!.push(await markAt(list, 'gitfleet:clusters'));
    rows.clustersLongTask!.push(await longest(list));

    // The reference: the fleet page's API calls from a page of the same origin, drawing nothing.
    rows.reference!.push(
      await list.evaluate(
        async ([f, t]) => {
          const t0 = performance.now();
          const get = async (path: string) =>
            JSON.parse(await (await fetch(path, { headers: { authorization: `Bearer ${t}` } })).text());
          await Promise.all([
            get(`/api/v1/fleets/${f}`),
            get(`/api/v1/fleets/${f}/status`),
            get(`/api/v1/fleets/${f}/promotions`),
          ]);
          return performance.now() - t0;
        },
        [FLEET, token] as const,
      ),
    );
    await list.close();
    report.log(
      `run ${run + 1}: fleet ${rows.fleetPaint!.at(-1)!.toFixed(0)} ms, matrix ${rows.matrixPaint!.at(-1)!.toFixed(0)} ms, clusters ${rows.clustersPaint!.at(-1)!.toFixed(0)} ms`,
    );
  }

  // Live: N events at once while the fleet page is open. DesiredStateChanged, published on the
  // control plane's channel: the page applies it to the cluster's cell at once and reloads
  // (throttled), as it does StatusChanged; StatusChanged itself would also make the control
  // plane re-plan the fleet once per event, which is not what is measured here.
  const page = await browser.newPage();
  await page.goto(`${base}/#/fleets/${FLEET}`);
  await markAt(page, 'gitfleet:matrix');
  await page.waitForFunction(
    () => document.querySelector('[data-testid="stream"][data-state="live"]') !== null,
  );
  const before = await page.evaluate(() => performance.now());
  start = now();
  const pipeline = cp.cp.redis.pipeline();
  const time = new Date().toISOString();
  for (const cluster of names) {
    pipeline.publish(
      cp.cp.events.channelName,
      JSON.stringify({
        type: 'DesiredStateChanged',
        cluster,
        fleet: FLEET,
        stage: 'prod',
        revision: 'f'.repeat(40),
        time,
      }),
    );
  }
  await pipeline.exec();
  // The events panel shows the newest first: drawn once the last cluster's event is on the page.
  const last = names.at(-1)!;
  await page.waitForFunction(
    (c) =>
      (
        document.querySelector('#events li') as unknown as { textContent: string } | null
      )?.textContent.includes(c) ?? false,
    last,
    { timeout: 60_000 },
  );
  const liveMs = ms(start);
  const liveLongTask = await longest(page, before);
  await page.close();

  const stat = (xs: number[]) => summarize(xs);
  const row = (what: string, xs: number[], note: string): Cell[] => {
    const s = stat(xs);
    return [what, s.p50, s.max, note];
  };
  report.table(
    `dashboard with ${N.toLocaleString('en-US')} clusters (${RUNS} runs, ms)`,
    ['measure', 'p50', 'max', 'what'],
    [
      row('fleet page: first meaningful paint', rows.fleetPaint!, 'summary, conditions, stages drawn'),
      row('fleet page: matrix drawn', rows.matrixPaint!, 'first page of every stage'),
      row('fleet page: first contentful paint', rows.fcp!, 'Chromium paint timing'),
      row('fleet page: longest task', rows.fleetLongTask!, 'main thread blocked'),
      row('filter by phase', rows.filter!, 'change → redrawn'),
      row('clusters page: drawn', rows.clustersPaint!, 'first 100 rows'),
      row('clusters page: longest task', rows.clustersLongTask!, ''),
      row('reference: the API calls alone (in page)', rows.reference!, 'fetch + JSON.parse, nothing drawn'),
      row('GET /api/v1/fleets/{name} (Node)', rows.fleetApi!, ''),
      row('GET /api/v1/fleets/{name}/status (Node)', rows.statusApi!, ''),
      row('GET /api/v1/fleets/{name}/promotions (Node)', rows.promotionsApi!, ''),
      ['live: N events at once → drawn', liveMs, liveMs, `${N.toLocaleString('en-US')} DesiredStateChanged`],
      ['live: longest task meanwhile', liveLongTask, liveLongTask, ''],
    ],
  );
  const fmp = stat(rows.fleetPaint!).p50;
  report.note(
    `first meaningful paint p50 ${fmp.toFixed(0)} ms: goal < ${GOAL_MS} ms ${fmp < GOAL_MS ? 'met' : 'NOT met'}`,
  );
  report.data.results = { ...rows, liveMs, liveLongTask };
  report.write();
} finally {
  await browser.close();
  await cp.stop();
  await git.stop();
  await redis.stop();
}
