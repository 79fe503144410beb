// Render: the manifest files of one commit ⇒ the bundle one cluster of one stage runs.
// Every problem of the commit is collected (with file, document and line) rather than the
// first one thrown, and any problem rejects the whole render: a bad commit must never turn
// into a partial bundle, which the agent would faithfully apply and prune against.

import { basename } from 'node:path/posix';
import { canonicalJson } from '@gitfleet/proto/core';
import {
  type DocumentOptions,
  isMap,
  isSeq,
  LineCounter,
  type Node,
  type ParseOptions,
  parseAllDocuments,
  type SchemaOptions,
  type Tags,
} from 'yaml';
import {
  type Bundle,
  canonicalObject,
  type KubeObject,
  makeBundle,
  objectIdentity,
  rememberCanonical,
} from './bundle.ts';
import { FleetError, type Problem, problem } from './errors.ts';
import type { FleetPolicy } from './policy.ts';
import { substitute, type VariableRef } from './substitute.ts';

export type ManifestFile = {
  /** Path relative to the repository, e.g. "shop/manifests/web.yaml"; used in messages. */
  path: string;
  content: string;
};

export type RenderInput = {
  /** The files under the policy's manifests directory (others are ignored, see isManifestFile). */
  files: ManifestFile[];
  policy: FleetPolicy;
  stage: string;
  cluster: { name: string; labels: Record<string, string> };
  /** The commit being rendered: `${revision}`. */
  revision: string;
  /** Files are a tool's output, taken whole (not filtered by isManifestFile). */
  raw?: boolean;
};

export type RenderResult = { ok: true; bundle: Bundle } | { ok: false; errors: Problem[] };

/**
 * Which files hold manifests: `.yaml` / `.yml`, except `kustomization.yaml` (Kustomize's own
 * file, not an object) and `fleet.yaml` (the policy, when manifests sit next to it).
 */
export function isManifestFile(path: string): boolean {
  const name = basename(path).toLowerCase();
  if (!name.endsWith('.yaml') && !name.endsWith('.yml')) return false;
  return !['kustomization.yaml', 'kustomization.yml', 'fleet.yaml', 'fleet.yml'].includes(name);
}

// Manifests are read as YAML 1.1, like kubectl (go-yaml): `defaultMode: 0644` is octal and
// `yes`/`on` are booleans there, and a manifest must mean here what it means to kubectl.
// Timestamps stay strings, as they do when kubectl converts YAML to JSON.
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  prettyErrors: false,
  customTags: (tags: Tags) =>
    tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
};

type Located = { object: KubeObject; file: string; line: number | undefined; where: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

/** Renders the bundle of one cluster. Throws FleetError 'StageNotFound' if `stage` is not in the policy. */
export function renderBundle(input: RenderInput): RenderResult {
  const { policy, stage, cluster, revision } = input;
  if (!policy.stages.some((s) => s.name === stage)) {
    throw new FleetError('StageNotFound', `render: there is no stage '${stage}' in the policy`);
  }
  const errors: Problem[] = [];
  const resolve = variableResolver(input);

  const files = input.files
    .filter((f) => input.raw || isManifestFile(f.path))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const located: Located[] = [];
  // Env-style names defined under substitute: would be replaced here but left by a template.
  const templates = !Object.keys(policy.substitute).some(isEnvironmentStyle);
  for (const file of files) {
    const fast = templates ? fromTemplate(file, resolve) : null;
    if (fast) {
      located.push(...fast);
      continue;
    }
    const sub = substitute(file.content, (name) => resolve(name).value);
    // Upper-case names are environment variables of the workloads themselves (shell in a
    // container's args, as in microservices-demo: ${FRONTEND_ADDR}); they pass through as
    // written. Ours are lower-case (stage, cluster.*, substitute keys), so a typo still fails.
    const unresolved = sub.unresolved.filter((ref) => ref.unterminated || !isEnvironmentStyle(ref.name));
    if (unresolved.length > 0) {
      for (const ref of unresolved) {
        errors.push(
          problem('UnknownVariable', file.path, ref.line, explainUnresolved(ref, resolve(ref.name).why)),
        );
      }
      continue; // The text is incomplete; parsing it would only add confusing errors.
    }
    located.push(...parseManifestsOnce(file.path, sub.text, errors));
  }

  return assemble(located, errors, {
    allowEmpty: policy.apply.allowEmpty,
    emptyFile: policy.manifests,
    emptyWhat: `cluster '${cluster.name}' (stage ${stage}, revision ${revision.slice(0, 7)})`,
  });
}

/** Checks for duplicates and the empty-render guard, then builds the bundle. */
function assemble(
  located: Located[],
  errors: Problem[],
  options: { allowEmpty: boolean; emptyFile: string; emptyWhat: string },
): RenderResult {
  const seen = new Map<string, Located>();
  for (const item of located) {
    const id = objectIdentity(item.object);
    const first = seen.get(id);
    if (first) {
      const { kind, metadata } = item.object;
      const firstAt = first.line !== undefined ? `${first.file}:${first.line}` : first.file;
      errors.push(
        problem(
          'DuplicateObject',
          item.file,
          item.line,
          `${item.where}: ${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name} (apiVersion ${item.object.apiVersion}) is also defined in ${firstAt}; each object may be defined once — remove one of them or change its name or namespace`,
        ),
      );
    } else seen.set(id, item);
  }

  if (errors.length === 0 && located.length === 0 && !options.allowEmpty) {
    errors.push(
      problem(
        'EmptyBundle',
        options.emptyFile,
        undefined,
        `no objects rendered for ${options.emptyWhat}; applying that would prune everything this fleet deployed. Add manifests, or set \`apply: { allowEmpty: true }\` in fleet.yaml if an empty fleet is intended`,
      ),
    );
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, bundle: makeBundle(located.map((l) => l.object)) };
}

/** What a tool (helm template, kustomize build) wrote, split by the file each document came from. */
export type RenderedFile = { path: string; content: string };

export type RenderedInput = {
  files: RenderedFile[];
  allowEmpty: boolean;
  /** Where an empty render points to, and what it was for, in the message. */
  emptyFile: string;
  emptyWhat: string;
  /** Applied to each parsed object; null drops it (Helm test hooks). Must not mutate its argument. */
  transform?: (object: KubeObject) => KubeObject | null;
};

/**
 * The objects a tool rendered ⇒ the bundle. Parsed and checked exactly like manifests, but
 * never substituted: variables went into the tool's inputs, and what a chart writes is its own.
 */
export function bundleFromRendered(input: RenderedInput): RenderResult {
  const errors: Problem[] = [];
  const located: Located[] = [];
  for (const file of input.files) {
    for (const item of parseManifestsOnce(file.path, file.content, errors)) {
      const object = input.transform ? input.transform(item.object) : item.object;
      if (object) located.push({ ...item, object });
    }
  }
  return assemble(located, errors, input);
}

export type Resolution = { value: string | undefined; why: string };

/** Resolves `${...}` names for one cluster; `why` explains a failure. Results are memoized. */
export function variableResolver(
  input: Pick<RenderInput, 'policy' | 'stage' | 'cluster' | 'revision'>,
): (name: string) => Resolution {
  const { policy, stage, cluster, revision } = input;
  const cache = new Map<string, Resolution>();
  const builtin = (name: string): Resolution => {
    if (name === 'stage') return { value: stage, why: '' };
    if (name === 'revision') return { value: revision, why: '' };
    if (name === 'cluster.name') return { value: cluster.name, why: '' };
    if (name.startsWith('cluster.labels.')) {
      const key = name.slice('cluster.labels.'.length);
      return Object.hasOwn(cluster.labels, key)
        ? { value: cluster.labels[key], why: '' }
        : {
            value: undefined,
            why: `cluster '${cluster.name}' has no label '${key}'; add the label to the cluster (PATCH /api/v1/clusters/${cluster.name}) or narrow the stage selector to clusters that have it`,
          };
    }
    const known = [
      'stage',
      'revision',
      'cluster.name',
      'cluster.labels.<key>',
      ...Object.keys(policy.substitute),
    ];
    return {
      value: undefined,
      why: `it is not a variable; known variables: ${known.map((k) => `\${${k}}`).join(', ')} (define more under substitute: in fleet.yaml)`,
    };
  };
  return (name) => {
    let r = cache.get(name);
    if (r) return r;
    if (Object.hasOwn(policy.substitute, name)) {
      const failures: string[] = [];
      const sub = substitute(policy.substitute[name]!, (inner) => {
        const b = builtin(inner);
        if (b.value === undefined) failures.push(b.why);
        return b.value;
      });
      r =
        sub.unresolved.length === 0
          ? { value: sub.text, why: '' }
          : {
              value: undefined,
              why: `fleet.yaml substitute.${name} cannot be resolved: ${failures.join('; ')}`,
            };
    } else r = builtin(name);
    cache.set(name, r);
    return r;
  };
}

function explainUnresolved(ref: VariableRef, why: string): string {
  if (ref.unterminated) {
    return `'\${${ref.name}' has no closing '}' on this line; close it, or write '$\${' for a literal '\${'`;
  }
  return `cannot substitute \${${ref.name}}: ${why}. For a literal '\${${ref.name}}' write '$\${${ref.name}}'`;
}

// A file that names ${cluster.*} reads differently for every cluster, so the cache below
// would parse it once per cluster. Instead it is parsed once as a template, each variable
// replaced by a placeholder, and each cluster's objects are the template's with the values put
// in where the placeholders are. That gives exactly what substituting the text and parsing it
// would only when a value cannot change how its YAML reads: it must be made of name-like
// characters (no quote, colon, space, '#' or newline), stand in a string value (not a key),
// and the string it makes must still read as a string (`80` would become a number). Anything
// else — and any file the template does not parse cleanly — takes the text path.
const HOLE_OPEN = '\u{F8F0}';
const HOLE_CLOSE = '\u{F8F1}';
const HOLE = /\u{F8F0}(\d+)\u{F8F1}/gu;
const SAFE_VALUE = /^[A-Za-z0-9._/-]+$/;

type Hole = { object: number; path: (string | number)[]; template: string };
type Template = { located: Located[]; names: string[]; holes: Hole[] };

const templatesCache = new Map<string, Template | null>();

function templateOf(file: ManifestFile): Template | null {
  const key = `${file.path}\0${file.content}`;
  if (templatesCache.has(key)) return templatesCache.get(key) ?? null;
  let template: Template | null = null;
  if (!file.content.includes(HOLE_OPEN) && !file.content.includes(HOLE_CLOSE)) {
    const names: string[] = [];
    const sub = substitute(file.content, (name) => {
      let i = names.indexOf(name);
      if (i === -1) i = names.push(name) - 1;
      return `${HOLE_OPEN}${i}${HOLE_CLOSE}`;
    });
    if (names.length > 0 && sub.unresolved.length === 0) {
      const problems: Problem[] = [];
      const located = parseManifests(file.path, sub.text, problems);
      const holes: Hole[] = [];
      let keyHole = false;
      for (const [object, l] of located.entries()) {
        findHoles(
          l.object,
          [],
          (path, text) => holes.push({ object, path, template: text }),
          () => {
            keyHole = true;
          },
        );
      }
      if (problems.length === 0 && !keyHole) template = { located, names, holes };
    }
  }
  if (templatesCache.size >= 1024) templatesCache.delete(templatesCache.keys().next().value as string);
  templatesCache.set(key, template);
  return template;
}

function findHoles(
  value: unknown,
  path: (string | number)[],
  onHole: (path: (string | number)[], text: string) => void,
  onKeyHole: () => void,
): void {
  if (typeof value === 'string') {
    if (value.includes(HOLE_OPEN)) onHole(path, value);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) findHoles(v, [...path, i], onHole, onKeyHole);
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes(HOLE_OPEN)) onKeyHole();
      findHoles(v, [...path, k], onHole, onKeyHole);
    }
  }
}

const readsAsString = new Map<string, boolean>();
// Words YAML 1.1 reads as booleans or null; any other text that starts with a letter and holds
// no ':' or '#' is a string (numbers, timestamps and .inf/.nan start otherwise).
const YAML11_WORDS =
  /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;

/** Whether `text`, written as a plain YAML 1.1 scalar, is that string (not a number, bool, null). */
function plainString(text: string): boolean {
  if (/^[A-Za-z][^:#\n]*$/.test(text) && !/\s$/.test(text) && !YAML11_WORDS.test(text)) return true;
  let r = readsAsString.get(text);
  if (r === undefined) {
    const docs = parseAllDocuments(`v: ${text}\n`, YAML_OPTIONS);
    const doc = Array.isArray(docs) && docs.length === 1 ? docs[0] : undefined;
    r = !!doc && doc.errors.length === 0 && (doc.toJS() as { v?: unknown } | null)?.v === text;
    if (readsAsString.size >= 65_536) readsAsString.clear();
    readsAsString.set(text, r);
  }
  return r;
}

/** One cluster's objects of a file from its template, or null when the text path must decide. */
function fromTemplate(file: ManifestFile, resolve: (name: string) => Resolution): Located[] | null {
  const template = templateOf(file);
  if (!template) return null;
  const values: string[] = [];
  for (const name of template.names) {
    const value = resolve(name).value;
    if (value === undefined || !SAFE_VALUE.test(value)) return null;
    values.push(value);
  }
  const fill = (text: string, encode: (v: string) => string) =>
    text.replace(HOLE, (_m, i: string) => encode(values[Number(i)] as string));
  for (const hole of template.holes) if (!plainString(fill(hole.template, (v) => v))) return null;
  const located = [...template.located];
  for (const [i, item] of template.located.entries()) {
    const holes = template.holes.filter((h) => h.object === i);
    if (holes.length === 0) continue;
    let object = item.object;
    for (const hole of holes)
      object = setAt(
        object,
        hole.path,
        fill(hole.template, (v) => v),
      ) as KubeObject;
    // The canonical JSON is the template's with the values put in (holes are never keys).
    rememberCanonical(
      object,
      fill(canonicalObject(item.object), (v) => JSON.stringify(v).slice(1, -1)),
    );
    located[i] = { ...item, object };
  }
  return located;
}

/** A copy of `target` with `value` at `path`: only the containers on the path are copied. */
function setAt(target: unknown, path: (string | number)[], value: string): unknown {
  if (path.length === 0) return value;
  const [seg, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(target)) {
    const copy = [...target];
    copy[seg as number] = setAt(target[seg as number], rest, value);
    return copy;
  }
  const node = target as Record<string, unknown>;
  return { ...node, [seg]: setAt(node[seg], rest, value) };
}

// Parsing is most of a render's cost, and most files read the same for every cluster of a
// stage (only those naming ${cluster.*} differ): ten thousand clusters of one revision parse
// each distinct (path, text) once. The key is the substituted text itself, so the cache can
// never answer for different content; parsed objects are shared between bundles and must not
// be mutated (nothing downstream does: bundles are sorted copies, encoded to JSON).
const PARSED_BUDGET = 64 * 2 ** 20; // characters of text kept as keys (objects are about as big)
const parsed = new Map<string, { located: Located[]; problems: Problem[] }>();
let parsedChars = 0;

function parseManifestsOnce(path: string, text: string, errors: Problem[]): Located[] {
  const key = `${path}\0${text}`;
  let entry = parsed.get(key);
  if (!entry) {
    const problems: Problem[] = [];
    entry = { located: parseManifests(path, text, problems), problems };
    for (const oldest of parsed.keys()) {
      if (parsedChars + key.length <= PARSED_BUDGET) break;
      parsed.delete(oldest);
      parsedChars -= oldest.length;
    }
    parsed.set(key, entry);
    parsedChars += key.length;
  }
  errors.push(...entry.problems);
  return entry.located;
}

function parseManifests(path: string, text: string, errors: Problem[]): Located[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter: lines });
  if (!Array.isArray(docs)) return []; // an empty or comment-only file
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as Node | null)?.range;
    return range ? lines.linePos(range[0]).line : undefined;
  };
  const out: Located[] = [];
  docs.forEach((doc, i) => {
    const docName = docs.length > 1 ? `document ${i + 1}` : 'the document';
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        errors.push(
          problem(
            'YamlSyntax',
            path,
            lines.linePos(err.pos[0]).line,
            `${docName} is not valid YAML: ${err.message}`,
          ),
        );
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS(); // the default alias limit stops "billion laughs" expansions
    } catch (err) {
      errors.push(problem('YamlSyntax', path, lineOf(doc.contents), `${docName}: ${(err as Error).message}`));
      return;
    }
    if (value === null || value === undefined) return; // empty document: `---` with nothing after it
    if (!isPlainObject(value)) {
      errors.push(
        problem(
          'NotAnObject',
          path,
          lineOf(doc.contents),
          `${docName} is a ${Array.isArray(value) ? 'list' : typeof value}, not a Kubernetes object; each document must be a mapping with apiVersion, kind and metadata.name`,
        ),
      );
      return;
    }
    // `kind: List` (and typed lists such as ConfigMapList) expand to their items, as in kubectl.
    if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      const itemsNode = isMap(doc.contents) ? doc.contents.get('items', true) : undefined;
      value.items.forEach((item, j) => {
        const node = isSeq(itemsNode) ? itemsNode.items[j] : doc.contents;
        const found = checkObject(path, `${docName}, items[${j}]`, item, lineOf(node), errors);
        if (found) out.push(found);
      });
      return;
    }
    const found = checkObject(path, docName, value, lineOf(doc.contents), errors);
    if (found) out.push(found);
  });
  return out;
}

function checkObject(
  file: string,
  where: string,
  value: unknown,
  line: number | undefined,
  errors: Problem[],
): Located | null {
  if (!isPlainObject(value)) {
    errors.push(
      problem('NotAnObject', file, line, `${where} is not a mapping; it must be a Kubernetes object`),
    );
    return null;
  }
  const metadata = value.metadata;
  const missing: string[] = [];
  if (!nonEmptyString(value.apiVersion)) missing.push('apiVersion');
  if (!nonEmptyString(value.kind)) missing.push('kind');
  if (!isPlainObject(metadata)) missing.push('metadata');
  else if (!nonEmptyString(metadata.name)) missing.push('metadata.name');
  const label = [
    nonEmptyString(value.kind) ? value.kind : null,
    isPlainObject(metadata) && nonEmptyString(metadata.name) ? metadata.name : null,
  ]
    .filter(Boolean)
    .join(' ');
  const what = label ? `${where} (${label})` : where;
  if (missing.length > 0) {
    errors.push(
      problem(
        'MissingField',
        file,
        line,
        `${what} has no ${missing.join(', ')}; every object needs a string apiVersion, kind and metadata.name${missing.includes('metadata.name') && isPlainObject(metadata) && metadata.generateName ? ' (generateName is not supported: server-side apply needs a fixed name)' : ''}`,
      ),
    );
    return null;
  }
  const meta = metadata as Record<string, unknown>;
  if (meta.namespace !== undefined && !nonEmptyString(meta.namespace)) {
    errors.push(
      problem('InvalidField', file, line, `${what}: metadata.namespace must be a non-empty string`),
    );
    return null;
  }
  try {
    canonicalJson(value);
  } catch (err) {
    errors.push(
      problem(
        'UnsupportedValue',
        file,
        line,
        `${what}: ${(err as Error).message.replace(/^\$/, 'the object')}; quote it to make it a string`,
      ),
    );
    return null;
  }
  return { object: value as KubeObject, file, line, where };
}

/** `FRONTEND_ADDR`, `HOME`, `X1`: names a shell or a container runtime expands, not us. */
export function isEnvironmentStyle(name: string): boolean {
  return /^[A-Z_][A-Z0-9_]*$/.test(name);
}
