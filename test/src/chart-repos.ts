// The two places a Helm fleet's chart comes from besides Git, real and on loopback:
//   - an HTTP Helm repository: a directory with index.yaml and .tgz archives, made by the real
//     `helm package` and `helm repo index`, served with basic auth;
//   - an OCI registry: the real distribution registry (built by the toolchain) with htpasswd
//     auth, charts pushed to it with the real `helm push`.
// Publishing works from any process that knows the repository's root or the registry's URL,
// so test files publish into the environment the runner started.
import { execFile } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  cpSync,
  createReadStream,
  existsSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startProcess, tempDir, waitUntil } from './process.ts';
import { cachedBinDir, ensureToolchain, toolPath } from './toolchain.ts';

const run = promisify(execFile);

/** helm with a private home, so nothing the machine's user configured takes part. */
async function helm(args: string[]): Promise<string> {
  const home = tempDir('helm-home');
  try {
    const { stdout } = await run(join(cachedBinDir(), 'helm'), args, {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
        HELM_REGISTRY_CONFIG: join(home, 'registry.json'),
      },
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `helm ${args.filter((a) => !a.includes('secret')).join(' ')} failed: ${e.stderr || e.message}`,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** `helm package` of a copy of `chartDir`, at `version` when given. Returns the archive. */
async function packageChart(
  chartDir: string,
  { version, name: rename }: { version?: string; name?: string } = {},
): Promise<{ name: string; version: string; file: string }> {
  const work = tempDir('chart');
  const copy = join(work, 'chart');
  cpSync(chartDir, copy, { recursive: true });
  const chartYaml = join(copy, 'Chart.yaml');
  let text = readFileSync(chartYaml, 'utf8');
  if (version) text = text.replace(/^version:.*$/m, `version: ${version}`);
  if (rename) text = text.replace(/^name:.*$/m, `name: ${rename}`);
  writeFileSync(chartYaml, text);
  const name = /^name:\s*(\S+)/m.exec(text)?.[1];
  const exact = /^version:\s*(\S+)/m.exec(text)?.[1];
  if (!name || !exact) throw new Error(`${chartDir}/Chart.yaml has no name or version`);
  await helm(['package', copy, '--destination', work]);
  return { name, version: exact, file: join(work, `${name}-${exact}.tgz`) };
}

export interface HelmRepository {
  url: string;
  username: string;
  password: string;
  /** The directory served: index.yaml and the archives. */
  root: string;
  stop(): Promise<void>;
}

/** A Helm repository over HTTP with basic auth, serving `root` as it is at each request. */
export async function startHelmRepository(): Promise<HelmRepository> {
  await ensureToolchain(['helm']);
  const root = tempDir('helm-repo');
  const username = 'charts';
  const password = randomBytes(12).toString('hex');
  const expected = Buffer.from(`Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(root, 'index.yaml'), 'apiVersion: v1\nentries: {}\n');
  const server: Server = createServer((req, res) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end('unauthorized\n');
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', url).pathname)).replace(/^\/+/, '');
    const file = join(root, path);
    if (path.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.yaml') ? 'application/yaml' : 'application/gzip' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url,
    username,
    password,
    root,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Publishes a chart (renamed, at `version`, when given) into a repository: the real `helm package` and
 * `helm repo index --merge`, the new index renamed into place so a reader never sees half.
 */
export async function publishChart(
  repo: Pick<HelmRepository, 'root' | 'url'>,
  chartDir: string,
  options: { version?: string; name?: string } = {},
): Promise<{ name: string; version: string }> {
  const chart = await packageChart(chartDir, options);
  const work = tempDir('index');
  cpSync(chart.file, join(work, `${chart.name}-${chart.version}.tgz`));
  await helm(['repo', 'index', work, '--url', repo.url, '--merge', join(repo.root, 'index.yaml')]);
  renameSync(
    join(work, `${chart.name}-${chart.version}.tgz`),
    join(repo.root, `${chart.name}-${chart.version}.tgz`),
  );
  renameSync(join(work, 'index.yaml'), join(repo.root, 'index.yaml'));
  rmSync(work, { recursive: true, force: true });
  return { name: chart.name, version: chart.version };
}

export interface OciRegistry {
  /** host:port */
  host: string;
  /** oci://host:port, to which a chart's path is appended. */
  url: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

/**
 * The distribution registry with htpasswd auth, plain HTTP on loopback (helm needs
 * --plain-http for it; a registry elsewhere speaks HTTPS).
 */
export async function startOciRegistry(): Promise<OciRegistry> {
  const binDir = await ensureToolchain(['registry']);
  const dir = tempDir('oci');
  const username = 'robot';
  const password = randomBytes(12).toString('hex');
  const { stdout } = await run('htpasswd', ['-Bbn', username, password]).catch((err: Error) => {
    throw new Error(
      `htpasswd (Debian's apache2-utils) is needed for the registry's users: ${err.message}; run scripts/setup.sh`,
    );
  });
  writeFileSync(join(dir, 'htpasswd'), stdout);
  const port = await freePort();
  const debugPort = await freePort();
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: "127.0.0.1:${port}", debug: { addr: "127.0.0.1:${debugPort}" } }`,
      `auth: { htpasswd: { realm: charts, path: ${join(dir, 'htpasswd')} } }`,
      '',
    ].join('\n'),
  );
  const proc = startProcess(
    'oci registry',
    toolPath(binDir, 'registry'),
    ['serve', join(dir, 'config.yml')],
    {
      logFile: join(dir, 'registry.log'),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OTEL_TRACES_EXPORTER: 'none' },
    },
  );
  const host = `127.0.0.1:${port}`;
  await waitUntil(
    'the OCI registry to answer',
    async () => {
      const res = await fetch(`http://${host}/v2/`).catch(() => null);
      return res?.status === 401;
    },
    { proc, timeoutMs: 20_000 },
  );
  return {
    host,
    url: `oci://${host}`,
    username,
    password,
    stop: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `helm push` of a chart (renamed, at `version`, when given) to `<registry>/charts/<name>`. */
export async function pushChart(
  registry: Pick<OciRegistry, 'url' | 'username' | 'password'>,
  chartDir: string,
  options: { version?: string; name?: string } = {},
): Promise<{ name: string; version: string; reference: string }> {
  const chart = await packageChart(chartDir, options);
  await helm([
    'push',
    chart.file,
    `${registry.url}/charts`,
    '--plain-http',
    '--username',
    registry.username,
    '--password',
    registry.password,
  ]);
  return { name: chart.name, version: chart.version, reference: `${registry.url}/charts/${chart.name}` };
}
