// docker-compose.yml and the Dockerfile, checked without Docker: the compose file against a
// schema for the part of the Compose specification it uses (test/src/compose-schema), then in
// step with the code — every GITFLEET_* variable it sets is read by the process it is given
// to, the settings load through the same functions the processes use, published ports are the
// configured ones, host names in URLs are services of the file, and the commands are ones the
// image's entrypoint knows. No servers are needed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '@gitfleet/control-plane';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { agentConfigFromEnv } from '../../agent/src/agent.ts';
import { secretKeyId } from '../../control-plane/src/store/secrets.ts';
import { chartNodeOptions } from '../src/agent-process.ts';

const root = new URL('../..', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[] | null;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number | string })[];
  volumes?: (string | { type: string; source?: string; target?: string; read_only?: boolean })[];
  depends_on?: string[] | Record<string, { condition: string }>;
  profiles?: string[];
  network_mode?: string;
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/**
 * Compose interpolation of one string with the variables in `vars` (empty: what a user gets
 * with nothing set): $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt},
 * ${VAR+alt}, ${VAR:?error}, ${VAR?error}.
 */
function interpolate(text: string, vars: Record<string, string> = {}): string {
  return text.replace(
    /\$\$|\$([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([^}]*))?\}/g,
    (match, bare: string | undefined, name: string | undefined, op: string | undefined, arg = '') => {
      if (match === '$$') return '$';
      const key = (bare ?? name) as string;
      const value = vars[key];
      const set = value !== undefined;
      const nonEmpty = set && value !== '';
      switch (op) {
        case undefined:
          return value ?? '';
        case ':-':
          return nonEmpty ? value : arg;
        case '-':
          return set ? value : arg;
        case ':+':
          return nonEmpty ? arg : '';
        case '+':
          return set ? arg : '';
        default:
          // :? and ?: a required variable, so `docker compose up` fails without it.
          if (op === ':?' ? nonEmpty : set) return value as string;
          throw new Error(`required variable ${key} is not set: ${arg}`);
      }
    },
  );
}

function interpolateAll<T>(value: T, vars: Record<string, string> = {}): T {
  if (typeof value === 'string') return interpolate(value, vars) as T;
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, vars)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, vars)])) as T;
  }
  return value;
}

const raw = parse(read('docker-compose.yml')) as ComposeFile;
// What a user's .env holds after the one step the file's header asks for.
const secretKey = randomBytes(32);
const userVars = { GITFLEET_SECRET_KEY: secretKey.toString('base64') };
const compose = interpolateAll(raw, userVars);
const services = compose.services;

function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

const commandOf = (service: Service): string[] =>
  typeof service.command === 'string' ? service.command.split(/\s+/) : (service.command ?? []);

/** Services running the gitfleet image, by the process its first argument selects. */
function gitfleetServices(process: string): [string, Service][] {
  return Object.entries(services).filter(
    ([, s]) =>
      s.build !== undefined &&
      s.image?.startsWith('ghcr.io/gitfleet/gitfleet') &&
      commandOf(s)[0] === process,
  );
}

function containerPort(port: string | number | { target: number | string }): number {
  if (typeof port === 'number') return port;
  if (typeof port === 'object') return Number(port.target);
  const withoutProtocol = port.split('/')[0] as string;
  return Number(withoutProtocol.split(':').at(-1));
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  named: boolean;
}
function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v === 'object') {
      return {
        source: v.source ?? '',
        target: v.target ?? '',
        readOnly: v.read_only === true,
        named: v.type === 'volume',
      };
    }
    const [source = '', target = '', mode = ''] = v.split(':');
    return {
      source,
      target,
      readOnly: mode.split(',').includes('ro'),
      named: !/^[./~]/.test(source),
    };
  });
}

/** The mount holding `path` in a container, and the path relative to the mount. */
function mountOf(service: Service, path: string): { mount: Mount; rest: string } | undefined {
  const found = mounts(service)
    .filter((m) => path === m.target || path.startsWith(`${m.target}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
  return found && { mount: found, rest: posix.relative(found.target, path) };
}

/** Every GITFLEET_* name the (non-test) sources under `dir` mention. */
function variablesReadIn(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/\bGITFLEET_[A-Z0-9_]+\b/g)) names.add(m[0]);
  }
  return names;
}

/** host:port or scheme://[user@]host:port in a value (the hosts a setting points at). */
function addressesIn(value: string): { host: string; port: number | undefined }[] {
  const found: { host: string; port: number | undefined }[] = [];
  const url = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)(?::(\d+))?/i.exec(value);
  if (url) found.push({ host: url[1] as string, port: url[2] ? Number(url[2]) : undefined });
  else {
    const hostPort = /^([a-z0-9.-]+):(\d+)$/i.exec(value);
    if (hostPort) found.push({ host: hostPort[1] as string, port: Number(hostPort[2]) });
  }
  return found;
}

const isLocal = (host: string) => ['localhost', '127.0.0.1', '[::1]', '0.0.0.0'].includes(host);

/** The image's entrypoint: first argument → script it runs (parsed from the Dockerfile). */
function entrypointCommands(): Map<string, string> {
  const commands = new Map<string, string>();
  for (const m of read('Dockerfile').matchAll(/'\s+([a-z-]+)\)[^']*?exec node (\S+)/g)) {
    commands.set(m[1] as string, m[2] as string);
  }
  return commands;
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose schema (the subset we use) after interpolation', () => {
    const schema = JSON.parse(
      readFileSync(new URL('../src/compose-schema/compose-subset.schema.json', import.meta.url), 'utf8'),
    );
    // Strict, except for what the Compose schema does too: union types, open tuples (a
    // healthcheck's test), and `anyOf: [{ required: ['image'] }, ...]`.
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      strictRequired: false,
      strictTuples: false,
      allowUnionTypes: true,
    });
    const validate = ajv.compile(schema);
    const errors = (doc: unknown) => (validate(doc) ? [] : (validate.errors ?? []));
    assert.deepEqual(errors(compose), [], ajv.errorsText(validate.errors, { separator: '\n' }));
    // The schema rejects what it should: it is not a schema that accepts anything.
    assert.notDeepEqual(errors({ services: { x: { image: 'a', enviroment: {} } } }), []);
    assert.notDeepEqual(errors({ services: { x: { image: 'a', ports: ['80:eighty'] } } }), []);
    assert.notDeepEqual(errors({ services: { x: { command: ['run'] } } }), [], 'needs image or build');
    assert.notDeepEqual(
      errors({ services: { x: { image: 'a', depends_on: { y: { condition: 'healthy' } } } } }),
      [],
    );
    assert.notDeepEqual(errors({ services: { x: { image: 'a', healthcheck: { test: ['RUN', 'x'] } } } }), []);
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: Compose's syntax, not JavaScript's
  it('interpolates as Compose does', () => {
    assert.equal(interpolate('${A:-x}'), 'x');
    assert.equal(interpolate('${A:-x}', { A: '' }), 'x');
    assert.equal(interpolate('${A-x}', { A: '' }), '');
    assert.equal(interpolate('$A/${B}', { A: '1', B: '2' }), '1/2');
    assert.equal(interpolate('$${A}'), '${A}');
    assert.throws(() => interpolate('${A:?set A}'), /A is not set: set A/);
    // The one required variable is the secret key (no default can be shared by the next
    // `docker compose up` and kept secret), and the error says how to make one.
    assert.throws(
      () => interpolateAll(raw),
      /required variable GITFLEET_SECRET_KEY is not set: .*openssl rand -base64 32/,
    );
    assert.doesNotThrow(() => interpolateAll(raw, userVars));
    assert.match(
      read('docker-compose.yml'),
      /^# {3}echo "GITFLEET_SECRET_KEY=\$\(openssl rand -base64 32\)" >> \.env/m,
    );
  });
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: Compose's syntax, not JavaScript's

  it('runs Redis with append-only persistence, the control plane, a Git server, and k3s with an agent', () => {
    assert.ok(services.redis, 'a redis service');
    assert.deepEqual(commandOf(services.redis).slice(0, 3), ['redis-server', '--appendonly', 'yes']);
    assert.ok(
      mounts(services.redis).some((m) => m.target === '/data' && m.named),
      'Redis data in a volume',
    );
    assert.equal(gitfleetServices('control-plane').length, 1, 'one control plane built from the Dockerfile');
    assert.ok(services.gitea?.image?.startsWith('gitea/gitea:'), 'Gitea as the Git server');
    assert.deepEqual(services.k3s?.profiles, ['k3s']);
    const [[, agent] = []] = gitfleetServices('agent');
    assert.ok(agent, 'an agent service');
    assert.deepEqual(agent.profiles, ['k3s']);
    for (const [name, s] of Object.entries(services)) {
      if (s.build === undefined) continue;
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      const dockerfile = join(root, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
      assert.ok(existsSync(dockerfile), `${name}: ${dockerfile} exists`);
    }
  });

  it('sets only GITFLEET_* variables that the process it runs reads', () => {
    const readBy = {
      'control-plane': variablesReadIn('control-plane/src'),
      agent: variablesReadIn('agent/src'),
    };
    let checked = 0;
    for (const [process, names] of Object.entries(readBy)) {
      for (const [service, s] of gitfleetServices(process)) {
        for (const key of Object.keys(environment(s))) {
          if (!key.startsWith('GITFLEET_')) continue;
          assert.ok(names.has(key), `${service} sets ${key}, which nothing in ${process}/src reads`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 8, `checked ${checked} variables`);
    // The control plane's own variables are in config.ts, as its header says.
    const configTs = readBy['control-plane'];
    for (const key of [
      'GITFLEET_REDIS_URL',
      'GITFLEET_API_TOKENS',
      'GITFLEET_WEBHOOK_SECRET',
      'GITFLEET_DATA_DIR',
    ]) {
      assert.ok(configTs.has(key), key);
    }
  });

  it('the control plane settings load, and the published ports are the configured ones', () => {
    const [[name, cp] = []] = gitfleetServices('control-plane');
    assert.ok(name && cp);
    const config = loadConfig(environment(cp));
    const defaults = loadConfig({ GITFLEET_SECRET_KEY: userVars.GITFLEET_SECRET_KEY });
    assert.equal(config.redisUrl, 'redis://redis:6379');
    assert.deepEqual(
      new Set((cp.ports ?? []).map(containerPort)),
      new Set([config.httpPort, config.grpcPort]),
      'ports: the HTTP and gRPC listeners',
    );
    assert.deepEqual([config.httpPort, config.grpcPort], [defaults.httpPort, defaults.grpcPort]);
    // Published on the same port numbers (the printed helm command uses the gRPC one).
    for (const port of cp.ports ?? []) {
      if (typeof port === 'string') {
        const [published, target] = port.split('/')[0]!.split(':').slice(-2);
        assert.equal(published, target, `${port}: published as in the container`);
      }
    }
    assert.match(config.grpcPublicAddress, new RegExp(`:${config.grpcPort}$`));
    // The data directory (Git mirrors, the generated certificate) is a named volume.
    const data = mountOf(cp, config.dataDir);
    assert.ok(data?.mount.named && data.rest === '', `${config.dataDir} is a named volume`);
    assert.ok(compose.volumes && data.mount.source in compose.volumes);
    // The Dockerfile exposes and defaults to the same.
    const dockerfile = read('Dockerfile');
    assert.match(dockerfile, new RegExp(`^EXPOSE ${defaults.httpPort} ${defaults.grpcPort}$`, 'm'));
    assert.match(dockerfile, new RegExp(`GITFLEET_DATA_DIR=${config.dataDir}\\b`));
    assert.equal(config.generatedAdminToken, true, 'with nothing set, a token is generated and logged');
    assert.equal(config.webhookSecret, undefined);
    assert.deepEqual(config.secrets.keyIds, [secretKeyId(secretKey)], 'the key from .env, no previous one');
    // With variables set, they reach the control plane.
    const previousKey = randomBytes(32);
    const configured = loadConfig(
      environment(
        interpolateAll(raw.services[name] as Service, {
          ...userVars,
          GITFLEET_SECRET_KEY_PREVIOUS: previousKey.toString('hex'),
          GITFLEET_API_TOKENS: 'admin:me:0123456789abcdef',
          GITFLEET_WEBHOOK_SECRET: 's3cret',
        }),
      ),
    );
    assert.deepEqual(configured.apiTokens, [{ role: 'admin', name: 'me', token: '0123456789abcdef' }]);
    assert.equal(configured.webhookSecret, 's3cret');
    assert.deepEqual(configured.secrets.keyIds, [secretKeyId(secretKey), secretKeyId(previousKey)]);
  });

  it('with --profile redis-ha: a primary, two replicas and three sentinels, and the control plane finds the primary through them', () => {
    // What the header tells a user to put in .env.
    const line = /^# {3}echo "GITFLEET_REDIS_SENTINELS=([^"]+)" >> \.env$/m.exec(read('docker-compose.yml'));
    assert.ok(line, 'the header says how to turn it on');
    const [[name, cp] = []] = gitfleetServices('control-plane');
    assert.ok(name && cp);
    const config = loadConfig(
      environment(
        interpolateAll(raw.services[name] as Service, { ...userVars, GITFLEET_REDIS_SENTINELS: line[1]! }),
      ),
    );
    assert.equal(config.redisWaitReplicas, 1, 'a report is acknowledged once a replica holds it');
    assert.equal(
      loadConfig(environment(cp)).redis.sentinels.length,
      0,
      'without it, the plain redis service',
    );

    // The settings each Redis process starts with: the file its command writes once.
    const settingsOf = (service: string) => {
      const script = commandOf(services[service] as Service).join(' ');
      const written = /printf '([^']*)' > (\S+);/.exec(script);
      assert.ok(written, `${service} writes its config file`);
      assert.ok(script.includes(`redis-server ${written[2]}`), `${service} starts from ${written[2]}`);
      assert.ok(
        mountOf(services[service] as Service, written[2]!)?.mount.named,
        `${written[2]} is in a volume`,
      );
      return written[1]!.split('\\n').filter(Boolean);
    };
    const profileOf = (service: string) => services[service]?.profiles ?? [];
    assert.equal(config.redis.sentinels.length, 3);
    const monitored = new Set<string>();
    for (const address of config.redis.sentinels) {
      const [target] = addressesIn(address);
      assert.ok(target && services[target.host], `${address} is a service`);
      assert.deepEqual(profileOf(target.host), ['redis-ha']);
      const conf = settingsOf(target.host);
      assert.ok(conf.includes(`port ${target.port}`), `${target.host} listens on ${target.port}`);
      assert.ok(conf.includes(`sentinel announce-ip ${target.host}`), `${target.host} announces its name`);
      assert.ok(conf.includes('sentinel resolve-hostnames yes'));
      const monitor = conf.find((l) => l.startsWith('sentinel monitor '))?.split(' ') ?? [];
      assert.equal(
        monitor[2],
        config.redis.sentinelMaster,
        'monitors the primary by the name the control plane asks for',
      );
      assert.ok(Number(monitor[5]) > config.redis.sentinels.length / 2, 'a quorum of a majority');
      monitored.add(`${monitor[3]}:${monitor[4]}`);
    }
    assert.equal(monitored.size, 1, 'every sentinel monitors the same primary');
    const [primary] = [...monitored].map((a) => addressesIn(a)[0]!);
    const nodes = Object.keys(services).filter(
      (n) =>
        profileOf(n).includes('redis-ha') &&
        commandOf(services[n] as Service)
          .join(' ')
          .includes('redis.conf'),
    );
    assert.ok(primary && nodes.includes(primary.host), 'the primary is one of the nodes');
    assert.equal(nodes.length, 3);
    for (const n of nodes) {
      const conf = settingsOf(n);
      assert.ok(
        conf.includes('appendonly yes') && conf.includes('appendfsync everysec'),
        `${n}: AOF, fsync per second`,
      );
      assert.ok(conf.includes(`replica-announce-ip ${n}`), `${n} announces its name, not a container IP`);
      if (n !== primary.host)
        assert.ok(conf.includes(`replicaof ${primary.host} ${primary.port}`), `${n} replicates the primary`);
    }
  });

  it("runs the agent with the Helm chart's NODE_OPTIONS", () => {
    const [[, agent] = []] = gitfleetServices('agent');
    assert.ok(agent);
    assert.equal(environment(agent).NODE_OPTIONS, chartNodeOptions());
  });

  it('the agent reaches the control plane and k3s by names and files that exist', () => {
    const [[, cp] = []] = gitfleetServices('control-plane');
    const [[, agent] = []] = gitfleetServices('agent');
    assert.ok(cp && agent);
    const cpConfig = loadConfig(environment(cp));
    const config = agentConfigFromEnv(environment(agent));
    const [target] = addressesIn(config.controlPlane);
    assert.ok(target, config.controlPlane);
    const [cpName] = gitfleetServices('control-plane')[0]!;
    assert.equal(target.host, cpName, 'the agent dials the control-plane service');
    assert.equal(target.port, cpConfig.grpcPort);
    assert.ok(cpConfig.tlsHosts.includes(target.host), 'the generated certificate names that host');
    // Its CA is the control plane's generated certificate, read from the control plane's volume.
    assert.ok(config.caFile);
    const ca = mountOf(agent, config.caFile);
    const cpData = mountOf(cp, cpConfig.dataDir);
    assert.ok(ca && cpData, `${config.caFile} is on a volume`);
    assert.equal(ca.mount.source, cpData.mount.source, 'the control plane data volume');
    assert.ok(ca.mount.readOnly, 'mounted read-only');
    assert.ok(
      read('control-plane/src/grpc/server.ts').includes(`'${ca.rest}'`),
      `${ca.rest} is what it writes`,
    );
    // The kubeconfig is the one k3s writes, and the agent shares k3s's network (127.0.0.1:6443).
    assert.equal(agent.network_mode, 'service:k3s');
    const args = commandOf(agent);
    const kubeconfig = args[args.indexOf('--kubeconfig') + 1] ?? '';
    const k3s = services.k3s as Service;
    const output = environment(k3s).K3S_KUBECONFIG_OUTPUT ?? '';
    const written = mountOf(k3s, output);
    const used = mountOf(agent, kubeconfig);
    assert.ok(written && used, 'the kubeconfig is on a volume on both sides');
    assert.equal(used.mount.source, written.mount.source);
    assert.equal(used.rest, written.rest);
    assert.equal(environment(k3s).K3S_KUBECONFIG_MODE, '644', 'readable by the agent (uid 65532)');
  });

  it('host names in URLs, dependencies, networks and volumes refer to what the file defines', () => {
    const names = new Set(Object.keys(services));
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    const used = new Set<string>();
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environment(s))) {
        for (const { host, port } of addressesIn(value)) {
          if (isLocal(host) || /^[\d.]+$/.test(host)) continue;
          assert.ok(names.has(host), `${name}: ${key}=${value} names ${host}, which is not a service`);
          if (host === 'redis') assert.equal(port ?? 6379, 6379, 'redis-server listens on 6379');
        }
      }
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      const mode = s.network_mode?.startsWith('service:') ? [s.network_mode.slice(8)] : [];
      for (const dep of [...deps, ...mode]) {
        assert.ok(names.has(dep), `${name} depends on ${dep}, which is not a service`);
        // A service every `docker compose up` starts cannot need one that only a profile starts.
        const depProfiles = services[dep]?.profiles ?? [];
        if (depProfiles.length > 0) {
          assert.ok(
            (s.profiles ?? []).some((p) => depProfiles.includes(p)),
            `${name} depends on ${dep}, which runs only with --profile ${depProfiles.join('/')}`,
          );
        }
      }
      if (!Array.isArray(s.depends_on)) {
        for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
          if (condition === 'service_healthy') {
            assert.ok(
              (services[dep] as Service & { healthcheck?: unknown }).healthcheck,
              `${name} waits for ${dep} to be healthy, which has no healthcheck`,
            );
          }
        }
      }
      for (const m of mounts(s)) {
        if (!m.named) continue;
        assert.ok(declared.has(m.source), `${name} mounts volume ${m.source}, which is not declared`);
        used.add(m.source);
      }
    }
    assert.deepEqual(
      [...declared].filter((v) => !used.has(v)),
      [],
      'every declared volume is used',
    );
  });
});

describe('Dockerfile', () => {
  it('the entrypoint runs the processes by name, as compose and the charts call them', () => {
    const commands = entrypointCommands();
    assert.deepEqual([...commands.keys()].sort(), ['agent', 'control-plane']);
    // A script is in the sources, or built by the Dockerfile (the agent's bundle).
    const dockerfile = read('Dockerfile');
    for (const [command, script] of commands) {
      assert.ok(script.startsWith('/app/'), script);
      assert.ok(
        existsSync(join(root, script.slice('/app/'.length))) ||
          dockerfile.includes(`node agent/bundle.ts ${script}`),
        `${command}: ${script} exists or the Dockerfile builds it`,
      );
    }
    // The same programs as the packages' bins: the control plane's script, the agent's bundled.
    const bin = (pkg: string, name: string) => JSON.parse(read(`${pkg}/package.json`)).bin[name] as string;
    assert.equal(
      commands.get('control-plane'),
      posix.join('/app/control-plane', bin('control-plane', 'gitfleet-control-plane')),
    );
    assert.equal(commands.get('agent'), '/app/agent/dist/agent.mjs');
    assert.equal(bin('agent', 'gitfleet-agent'), './src/main.ts');
    assert.match(read('agent/bundle.ts'), /entryPoints: \[new URL\('\.\/src\/main\.ts'/);
    for (const [name, s] of Object.entries(services)) {
      if (!s.image?.startsWith('ghcr.io/gitfleet/gitfleet')) continue;
      assert.ok(commands.has(commandOf(s)[0] ?? ''), `${name}: ${commandOf(s)[0]} is an entrypoint command`);
    }
    for (const chart of ['gitfleet-agent', 'gitfleet-control-plane']) {
      const deployment = read(`charts/${chart}/templates/deployment.yaml`);
      const args = /args: \["([a-z-]+)"\]/.exec(deployment)?.[1] ?? '';
      assert.ok(commands.has(args), `${chart} runs ${args}`);
    }
    assert.match(dockerfile, /^FROM node:24-slim\b/m);
    assert.match(dockerfile, /^USER 65532:65532$/m);
  });

  it('ships the helm and kubectl the tests render with, built from the same pinned modules', () => {
    const dockerfile = read('Dockerfile');
    const build = read('test/env/toolchain/build.sh');
    const helmVersion = /^HELM_VERSION=(\S+)$/m.exec(build)?.[1];
    assert.ok(helmVersion, 'build.sh pins HELM_VERSION');
    assert.match(
      dockerfile,
      new RegExp(`helm/v4/internal/version\\.version=${helmVersion!.replaceAll('.', '\\.')}`),
    );
    for (const dir of ['helm', 'kubernetes']) {
      assert.match(dockerfile, new RegExp(`^COPY test/env/toolchain/${dir}/ ${dir}/$`, 'm'));
      assert.ok(existsSync(join(root, `test/env/toolchain/${dir}/go.sum`)), `${dir}/go.sum is committed`);
      // .dockerignore leaves test/ out of the context, all but these.
      assert.match(read('.dockerignore'), new RegExp(`^!test/env/toolchain/${dir}$`, 'm'));
    }
    assert.match(dockerfile, /^COPY --from=render-tools \/out\/helm \/out\/kubectl \/usr\/local\/bin\/$/m);
    // The control plane finds them on PATH by default.
    assert.match(read('control-plane/src/config.ts'), /GITFLEET_HELM_PATH \|\| 'helm'/);
  });

  it('installs and copies every workspace the two processes need, and .dockerignore keeps them', () => {
    const dockerfile = read('Dockerfile');
    const workspaces = (JSON.parse(read('package.json')).workspaces as string[]).map((w) => ({
      dir: w,
      pkg: JSON.parse(read(`${w}/package.json`)) as { name: string; dependencies?: Record<string, string> },
    }));
    // control-plane, agent and the @gitfleet/* packages they depend on, transitively.
    const needed = new Set(['control-plane', 'agent']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const w of workspaces.filter((w) => needed.has(w.dir))) {
        for (const dep of Object.keys(w.pkg.dependencies ?? {})) {
          const ws = workspaces.find((x) => x.pkg.name === dep);
          if (ws && !needed.has(ws.dir)) {
            needed.add(ws.dir);
            grew = true;
          }
        }
      }
    }
    assert.ok(needed.has('proto'));
    for (const dir of needed) {
      assert.ok(
        dockerfile.includes(`COPY ${dir}/package.json ${dir}/`),
        `${dir}/package.json copied for npm ci`,
      );
      assert.ok(dockerfile.includes(`--workspace=${dir}`), `npm ci --workspace=${dir}`);
      assert.match(dockerfile, new RegExp(`^COPY ${dir}/ ${dir}/$`, 'm'), `${dir}/ copied into the image`);
    }
    assert.match(dockerfile, /npm ci --omit=dev/);
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const kept of ['package.json', 'package-lock.json', ...needed]) {
      assert.ok(!ignored.includes(kept) && !ignored.includes(`${kept}/`), `.dockerignore keeps ${kept}`);
    }
    assert.ok(ignored.includes('**/node_modules'), 'host node_modules stay out of the context');
  });
});
