import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { accessFromKubeconfig, credentialReader, inClusterAccess, loadKubeConfig } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'gitfleet-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

// Two clusters, users of every kind, contexts between them; paths relative to the file.
const main = write(
  'conf/config',
  `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: ${b64('CA-A')}
    tls-server-name: api.internal
- name: b
  cluster:
    server: https://127.0.0.2:6443
    certificate-authority: pki/ca.crt
    insecure-skip-tls-verify: true
users:
- name: token
  user: { token: inline-token }
- name: files
  user:
    client-certificate: pki/client.crt
    client-key: /abs/client.key
    tokenFile: token
- name: data
  user:
    client-certificate-data: ${b64('CERT')}
    client-key-data: ${b64('KEY')}
- name: basic
  user: { username: admin, password: s3cret }
contexts:
- name: ctx-a
  context: { cluster: a, user: token, namespace: agents }
- name: ctx-b
  context: { cluster: b, user: files }
- name: ctx-data
  context: { cluster: a, user: data }
- name: ctx-basic
  context: { cluster: b, user: basic }
- name: ctx-anonymous
  context: { cluster: a }
- name: ctx-nobody
  context: { cluster: a, user: nobody }
current-context: ctx-a
`,
);
write('conf/pki/ca.crt', 'CA-B');
write('conf/pki/client.crt', 'CERT-FROM-FILE');
write('conf/token', 'file-token\n');

describe('kubeconfig files', () => {
  it('uses the current context, or the one asked for', () => {
    const a = loadKubeConfig({ kubeconfig: main });
    assert.equal(a.server, 'https://127.0.0.1:6443', 'without the trailing slash');
    assert.equal(a.namespace, 'agents');
    assert.equal(a.tlsServerName, 'api.internal');
    assert.equal(a.insecureSkipTlsVerify, false);
    assert.equal(a.source, `${main} context ctx-a`);
    const b = loadKubeConfig({ kubeconfig: main, context: 'ctx-b' });
    assert.equal(b.server, 'https://127.0.0.2:6443');
    assert.equal(b.namespace, undefined);
    assert.equal(b.insecureSkipTlsVerify, true);
  });

  it('names the contexts there are when asked for one that is not', () => {
    assert.throws(
      () => loadKubeConfig({ kubeconfig: main, context: 'nope' }),
      /no context "nope" \(it has: ctx-a, ctx-b, ctx-data, ctx-basic, ctx-anonymous, ctx-nobody\)/,
    );
  });

  it('says which user or cluster a context names that does not exist', () => {
    assert.throws(
      () => loadKubeConfig({ kubeconfig: main, context: 'ctx-nobody' }),
      /context "ctx-nobody" names user "nobody"/,
    );
    const file = write('no-cluster', 'contexts: [{name: x, context: {cluster: gone}}]\ncurrent-context: x\n');
    assert.throws(() => loadKubeConfig({ kubeconfig: file }), /names cluster "gone"/);
  });

  it('asks for a context when there is no current-context', () => {
    const file = write('no-current', 'contexts: [{name: only, context: {cluster: c}}]\nclusters: []\n');
    assert.throws(
      () => loadKubeConfig({ kubeconfig: file }),
      /has no current-context: pass --context \(it has: only\)/,
    );
  });

  it('fails clearly on a kubeconfig that is missing or not YAML', () => {
    assert.throws(
      () => loadKubeConfig({ kubeconfig: join(dir, 'absent') }),
      /cannot read kubeconfig .*absent/,
    );
    assert.throws(() => loadKubeConfig({ kubeconfig: write('bad', 'clusters: [\n') }), /is not valid YAML/);
  });

  it('reads inline data and files, files relative to the kubeconfig, the token file over the token', async () => {
    const data = await credentialReader(loadKubeConfig({ kubeconfig: main, context: 'ctx-data' }))(false);
    assert.deepEqual(
      [data.ca?.toString(), data.cert?.toString(), data.key?.toString(), data.authorization],
      ['CA-A', 'CERT', 'KEY', undefined],
    );
    const files = loadKubeConfig({ kubeconfig: main, context: 'ctx-b' });
    assert.deepEqual(files.ca, { file: join(dir, 'conf/pki/ca.crt') });
    assert.deepEqual(files.clientCert, { file: join(dir, 'conf/pki/client.crt') });
    assert.deepEqual(files.clientKey, { file: '/abs/client.key' }, 'absolute paths stay');
    assert.deepEqual(files.auth, { type: 'token', token: { file: join(dir, 'conf/token') } });
    // The key file does not exist: the error names it.
    await assert.rejects(credentialReader(files)(false), /cannot read the client key \/abs\/client\.key/);
  });

  it('turns a token, a token file and a username into the Authorization header', async () => {
    const header = async (context: string) =>
      (await credentialReader(loadKubeConfig({ kubeconfig: main, context }))(false)).authorization;
    assert.equal(await header('ctx-a'), 'Bearer inline-token');
    assert.equal(await header('ctx-basic'), `Basic ${b64('admin:s3cret')}`);
    assert.equal(await header('ctx-anonymous'), undefined);
    const tokenFile = write('rotating/config', 'users: [{name: u, user: {tokenFile: t}}]\n');
    write('rotating/t', 'first\n');
    const access = accessFromKubeconfig(
      [
        { path: tokenFile, config: { users: [{ name: 'u', user: { tokenFile: 't' } }] } },
        {
          path: main,
          config: {
            clusters: [{ name: 'c', cluster: { server: 'https://c' } }],
            contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          },
        },
      ],
      'x',
    );
    const read = credentialReader(access);
    assert.equal((await read(false)).authorization, 'Bearer first');
    // A rotated token is read on the next resolution.
    write('rotating/t', 'second');
    assert.equal((await read(false)).authorization, 'Bearer second');
  });

  it('merges the files of $KUBECONFIG: the first to name an entry wins, missing files are skipped', () => {
    const first = write(
      'merge/first',
      'current-context: ctx-data\nclusters: [{name: a, cluster: {server: "https://first"}}]\n',
    );
    const access = loadKubeConfig(
      {},
      { KUBECONFIG: [join(dir, 'merge/absent'), first, main].join(delimiter) },
    );
    assert.equal(access.server, 'https://first', "cluster a of the first file, not main's");
    assert.equal(access.ca, undefined);
    assert.deepEqual(access.clientCert, { data: Buffer.from('CERT') }, 'user data from the second file');
    assert.equal(access.source, `${first}, ${main} context ctx-data`);
    assert.throws(() => loadKubeConfig({}, { KUBECONFIG: join(dir, 'merge/absent') }), /no kubeconfig found/);
  });

  it('refuses what it does not support, naming the field', () => {
    for (const [field, value] of [
      ['auth-provider', { name: 'gcp' }],
      ['as', 'someone'],
    ] as const) {
      assert.throws(
        () =>
          accessFromKubeconfig([
            {
              path: main,
              config: {
                clusters: [{ name: 'c', cluster: { server: 'https://c' } }],
                users: [{ name: 'u', user: { [field]: value } }],
                contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
                'current-context': 'x',
              },
            },
          ]),
        new RegExp(`user "u" uses ${field}, which the gitfleet agent does not support`),
      );
    }
  });
});

describe('exec credential plugins', () => {
  // A plugin as kubectl runs it: KUBERNETES_EXEC_INFO in, an ExecCredential on stdout.
  const plugin = write(
    'exec/plugin.mjs',
    `const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
const n = Number(process.env.RUNS_FILE ? (await import('node:fs')).readFileSync(process.env.RUNS_FILE, 'utf8') || 0 : 0) + 1;
if (process.env.RUNS_FILE) (await import('node:fs')).writeFileSync(process.env.RUNS_FILE, String(n));
if (process.env.SEEN_FILE) (await import('node:fs')).writeFileSync(process.env.SEEN_FILE, process.env.NODE_OPTIONS ?? '(unset)');
if (process.argv[2] === 'fail') { console.error('no session: log in first'); process.exit(1); }
console.log(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential',
  status: { token: process.env.TOKEN_PREFIX + '-' + n, expirationTimestamp: process.argv[2] } }));
`,
  );
  const runs = write('exec/runs', '');
  const seen = write('exec/seen', '');
  chmodSync(plugin, 0o755);
  const kubeconfig = (args: string[], env = '') =>
    write(
      'exec/config',
      `clusters: [{name: c, cluster: {server: "https://c"}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ${process.execPath}
      args: ${JSON.stringify(['plugin.mjs', ...args].map((a, i) => (i === 0 ? join(dir, 'exec', a) : a)))}
      env: [{name: TOKEN_PREFIX, value: tok}, {name: RUNS_FILE, value: ${runs}}, {name: SEEN_FILE, value: ${seen}}${env}]
      installHint: install the plugin from example.com
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
    );

  it('runs the plugin, caches its token until it expires, runs it again after a 401', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const read = credentialReader(loadKubeConfig({ kubeconfig: kubeconfig([future]) }));
    writeFileSync(runs, '');
    assert.equal((await read(false)).authorization, 'Bearer tok-1');
    assert.equal((await read(false)).authorization, 'Bearer tok-1', 'not expired: cached');
    assert.equal((await read(true)).authorization, 'Bearer tok-2', 'refused by the server: run again');

    const past = new Date(Date.now() - 1000).toISOString();
    const expired = credentialReader(loadKubeConfig({ kubeconfig: kubeconfig([past]) }));
    writeFileSync(runs, '');
    assert.equal((await expired(false)).authorization, 'Bearer tok-1');
    assert.equal((await expired(false)).authorization, 'Bearer tok-2', 'expired: run again');
  });

  it("gives the plugin the agent's environment but not its NODE_OPTIONS, unless exec.env names some", async () => {
    const saved = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = '--max-semi-space-size=1 --expose-gc';
    try {
      const future = new Date(Date.now() + 3_600_000).toISOString();
      await credentialReader(loadKubeConfig({ kubeconfig: kubeconfig([future]) }))(false);
      assert.equal(readFileSync(seen, 'utf8'), '(unset)');
      const own = ', {name: NODE_OPTIONS, value: "--max-old-space-size=64"}';
      await credentialReader(loadKubeConfig({ kubeconfig: kubeconfig([future], own) }))(false);
      assert.equal(readFileSync(seen, 'utf8'), '--max-old-space-size=64');
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
  });

  it("fails with the plugin's error and its install hint", async () => {
    const read = credentialReader(loadKubeConfig({ kubeconfig: kubeconfig(['fail']) }));
    await assert.rejects(
      read(false),
      /exec plugin .* failed: no session: log in first\ninstall the plugin from example\.com/,
    );
  });
});

describe('in-cluster', () => {
  const sa = join(dir, 'serviceaccount');
  write('serviceaccount/token', 'sa-token-1\n');
  write('serviceaccount/ca.crt', 'CLUSTER-CA');
  write('serviceaccount/namespace', 'gitfleet-system\n');

  it("uses the service host and port, and the ServiceAccount's token, CA and namespace", async () => {
    const access = inClusterAccess(
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    assert.equal(access.server, 'https://10.96.0.1:443');
    assert.equal(access.namespace, 'gitfleet-system');
    const read = credentialReader(access);
    const first = await read(false);
    assert.equal(first.ca?.toString(), 'CLUSTER-CA');
    assert.equal(first.authorization, 'Bearer sa-token-1');
    // The kubelet rotates projected tokens: the next resolution reads the new one.
    write('serviceaccount/token', 'sa-token-2\n');
    assert.equal((await read(false)).authorization, 'Bearer sa-token-2');
  });

  it('brackets an IPv6 service host', () => {
    const access = inClusterAccess(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    assert.equal(access.server, 'https://[fd00::1]:443');
  });

  it('is the default in a Pod without KUBECONFIG; outside one it says what to pass', () => {
    assert.equal(
      loadKubeConfig({}, { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '6443' }).server,
      'https://10.0.0.1:6443',
    );
    assert.throws(() => loadKubeConfig({ inCluster: true }, {}), /not running in a Pod .*pass --kubeconfig/);
  });
});
