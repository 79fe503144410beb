// What the REST API accepts, and how it refuses the rest: body size limits, the schema of
// names in paths, and the wording of every refusal that comes from Fastify itself (JSON
// parsing, schema validation, bad URLs) rather than from a route. Each refusal is an
// error with a stable code and a message that says what to change; none is a 5xx.
import type { FastifyError } from 'fastify';
import { DomainError, invalid } from '../errors.ts';

/** The largest REST request body read (Fastify's default, made explicit): every body here is a few hundred bytes. */
export const BODY_LIMIT = 1024 * 1024;
/** Webhook deliveries are read whole to check their signature; GitHub caps a delivery at 25 MB. */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;
/** Longest path segment routed; names are DNS labels (≤ 63), so anything longer is refused early. */
export const MAX_PARAM_LENGTH = 100;

const DNS_LABEL_RULE = "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit";

/** A name of the API (cluster, fleet, project, token, target): a DNS label. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

/** `{name}` in a path: a cluster or fleet name, which are DNS labels. */
export const nameParam = {
  type: 'object',
  properties: {
    name: {
      type: 'string',
      pattern: DNS_LABEL,
      description: DNS_LABEL_RULE,
    },
  },
  required: ['name'],
} as const;

/**
 * A schema annotation: how to refuse a value that breaks the schema's rules (pattern, length,
 * range), where `{value}` is the value as JSON, `{raw}` the value as text and `{key}` the name
 * of its field. Only for
 * values that are not secrets: the sentence quotes them.
 */
export const REFUSAL = 'x-refusal';

/** Options for Fastify's Ajv: refuse what does not match instead of quietly repairing it. */
export const ajvOptions = {
  // `{"name": 123}` is a wrong type, not the name "123".
  coerceTypes: false,
  // With `additionalProperties: false` an unknown field is refused, not silently dropped: a
  // misspelt `lables` must not register a cluster without labels.
  removeAdditional: false,
  // Errors carry the schema and value, so messages can name allowed fields and rules.
  verbose: true,
  // REFUSAL: the sentence a schema gives for a value that breaks its rules (see validationMessage).
  keywords: [REFUSAL] as string[],
} as const;

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
  parentSchema?: { description?: string; properties?: Record<string, unknown>; [REFUSAL]?: string };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/** One sentence saying which part of the request is wrong and how, from Ajv's first error. */
export function validationMessage(errors: AjvError[], context: string): string {
  const e = errors[0];
  if (!e) return `${context} is not valid`;
  const path = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const where = [context, ...path].join('.');
  switch (e.keyword) {
    case 'required':
      return `${where}: field "${String(e.params.missingProperty)}" is required`;
    case 'additionalProperties': {
      const allowed = Object.keys(e.parentSchema?.properties ?? {});
      return `${where}: unknown field "${String(e.params.additionalProperty)}"; remove it${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`;
    }
    case 'type': {
      const types = String(e.params.type).split(',').map(article).join(' or ');
      return `${where} must be ${types}, not ${kindOf(e.data)}`;
    }
    default: {
      const refusal = e.parentSchema?.[REFUSAL];
      if (refusal) {
        return refusal
          .replaceAll('{value}', JSON.stringify(e.data))
          .replaceAll('{raw}', String(e.data))
          .replaceAll('{key}', path.at(-1) ?? context);
      }
      // Values are echoed only from the URL: a body field may hold a secret.
      const rule = e.parentSchema?.description ?? e.message ?? 'is not valid';
      if (context === 'params' && typeof e.data === 'string') {
        return `${path.join('.') || 'path'} ${JSON.stringify(e.data)} is not valid: use ${rule}`;
      }
      return e.parentSchema?.description ? `${where} is not valid: use ${rule}` : `${where} ${rule}`;
    }
  }
}

/** Node's JSON.parse message without the snippet of the body it quotes (it may be a secret). */
function jsonProblem(body: string): string {
  try {
    JSON.parse(body);
  } catch (err) {
    // e.g. `Unexpected token 'h', ..."password": hunter2"... is not valid JSON`
    return (err as Error).message.replace(/, (\.\.\.)?".*$/s, '');
  }
  return 'a "__proto__" or "constructor.prototype" key is not accepted';
}

/** The refusal for a JSON body Fastify's (prototype-poisoning safe) parser would not read. */
export function jsonBodyError(body: string): DomainError {
  if (body.length === 0) {
    return invalid(
      'the request body is empty but Content-Type is application/json: send a JSON object, or no Content-Type',
    );
  }
  return invalid(`the request body is not valid JSON (${jsonProblem(body)}): send a JSON object`);
}

/**
 * A refusal of the request as HTTP (its size, media type or URL) rather than of what it asks
 * for: the code stays InvalidRequest, the status says which rule.
 */
export class HttpRefusal extends DomainError {
  readonly status: number;
  constructor(status: number, message: string) {
    super('InvalidRequest', message);
    this.status = status;
  }
}

/**
 * Fastify's own 4xx errors, reworded. `bodyLimit` is the route's, for the 413 message.
 * Returns undefined for anything else.
 */
export function fastifyInputError(err: FastifyError, bodyLimit: number): HttpRefusal | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpRefusal(
        413,
        `the request body is larger than ${bodyLimit} bytes, the limit of this endpoint: send less`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpRefusal(
        415,
        'this Content-Type is not accepted: send the body as JSON with `Content-Type: application/json`',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpRefusal(
        400,
        'the request body does not have the length its Content-Length header announces',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpRefusal(400, jsonBodyError('').message);
    case 'FST_ERR_BAD_URL':
      return new HttpRefusal(
        400,
        'the URL path is not valid percent-encoding: encode each name with encodeURIComponent',
      );
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new HttpRefusal(
        414,
        `a path segment is longer than ${MAX_PARAM_LENGTH} characters: cluster and fleet names are ${DNS_LABEL_RULE}`,
      );
    default:
      return undefined;
  }
}

// An http(s) URL as JSON Schema can state it: the host a name or an IP literal, a valid port,
// and (where allowed) RFC 3986 user info; what the WHATWG URL parser then reads.
const H16 = '[0-9A-Fa-f]{1,4}';
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const LS32 = `(${H16}:${H16}|${OCTET}(\\.${OCTET}){3})`;
const IPV6 = [
  `(${H16}:){6}${LS32}`,
  `::(${H16}:){5}${LS32}`,
  `(${H16})?::(${H16}:){4}${LS32}`,
  `((${H16}:){0,1}${H16})?::(${H16}:){3}${LS32}`,
  `((${H16}:){0,2}${H16})?::(${H16}:){2}${LS32}`,
  `((${H16}:){0,3}${H16})?::${H16}:${LS32}`,
  `((${H16}:){0,4}${H16})?::${LS32}`,
  `((${H16}:){0,5}${H16})?::${H16}`,
  `((${H16}:){0,6}${H16})?::`,
].join('|');
// A name's last label starts with a letter: one that looks numeric makes the parser read an IPv4 address.
const LABEL = '[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?';
const HOST = `((${LABEL}\\.)*[A-Za-z]([-A-Za-z0-9_]*[A-Za-z0-9])?\\.?|${OCTET}(\\.${OCTET}){3}|\\[(${IPV6})\\])`;
const PORT = '([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
const USERINFO = "[A-Za-z0-9._~!$&'()*+,;=:-]*@";

/** An absolute http(s) URL without a #fragment; with `userinfo`, user:password@ may precede the host. */
export function httpUrlPattern(options: { userinfo: boolean }): string {
  return `^https?://${options.userinfo ? `(${USERINFO})?` : ''}${HOST}(:${PORT})?([/?][^\\s#]*)?$`;
}

/** The body of a list answer: `{ items: [...] }`. */
export function listOf<T extends object>(items: T) {
  return { type: 'object', required: ['items'], properties: { items: { type: 'array', items } } } as const;
}
