// A deterministic, schema-driven fuzzer for the REST API, holding the server to its own
// OpenAPI document. For every operation it sends two kinds of request through `app.inject`
// with an admin token:
// - valid ones: path, query and body generated from the schema (fast-check arbitraries, from
//   the patterns and bounds the schema states), which the server must not refuse as invalid;
// - broken ones: bodies that start valid-shaped and are then mutated (wrong types, nulls,
//   huge strings, deep nesting, unknown and missing fields, broken JSON), odd path
//   parameters, query strings and content types.
// It counts what a client author would notice: a 5xx, an error without a stable `code` and a
// `message`, a status the operation does not document, a body that does not match the schema
// documented for its status, and a schema-valid request refused with 400.
import { createHmac } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';

export interface FuzzOptions {
  app: FastifyInstance;
  token: string;
  /** How many requests to send (fewer when `timeBudgetMs` runs out first). */
  requests: number;
  seed?: number;
  timeBudgetMs?: number;
  /** Names that exist or may be created (path parameters and `name` fields use them often). */
  names?: string[];
  /** A repository a created fleet may point at, and its credentials (so that creating one really fetches). */
  repoUrl?: string;
  credentials?: { username: string; password: string };
  /** When set, half the webhook deliveries are signed with it (so the payload is read). */
  webhookSecret?: string;
  /** Requests in flight at once (default 1). */
  concurrency?: number;
}

export type FailureKind = 'server-error' | 'uncoded' | 'undocumented' | 'mismatched' | 'refused-valid';

export interface FuzzFailure {
  kind: FailureKind;
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
  status: number;
  response: string;
}

export interface FuzzResult {
  requests: number;
  operations: number;
  byStatus: Record<number, number>;
  serverErrors: number;
  /** 4xx answers without a JSON `{ code, message }` body. */
  uncoded: number;
  /** Answers with a status the operation does not document. */
  undocumented: number;
  /** Answers whose body does not match the schema documented for their status. */
  mismatched: number;
  /** Requests valid by the schema, and how many of them were refused with 400. */
  validRequests: number;
  refusedValid: number;
  /** The first few failures of each kind, for the report. */
  failures: FuzzFailure[];
  durationMs: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: Json[];
  const?: Json;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minProperties?: number;
  pattern?: string;
  allOf?: Schema[];
}

interface Operation {
  method: string;
  path: string;
  pathParams: { name: string; schema: Schema }[];
  query: { name: string; schema: Schema }[];
  body: Schema | undefined;
  /** Documented statuses, each with the schema of its JSON body (undefined: no body). */
  responses: Map<number, Schema | undefined>;
}

// Never fuzzed: a server-sent event stream does not end, so `inject` would wait forever.
const STREAMING = new Set(['GET /api/v1/events']);

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed with its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick<T>(items: readonly T[]): T {
      return items[Math.floor(next() * items.length)] as T;
    },
  };
}
type Rng = ReturnType<typeof prng>;

function operations(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (STREAMING.has(`${method.toUpperCase()} ${path}`)) continue;
      const params = (op.parameters ?? []) as { in: string; name: string; schema?: Schema }[];
      const content = (op.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)
        ?.content;
      const responses = new Map<number, Schema | undefined>();
      for (const [status, r] of Object.entries(
        (op.responses ?? {}) as Record<string, { content?: Record<string, { schema?: Schema }> }>,
      )) {
        responses.set(Number(status), r.content?.['application/json']?.schema);
      }
      ops.push({
        method: method.toUpperCase(),
        path,
        pathParams: params
          .filter((p) => p.in === 'path')
          .map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        body: content?.['application/json']?.schema,
        responses,
      });
    }
  }
  return ops.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

const TRICKY_NAMES = [
  '..',
  '.',
  '%2e%2e',
  '..%2F..%2Fetc%2Fpasswd',
  '%2F',
  'a%2Fb',
  '%00',
  '%ZZ',
  '%',
  '%E2%98%83',
  encodeURIComponent('名前'),
  encodeURIComponent('cafe\u0301'),
  encodeURIComponent('a b'),
  'UPPER',
  '-lead',
  'trail-',
  'a_b',
  'a.b',
  '0',
  'a'.repeat(63),
  'a'.repeat(64),
  'a'.repeat(101),
  'a'.repeat(5000),
  encodeURIComponent('<script>'),
  encodeURIComponent("' OR 1=1 --"),
  '*',
  '__proto__',
  'constructor',
  'prototype',
];

const STRINGS = [
  '',
  ' ',
  'x',
  'dev',
  'prod',
  'main',
  '.',
  '../..',
  '/etc/passwd',
  'https://user:pass@example.invalid/x.git',
  'git@example.invalid:org/x.git',
  'javascript:alert(1)',
  '\u0000',
  '\n\r\t',
  '☃',
  '名前',
  '\ud800',
  '0',
  '-1',
  'null',
  'true',
  '{}',
  'env=prod',
  'env in (a,b)',
  'env in prod',
  '!!',
  '=',
  'deadbeef',
  '0123456789abcdef0123456789abcdef01234567',
  '__proto__',
];

const SELECTORS = [
  'env=prod',
  'env!=prod',
  'env in (dev,prod)',
  'env notin (dev)',
  'gpu',
  '!legacy',
  'a=b,c=d',
  'env in prod',
  'env in (',
  'env=',
  '=prod',
  ',',
  'env==prod==x',
  'a b',
  '!',
  '(',
  'env in ()',
  'x/y/z=1',
  `${'k'.repeat(300)}=v`,
  `k=${'v'.repeat(300)}`,
  '%',
  '☃=1',
];

const CONTENT_TYPES: (string | undefined)[] = [
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/xml',
  ';;;',
  '',
  undefined,
];

function hugeString(rng: Rng): string {
  return 'x'.repeat(rng.pick([1_000, 70_000, 300_000, 1_100_000]));
}

// Deep nesting is written as text: JSON.stringify itself overflows the stack on it. A marker
// string stands in for it until the body is serialized.
const DEEP = /"deep-nesting:(\d+)"/g;
function deep(rng: Rng): Json {
  return `deep-nesting:${rng.pick([50, 1_000, 20_000])}`;
}
function expandDeep(text: string): string {
  return text.replace(DEEP, (_m, depth: string) => {
    const n = Number(depth);
    return `${'[{"a":'.repeat(n)}1${'}]'.repeat(n)}`;
  });
}

function wrongValue(rng: Rng): Json {
  switch (rng.int(12)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return -rng.int(1e9) - 1;
    case 3:
      return rng.pick([0, 1.5, -0.0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2]);
    case 4:
      return [];
    case 5:
      return [rng.pick(STRINGS), 1, null];
    case 6:
      return {};
    case 7:
      return { [rng.pick(STRINGS)]: rng.pick(STRINGS) };
    case 8:
      return hugeString(rng);
    case 9:
      return deep(rng);
    default:
      return rng.pick(STRINGS);
  }
}

/** A value that matches `schema`, leaning on names and values the API knows. */
function validValue(rng: Rng, schema: Schema, key: string, o: FuzzOptions): Json {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.enum) return rng.pick(schema.enum);
  if (type === 'object') {
    if (key === 'credentials' && o.credentials && rng.chance(0.7)) return { ...o.credentials };
    const out: Record<string, Json> = {};
    if (schema.properties) {
      const required = new Set(schema.required ?? []);
      for (const [k, s] of Object.entries(schema.properties)) {
        if (required.has(k) || rng.chance(0.6)) out[k] = validValue(rng, s, k, o);
      }
    } else if (key === 'labels') {
      out[rng.pick(['env', 'region', 'team', 'example.com/tier'])] = rng.pick(['dev', 'prod', 'eu', '']);
    }
    return out;
  }
  if (type === 'array') return schema.items ? [validValue(rng, schema.items, key, o)] : [];
  if (type === 'number' || type === 'integer') return rng.int(100);
  if (type === 'boolean') return rng.chance(0.5);
  switch (key) {
    case 'name':
      return rng.pick(o.names ?? ['fuzz-a']);
    case 'repo':
      return o.repoUrl && rng.chance(0.7) ? o.repoUrl : rng.pick(STRINGS);
    case 'branch':
      return rng.chance(0.8) ? 'main' : rng.pick(STRINGS);
    case 'path':
      return rng.pick(['.', '', 'sub', '/', './x']);
    case 'stage':
      return rng.pick(['dev', 'prod', 'staging', 'nope']);
    case 'revision':
      return rng.pick(['HEAD', 'deadbeef', '0123456789abcdef0123456789abcdef01234567', 'main']);
    default:
      return rng.pick(STRINGS);
  }
}

/** Applies one mutation somewhere in `value` (an object body), in place or by replacement. */
function mutate(rng: Rng, value: Json, schema: Schema): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrongValue(rng);
  const keys = Object.keys(value);
  const choice = rng.int(6);
  if (choice === 0 || keys.length === 0) {
    value[rng.pick(['extra', 'Name', 'lables', '__proto__', 'constructor', 'x'.repeat(200), ''])] =
      wrongValue(rng);
  } else if (choice === 1) {
    const required = schema.required ?? [];
    delete value[required.length ? rng.pick(required) : rng.pick(keys)];
  } else if (choice === 2) {
    const k = rng.pick(keys);
    const child = value[k] as Json;
    const childSchema = schema.properties?.[k] ?? {};
    value[k] =
      child !== null && typeof child === 'object' && !Array.isArray(child) && rng.chance(0.5)
        ? mutate(rng, child, childSchema)
        : wrongValue(rng);
  } else {
    value[rng.pick(keys)] = wrongValue(rng);
  }
  return value;
}

// Values people write for fields whose pattern fast-check cannot generate from (lookaheads):
// drawn from, then held to the schema like any other.
const REALISTIC: Record<string, string[]> = {
  branch: ['main', 'release/1.2', 'feature/x-y', 'v2', 'dev_branch'],
  path: ['.', '', 'sub', 'a/b', '/sub', './x'],
  revision: ['0123456789abcdef0123456789abcdef01234567', 'deadbee', ' DEADBEEF1 '],
};

/** A fast-check arbitrary of values valid by `schema`, as far as `valid` (Ajv on it) agrees. */
function arbitraryOf(
  schema: Schema,
  key: string,
  o: FuzzOptions,
  valid: (v: unknown) => boolean,
): fc.Arbitrary<Json> {
  return rawArbitrary(schema, key, o).filter((v) => valid(v));
}

function rawArbitrary(schema: Schema, key: string, o: FuzzOptions): fc.Arbitrary<Json> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const types = [schema.type ?? 'string'].flat().filter((t) => t !== 'null');
  const type = types[0] ?? 'null';
  if (type === 'null') return fc.constant(null);
  if (type === 'boolean') return fc.boolean();
  if (type === 'integer' || type === 'number') {
    return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000 });
  }
  if (type === 'array') return fc.array(rawArbitrary(schema.items ?? {}, key, o), { maxLength: 3 });
  if (type === 'object') {
    if (key === 'credentials' && o.credentials) return fc.constant({ ...o.credentials });
    const properties = schema.properties ?? {};
    if (Object.keys(properties).length === 0) {
      return fc.dictionary(
        fc.constantFrom('env', 'region', 'tier', 'example.com/team'),
        fc.constantFrom('dev', 'prod', ''),
        {
          maxKeys: 3,
        },
      );
    }
    const fields: Record<string, fc.Arbitrary<Json>> = {};
    for (const [k, s] of Object.entries(properties)) fields[k] = rawArbitrary(s, k, o);
    return fc.record(fields, { requiredKeys: schema.required ?? [] }) as fc.Arbitrary<Json>;
  }
  const pool = [
    ...(key === 'name' && o.names ? o.names : []),
    ...(key === 'repo' && o.repoUrl ? [o.repoUrl, o.repoUrl] : []),
    ...(REALISTIC[key] ?? []),
  ];
  let generated: fc.Arbitrary<string> = fc.string({ maxLength: Math.min(schema.maxLength ?? 40, 40) });
  if (schema.pattern) {
    try {
      generated = fc.stringMatching(new RegExp(schema.pattern, 'u'));
    } catch {
      // A pattern fast-check cannot generate from: the pool and plain strings, filtered.
    }
  }
  return pool.length ? fc.oneof(fc.constantFrom(...pool), generated) : generated;
}

function pathOf(rng: Rng, op: Operation, o: FuzzOptions): string {
  return op.path.replace(/\{(\w+)\}/g, () =>
    rng.chance(0.5) ? rng.pick(o.names ?? ['fuzz-a']) : rng.pick(TRICKY_NAMES),
  );
}

function queryOf(rng: Rng, op: Operation): string {
  const parts: string[] = [];
  for (const q of op.query) {
    if (!rng.chance(0.7)) continue;
    const v = q.name === 'selector' ? rng.pick(SELECTORS) : rng.pick(STRINGS);
    parts.push(`${q.name}=${encodeURIComponent(v.toWellFormed())}`);
    if (rng.chance(0.1)) parts.push(`${q.name}=${encodeURIComponent(rng.pick(STRINGS).toWellFormed())}`);
  }
  if (rng.chance(0.2)) parts.push(`${rng.pick(['x', 'limit', '__proto__', 'a[b]'])}=${rng.int(10)}`);
  if (rng.chance(0.05)) parts.push(rng.pick(['%', '&&', '=', 'a=%ZZ']));
  return parts.length ? `?${parts.join('&')}` : '';
}

function bodyOf(rng: Rng, op: Operation, o: FuzzOptions): string | undefined {
  const roll = rng.next();
  if (roll < 0.05) return undefined;
  if (roll < 0.12) {
    return rng.pick(['', '{', '{"name":', '[1,2', 'nul', '"', '{name: "x"}', "{'a':1}", '\u0000', '{}}']);
  }
  if (!op.body) return rng.chance(0.5) ? undefined : expandDeep(JSON.stringify(wrongValue(rng)));
  let value = validValue(rng, op.body, '', o);
  const mutations = rng.pick([0, 1, 1, 2, 3]);
  for (let i = 0; i < mutations; i++) value = mutate(rng, value, op.body);
  return expandDeep(JSON.stringify(value));
}

function isCodedError(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    return typeof parsed.code === 'string' && typeof parsed.message === 'string' && parsed.message.length > 0;
  } catch {
    return false;
  }
}

/** Draws one value from an arbitrary, reproducibly from the fuzzer's own sequence. */
function draw<T>(rng: Rng, arb: fc.Arbitrary<T>): T | undefined {
  try {
    return fc.sample(arb, { seed: rng.int(2 ** 31), numRuns: 1 })[0];
  } catch {
    // The filter found nothing valid in its attempts.
    return undefined;
  }
}

/** A request valid by the operation's schema, or undefined when none could be drawn. */
function generateValid(rng: Rng, op: Operation, o: FuzzOptions, ajv: Ajv): InjectOptions | undefined {
  const check = (schema: Schema) => {
    const validate = ajv.compile(schema);
    return (v: unknown) => validate(v) === true;
  };
  let url = op.path;
  for (const p of op.pathParams) {
    const value = draw(rng, arbitraryOf(p.schema, 'name', o, check(p.schema)));
    if (typeof value !== 'string' || value === '') return undefined;
    url = url.replace(`{${p.name}}`, encodeURIComponent(value));
  }
  const query: string[] = [];
  for (const q of op.query) {
    if (!rng.chance(0.6)) continue;
    const value = draw(rng, arbitraryOf(q.schema, q.name, o, check(q.schema)));
    if (typeof value === 'string') query.push(`${q.name}=${encodeURIComponent(value)}`);
  }
  const headers: Record<string, string> = { authorization: `Bearer ${o.token}` };
  const request: InjectOptions = {
    method: op.method as InjectOptions['method'],
    url: url + (query.length ? `?${query.join('&')}` : ''),
    headers,
  };
  if (op.body) {
    const body = draw(rng, arbitraryOf(op.body, '', o, check(op.body)));
    if (body === undefined) return undefined;
    headers['content-type'] = 'application/json';
    request.payload = JSON.stringify(body);
  }
  return request;
}

/** Ajv for the document's schemas: its annotations (`x-refusal`) are known, formats not needed. */
function contractAjv(): Ajv {
  return new Ajv({ strict: false, allErrors: false, keywords: ['x-refusal'], validateFormats: false });
}

function generate(rng: Rng, op: Operation, o: FuzzOptions): InjectOptions {
  const url = pathOf(rng, op, o) + queryOf(rng, op);
  const bodyless = op.method === 'GET' || op.method === 'DELETE';
  const body = bodyless ? (rng.chance(0.1) ? '{}' : undefined) : bodyOf(rng, op, o);
  const contentType =
    body === undefined ? (rng.chance(0.1) ? 'application/json' : undefined) : rng.pick(CONTENT_TYPES);
  const headers: Record<string, string> = { authorization: `Bearer ${o.token}` };
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (op.path.startsWith('/api/v1/webhooks/')) {
    headers['x-github-event'] = rng.pick(['push', 'push', 'ping', 'issues', '']);
    if (o.webhookSecret && rng.chance(0.5)) {
      const digest = createHmac('sha256', o.webhookSecret)
        .update(body ?? '')
        .digest('hex');
      headers['x-hub-signature-256'] = `sha256=${digest}`;
    } else if (rng.chance(0.5)) {
      headers['x-hub-signature-256'] = rng.pick(['', 'sha256=', 'sha256=zz', 'md5=00', 'sha256=00']);
    }
  }
  const method = rng.chance(0.02) ? rng.pick(['PUT', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE']) : op.method;
  return {
    method: method as InjectOptions['method'],
    url,
    headers,
    ...(body === undefined ? {} : { payload: body }),
  };
}

export async function fuzzApi(o: FuzzOptions): Promise<FuzzResult> {
  const rng = prng(o.seed ?? 1);
  const started = Date.now();
  const doc = (await o.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const ops = operations(doc);
  const result: FuzzResult = {
    requests: 0,
    operations: ops.length,
    byStatus: {},
    serverErrors: 0,
    uncoded: 0,
    undocumented: 0,
    mismatched: 0,
    validRequests: 0,
    refusedValid: 0,
    failures: [],
    durationMs: 0,
  };
  const ajv = contractAjv();
  const validators = new Map<Schema, ValidateFunction>();
  const validatorOf = (schema: Schema) => {
    const known = validators.get(schema);
    if (known) return known;
    // Under a root that holds the document's components, so that their $refs resolve.
    const compiled = ajv.compile({ allOf: [schema], components: doc.components ?? {} });
    validators.set(schema, compiled);
    return compiled;
  };
  const perKind = new Map<FailureKind, number>();
  const fail = (kind: FailureKind, request: InjectOptions, status: number, response: string) => {
    result[kind === 'server-error' ? 'serverErrors' : kind === 'refused-valid' ? 'refusedValid' : kind]++;
    const n = perKind.get(kind) ?? 0;
    perKind.set(kind, n + 1);
    if (n >= 5) return;
    const headers = request.headers as Record<string, string>;
    result.failures.push({
      kind,
      method: String(request.method),
      url: String(request.url).slice(0, 200),
      contentType: headers['content-type'],
      body: String(request.payload ?? '').slice(0, 300),
      status,
      response: response.slice(0, 300),
    });
  };
  // Requests are generated in one deterministic sequence; with concurrency > 1 only the
  // interleaving of their handling varies (which is the point: races between writes).
  let next = 0;
  const worker = async () => {
    while (next < o.requests) {
      if (o.timeBudgetMs !== undefined && Date.now() - started > o.timeBudgetMs) return;
      const op = ops[next % ops.length] as Operation;
      next++;
      // Webhook bodies are bytes judged by their signature: the schema says nothing to generate from.
      const validRequest =
        !op.path.startsWith('/api/v1/webhooks/') && rng.chance(0.35)
          ? generateValid(rng, op, o, ajv)
          : undefined;
      const request = validRequest ?? generate(rng, op, o);
      const isValid = validRequest !== undefined;
      const res = await o.app.inject(request);
      result.requests++;
      if (isValid) result.validRequests++;
      result.byStatus[res.statusCode] = (result.byStatus[res.statusCode] ?? 0) + 1;
      if (res.statusCode >= 500) fail('server-error', request, res.statusCode, res.body);
      if (res.statusCode >= 400 && request.method !== 'HEAD' && !isCodedError(res.body)) {
        fail('uncoded', request, res.statusCode, res.body);
      }
      if (isValid && res.statusCode === 400) fail('refused-valid', request, res.statusCode, res.body);
      // A request to another method or to a path that routes elsewhere is not this operation's.
      const routed = request.method === op.method && !/"message":"no route /.test(res.body);
      if (!routed || request.method === 'HEAD') continue;
      if (!op.responses.has(res.statusCode)) {
        fail('undocumented', request, res.statusCode, res.body);
        continue;
      }
      const schema = op.responses.get(res.statusCode);
      if (schema === undefined || res.statusCode === 204) {
        if (res.body !== '')
          fail('mismatched', request, res.statusCode, `a body where none is documented: ${res.body}`);
        continue;
      }
      let body: unknown;
      try {
        body = JSON.parse(res.body);
      } catch {
        fail('mismatched', request, res.statusCode, `not JSON: ${res.body}`);
        continue;
      }
      const validate = validatorOf(schema);
      if (!validate(body)) {
        fail('mismatched', request, res.statusCode, `${ajv.errorsText(validate.errors)}: ${res.body}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 1 }, worker));
  result.durationMs = Date.now() - started;
  return result;
}

/** The counts as a few lines for a log or the docs. */
export function formatFuzzResult(r: FuzzResult): string {
  const statuses = Object.entries(r.byStatus)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  return [
    `${r.requests} requests over ${r.operations} operations in ${(r.durationMs / 1000).toFixed(1)} s`,
    `by status: ${statuses}`,
    `5xx: ${r.serverErrors}; 4xx without {code, message}: ${r.uncoded}; undocumented status: ${r.undocumented}; body not matching its schema: ${r.mismatched}; schema-valid refused: ${r.refusedValid} of ${r.validRequests}`,
    ...r.failures.map(
      (f) =>
        `  [${f.kind}] ${f.status} ${f.method} ${f.url} [${f.contentType ?? 'no content-type'}] ${f.body.slice(0, 120)} → ${f.response.slice(0, 240)}`,
    ),
  ].join('\n');
}
