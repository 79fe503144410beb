// Bad Helm input, each pushed to a fleet that runs: a fleet error with file (and line where the
// tool gives one), the last good revision kept on the cluster, the control plane unhurt, and
// another fleet on the same cluster going on as if nothing happened.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgentProcess } from '../src/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { type GitServer, startGitServer } from '../src/git-server.ts';
import { kubectlFor } from '../src/kube/kubectl.ts';
import type { ManagedProcess } from '../src/process.ts';

const env = environmentFromEnv();
const id = randomBytes(3).toString('hex');

interface FleetView {
  errors: { code: string; file: string; line?: number; message: string }[];
  lastGoodRevision: string | null;
  head: string | null;
}

const chartYaml = 'apiVersion: v2\nname: tiny\nversion: 1.0.0\n';
const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: tiny
data:
  greeting: {{ .Values.greeting | quote }}
`;

describe('bad Helm input', () => {
  let cp: TestControlPlane;
  let git: GitServer;
  let agent: ManagedProcess;
  const cluster = env.clusters[0]!;
  const clusterName = `${cluster.name}-${id}`;
  const agentNs = `gitfleet-${id}`;
  const helmNs = `tiny-${id}`;
  const plainNs = `plain-${id}`;
  const kubectl = kubectlFor(cluster.kubeconfig);
  let good = '';

  const fleetOf = async (fleet: string) => (await cp.api<FleetView>('GET', `/api/v1/fleets/${fleet}`)).body;
  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    timeoutMs = 60_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      last = await probe();
      if (last) return last as T;
      await sleep(300);
    }
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}\n${agent.tail(15)}`);
  };
  const readyAt = (fleet: string, revision: string) =>
    waitFor(`${fleet} Ready at ${revision.slice(0, 7)}`, async () => {
      const res = await cp.api<{ items: { phase: string; appliedRevision: string | null }[] }>(
        'GET',
        `/api/v1/fleets/${fleet}/status`,
      );
      const s = res.body.items[0];
      return s?.phase === 'Ready' && s.appliedRevision === revision;
    });
  /** Pushes `files` to the Helm fleet and returns its view once it reports the head's errors. */
  const pushBad = async (files: Record<string, string | null>, message: string): Promise<FleetView> => {
    const bad = await git.commit(`tiny-${id}`, files, message);
    await cp.api('POST', `/api/v1/fleets/tiny-${id}/sync`);
    return waitFor(`the error of '${message}'`, async () => {
      const v = await fleetOf(`tiny-${id}`);
      return v.head === bad && v.errors.length > 0 ? v : undefined;
    });
  };

  before(async () => {
    git = await startGitServer();
    // Tight bounds, so a runaway template is cut short in seconds.
    cp = await startTestControlPlane({
      redisUrl: env.redisUrl,
      env: { GITFLEET_RENDER_TIMEOUT_SECONDS: '5', GITFLEET_RENDER_MAX_MEMORY_MB: '200' },
    });
    await kubectl(['create', 'namespace', agentNs]);
    const reg = await cp.api<{ bootstrapToken: string }>('POST', '/api/v1/clusters', {
      name: clusterName,
      labels: { bad: id },
    });
    agent = startAgentProcess({
      name: cluster.name,
      kubeconfig: cluster.kubeconfig,
      controlPlane: cp.grpcAddress,
      caPem: cp.caPem,
      namespace: agentNs,
      bootstrapToken: reg.body.bootstrapToken,
    });
    good = await git.createRepo(`tiny-${id}`, {
      'fleet.yaml': `helm:\n  chart: ./chart\n  namespace: ${helmNs}\n  valuesFiles: [values.yaml]\nstages:\n  - name: all\n    selector: { matchLabels: { bad: "${id}" } }\n`,
      'values.yaml': 'greeting: hello\n',
      'chart/Chart.yaml': chartYaml,
      'chart/templates/config.yaml': configMap,
    });
    for (const [name, repo] of [
      [`tiny-${id}`, `tiny-${id}`],
      [`plain-${id}`, `plain-${id}`],
    ] as const) {
      if (name.startsWith('plain')) {
        await git.createRepo(repo, {
          'fleet.yaml': `stages:\n  - name: all\n    selector: { matchLabels: { bad: "${id}" } }\n`,
          'manifests/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${plainNs}\n`,
          'manifests/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n  namespace: ${plainNs}\ndata:\n  n: "0"\n`,
        });
      }
      const created = await cp.api('POST', '/api/v1/fleets', {
        name,
        repo: git.repoUrl(repo),
        credentials: { username: git.username, password: git.password },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    await readyAt(`tiny-${id}`, good);
  });

  after(async () => {
    await agent?.stop();
    await cp?.stop();
    await git?.stop();
    await kubectl([
      'delete',
      'namespace',
      agentNs,
      helmNs,
      plainNs,
      '--wait=false',
      '--ignore-not-found',
    ]).catch(() => {});
  });

  it('each bad commit names its file, keeps the last good revision, and leaves other fleets alone', async () => {
    const cases: {
      what: string;
      files: Record<string, string | null>;
      code: string;
      file: string;
      line?: number;
      message: RegExp;
    }[] = [
      {
        what: 'a values file that is not YAML',
        files: { 'values.yaml': 'greeting: hello\nfarewell: [unclosed\n' },
        code: 'YamlSyntax',
        file: 'values.yaml',
        line: 3, // where the YAML parser notices the missing ']'
        message: /not valid YAML/,
      },
      {
        what: 'a values file that is missing',
        files: { 'values.yaml': null },
        code: 'ValuesFileNotFound',
        file: 'values.yaml',
        message: /does not exist/,
      },
      {
        what: 'a template whose output is not a Kubernetes object',
        files: { 'values.yaml': 'greeting: hello\n', 'chart/templates/list.yaml': '- just\n- a list\n' },
        code: 'InvalidOutput',
        file: 'chart/templates/list.yaml',
        message: /not a Kubernetes object/,
      },
      {
        what: 'a template that runs away (time and memory bounds)',
        files: {
          'chart/templates/list.yaml': null,
          'chart/templates/loop.yaml': '{{- range until 100000000 }}{{ printf "%0999d" . }}{{- end }}\n',
        },
        code: 'RenderLimit',
        file: 'chart/Chart.yaml',
        message: /did not finish within 5 s|more than 200 MiB/,
      },
      {
        what: 'a directory that is not a chart',
        files: { 'chart/templates/loop.yaml': null, 'chart/Chart.yaml': null },
        code: 'InvalidChart',
        file: 'chart/Chart.yaml',
        message: /not a Helm chart/,
      },
    ];
    let plainRound = 0;
    for (const c of cases) {
      const started = Date.now();
      const view = await pushBad(c.files, c.what);
      const error = view.errors.find((e) => e.code === c.code);
      assert.ok(error, `${c.what}: ${JSON.stringify(view.errors)}`);
      assert.equal(error.file, c.file, c.what);
      if (c.line !== undefined) assert.equal(error.line, c.line, `${c.what}: ${JSON.stringify(error)}`);
      assert.match(error.message, c.message, c.what);
      assert.equal(view.lastGoodRevision, good, c.what);
      assert.ok(Date.now() - started < 30_000, `${c.what}: reported in ${Date.now() - started} ms`);
      // The cluster still runs the good render.
      assert.equal(
        await kubectl(['get', 'configmap', 'tiny', '-n', helmNs, '-o', 'jsonpath={.data.greeting}']),
        'hello',
      );
      // The other fleet goes on: a change there reaches the cluster.
      plainRound++;
      const rev = await git.commit(
        `plain-${id}`,
        {
          'manifests/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n  namespace: ${plainNs}\ndata:\n  n: "${plainRound}"\n`,
        },
        `round ${plainRound}`,
      );
      await cp.api('POST', `/api/v1/fleets/plain-${id}/sync`);
      await readyAt(`plain-${id}`, rev);
    }
    // The control plane answers as before.
    assert.equal((await cp.api('GET', '/readyz')).status, 200);
  });
});
