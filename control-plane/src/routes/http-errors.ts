// Where errors become HTTP: the one table from error code to status, the refusals that only
// HTTP knows (a body too large, a wrong media type, an overlong URL), and the error handler
// that answers every failure as `{ code, message, details? }`.
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { DomainError, type ErrorCode, storeUnavailable } from '../errors.ts';
import { FleetError } from '../fleet/index.ts';
import { isRedisUnavailable } from '../store/availability.ts';
import type { RedisClient } from '../store/connect.ts';
import { BODY_LIMIT, fastifyInputError, HttpRefusal, validationMessage } from './input.ts';

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  InvalidRequest: 400,
  InvalidSelector: 400,
  Unauthorized: 401,
  InvalidSignature: 401,
  Forbidden: 403,
  NotFound: 404,
  ClusterNotFound: 404,
  FleetNotFound: 404,
  StageNotFound: 404,
  RevisionNotFound: 404,
  ClusterExists: 409,
  FleetExists: 409,
  Conflict: 409,
  PromotionRefused: 409,
  RollbackRefused: 409,
  // Well formed, but outside what the project allows (its fleet names, its repositories).
  ProjectRefused: 409,
  // The Git server answered and said no (credentials, branch, file): the fleet's settings are wrong.
  GitError: 409,
  InvalidRevision: 422,
  RevisionNotOnBranch: 422,
  Internal: 500,
  CredentialsUnreadable: 500,
  GitUnavailable: 502,
  StoreUnavailable: 503,
};

/** A fleet.yaml or bundle the core refuses: the request was understood, its content is not valid. */
const FLEET_ERROR_STATUS = 422;

export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** Status and body of a known error; undefined for anything unexpected. */
function httpErrorOf(err: unknown): { status: number; body: ErrorBody } | undefined {
  if (err instanceof HttpRefusal) return { status: err.status, body: bodyOf(err) };
  if (err instanceof DomainError) return { status: HTTP_STATUS[err.code], body: bodyOf(err) };
  if (err instanceof FleetError) {
    return {
      status: FLEET_ERROR_STATUS,
      body: { code: err.code, message: err.message, details: err.problems },
    };
  }
  return undefined;
}

function bodyOf(err: DomainError): ErrorBody {
  return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The code of the error the request was answered with (for the audit). */
    failure?: string;
  }
}

/** Fastify's error handler: every failure answered with a code, never a stack. `redis` tells a 503 from a 500. */
export function errorHandler(redis?: RedisClient) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const answer = answerOf(err, request, redis);
    request.failure = answer.body.code;
    if (answer.retryAfter) reply.header('retry-after', answer.retryAfter);
    return reply.code(answer.status).send(answer.body);
  };
}

function answerOf(
  err: FastifyError | Error,
  request: FastifyRequest,
  redis: RedisClient | undefined,
): { status: number; body: ErrorBody; retryAfter?: string } {
  const known = httpErrorOf(err);
  if (known) return known;
  const fe = err as FastifyError;
  if (fe.validation) {
    return {
      status: 400,
      body: {
        code: 'InvalidRequest',
        message: validationMessage(fe.validation, fe.validationContext ?? 'request'),
      },
    };
  }
  const refusal = fastifyInputError(fe, request.routeOptions.bodyLimit ?? BODY_LIMIT);
  if (refusal) return { status: refusal.status, body: bodyOf(refusal) };
  if (fe.statusCode && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { code: 'InvalidRequest', message: fe.message } };
  }
  // Redis down or reconnecting: a 503 the caller can retry, not an internal error.
  if (isRedisUnavailable(err, redis))
    return { status: 503, body: bodyOf(storeUnavailable()), retryAfter: '5' };
  request.log.error({ err }, 'request failed');
  return {
    status: 500,
    body: { code: 'Internal', message: 'internal error; the control plane log has the details' },
  };
}

/** The body of every error answer. */
const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'Stable and machine-readable: branch on this, not on the message' },
    message: { type: 'string', description: 'What is wrong and what to change, for a person' },
    details: {
      description: 'More, for some codes: the problems of a fleet.yaml, the clusters a gate waits for',
    },
  },
} as const;

const REASONS: Record<number, string> = {
  400: 'The request is not valid',
  401: 'No token, or a token not recognised',
  403: 'The token may not do this',
  404: 'Not found',
  409: 'In conflict with the current state',
  413: 'The body is larger than this endpoint reads',
  414: 'A path segment is too long',
  415: 'The body is not JSON',
  422: 'Understood, but its content is not valid',
  500: 'The control plane could not do it',
  502: 'The Git server could not be reached',
  503: 'Redis is unreachable: retry',
};

/** errorSchema as a shared schema: error answers refer to it, and clients see one Error type. */
export const sharedErrorSchema = { $id: 'Error', ...errorSchema } as const;

type ErrorResponse = { description: string; $ref: string };

/** An error code a route returns, as its route option `config.errors` lists them. */
export type RouteError = ErrorCode | 'FleetError';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The errors of its own a route returns; documentErrors adds those every route of its kind can. */
    errors?: readonly RouteError[];
  }
}

interface RouteShape {
  method: string | string[];
  schema?: FastifySchema;
  config?: { public?: boolean; errors?: readonly RouteError[] };
}

type DocumentedSchema = { hide?: boolean; params?: unknown; response?: Record<string, unknown> };

/**
 * Documents every error a route can answer, as response entries grouped by status, each
 * naming its codes: the route's own (`config.errors`) and those every route of its kind can
 * return (refusals of the request itself, of its token, and Redis being away). `open` says
 * whether the route needs no token.
 */
export function documentErrors(route: RouteShape, open: boolean): void {
  const schema = route.schema as DocumentedSchema | undefined;
  if (!schema || schema.hide || route.config?.public) return;
  const writes = [route.method].flat().some((m) => m !== 'GET' && m !== 'HEAD');
  const codes: RouteError[] = [...(route.config?.errors ?? []), 'InvalidRequest', 'StoreUnavailable'];
  if (!open) codes.push('Unauthorized');
  if (!open && writes) codes.push('Forbidden');
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const status = code === 'FleetError' ? FLEET_ERROR_STATUS : HTTP_STATUS[code];
    const names = byStatus.get(status) ?? [];
    const name = code === 'FleetError' ? 'a fleet.yaml problem code' : code;
    if (!names.includes(name)) names.push(name);
    byStatus.set(status, names);
  }
  // The refusals HTTP itself makes (routes/input.ts), all with code InvalidRequest.
  if (schema.params) byStatus.set(414, ['InvalidRequest']);
  if (writes) {
    byStatus.set(413, ['InvalidRequest']);
    byStatus.set(415, ['InvalidRequest']);
  }
  const response = schema.response ?? {};
  for (const [status, names] of byStatus) {
    const entry: ErrorResponse = {
      $ref: 'Error#',
      description: `${REASONS[status] ?? 'Error'} (code ${names.join(', ')})`,
    };
    response[status] = entry;
  }
  schema.response = response;
}
