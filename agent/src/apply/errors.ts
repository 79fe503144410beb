// Errors of the apply, each naming the object, with a stable code for machines and a message
// a person can act on. The IO layer gets an HTTP status and a body from the API server; the
// mapping of that to a code and a message lives here so it can be tested without a cluster.

import type { ObjectRef } from '../objects.ts';
import { formatRef } from '../objects.ts';

export type ApplyErrorCode =
  | 'ApplyFailed' // anything not classified below; the API server's message says why
  | 'FieldConflict' // server-side apply: fields owned by another field manager
  | 'Invalid' // the object does not validate or does not match its schema
  | 'Immutable' // a field that cannot change after creation was changed
  | 'NotFound'
  | 'NamespaceNotFound'
  | 'NamespaceTerminating'
  | 'KindNotServed' // the API server does not serve this group/version/kind (CRD missing?)
  | 'Forbidden' // RBAC, quota, PodSecurity or an admission webhook said no
  | 'Unauthorized'
  | 'Conflict' // optimistic concurrency or AlreadyExists: retrying resolves it
  | 'Transient' // throttled, timed out or the server failed: retry later
  | 'WaitTimeout'; // applied, but not Current within the deadline

// A field manager that owns fields we tried to set.
export interface FieldConflict {
  manager: string;
  field: string;
}

export interface FieldError {
  field: string;
  reason: string;
  message: string;
}

// metav1.Status as it comes over the wire. Note that a StatusCause's type is serialized as
// `reason`.
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
}

export interface ApplyErrorInit {
  code: ApplyErrorCode;
  ref: ObjectRef;
  message: string;
  apiMessage?: string;
  apiReason?: string;
  httpStatus?: number;
  conflicts?: FieldConflict[];
  fieldErrors?: FieldError[];
  retryable?: boolean;
  retryAfterSeconds?: number;
}

export class ApplyError extends Error {
  readonly code: ApplyErrorCode;
  readonly ref: ObjectRef;
  // The API server's own words, kept apart from our message for the per-object status.
  readonly apiMessage: string;
  readonly apiReason: string;
  readonly httpStatus: number | undefined;
  readonly conflicts: FieldConflict[];
  readonly fieldErrors: FieldError[];
  // Whether trying the same apply again, unchanged, can succeed.
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: ApplyErrorInit) {
    super(init.message);
    this.name = 'ApplyError';
    this.code = init.code;
    this.ref = init.ref;
    this.apiMessage = init.apiMessage ?? '';
    this.apiReason = init.apiReason ?? '';
    this.httpStatus = init.httpStatus;
    this.conflicts = init.conflicts ?? [];
    this.fieldErrors = init.fieldErrors ?? [];
    this.retryable = init.retryable ?? false;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  // Error's own properties do not serialize; status reports and logs need these.
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      ref: this.ref,
      message: this.message,
      apiMessage: this.apiMessage,
      apiReason: this.apiReason,
      httpStatus: this.httpStatus,
      conflicts: this.conflicts,
      fieldErrors: this.fieldErrors,
      retryable: this.retryable,
      retryAfterSeconds: this.retryAfterSeconds,
    };
  }
}

export function isApplyError(value: unknown): value is ApplyError {
  return value instanceof ApplyError;
}

// Maps an API server error response to an ApplyError. `statusBody` is what came back: a
// metav1.Status object, its JSON text, or plain text (a 404 for an unknown API group is the
// text "404 page not found", not a Status).
export function fromApiStatus(ref: ObjectRef, httpStatus: number, statusBody: unknown): ApplyError {
  const status = asStatus(statusBody);
  const apiReason = status?.reason ?? '';
  const plain = typeof statusBody === 'string' ? statusBody.trim() : '';
  const apiMessage = status?.message || plain || `HTTP ${httpStatus}`;
  const causes = status?.details?.causes ?? [];
  const who = formatRef(ref);
  const base = { ref, apiMessage, apiReason, httpStatus };

  const conflicts = causes
    .filter((c) => c.reason === 'FieldManagerConflict')
    .map((c) => ({ manager: managerOf(c.message ?? ''), field: c.field ?? '' }));
  if ((httpStatus === 409 || apiReason === 'Conflict') && conflicts.length > 0) {
    const managers = [...new Set(conflicts.map((c) => `"${c.manager}"`))].join(', ');
    const fields = conflicts.map((c) => c.field).join(', ');
    return new ApplyError({
      ...base,
      code: 'FieldConflict',
      conflicts,
      message:
        `${who}: ${fields} ${conflicts.length === 1 ? 'is' : 'are'} managed by ${managers}: ` +
        'stop the other tool from setting these fields, or remove them from the manifest in Git ' +
        '(applying with force takes them over)',
    });
  }

  if (httpStatus === 409 || apiReason === 'Conflict' || apiReason === 'AlreadyExists') {
    return new ApplyError({
      ...base,
      code: 'Conflict',
      retryable: true,
      message: `${who}: changed concurrently, will retry: ${apiMessage}`,
    });
  }

  // The API server cannot build a typed patch when the object does not match the schema;
  // older servers say so with a 500, which is not worth retrying.
  const schemaMismatch =
    /failed to create typed patch object|field not declared in schema|strict decoding error|unknown field "/.test(
      apiMessage,
    );
  if (httpStatus === 422 || apiReason === 'Invalid' || schemaMismatch) {
    const fieldErrors = causes.map((c) => ({
      field: c.field ?? '',
      reason: c.reason ?? '',
      message: c.message ?? '',
    }));
    const immutable = fieldErrors.filter((f) => /immutable/i.test(f.message));
    if (immutable.length > 0 || /is immutable|immutable field/i.test(apiMessage)) {
      const fields = immutable.map((f) => f.field).filter((f) => f !== '');
      return new ApplyError({
        ...base,
        code: 'Immutable',
        fieldErrors,
        message:
          `${who}: ${fields.length > 0 ? fields.join(', ') : 'a field'} cannot be changed after creation: ` +
          `revert the change in Git, or delete the object so it is created anew (${apiMessage})`,
      });
    }
    const detail =
      fieldErrors.length > 0
        ? fieldErrors.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join('; ')
        : apiMessage;
    return new ApplyError({
      ...base,
      code: 'Invalid',
      fieldErrors,
      message: `${who} is invalid: ${detail}: fix the manifest in Git`,
    });
  }

  if (httpStatus === 404 || apiReason === 'NotFound') {
    // A Status with details names the missing object; a bare 404 (or the generic message)
    // means the URL itself, that is the resource type, does not exist.
    if (!status || apiMessage === 'the server could not find the requested resource') {
      const gv =
        ref.version === ''
          ? ref.group || 'v1'
          : ref.group === ''
            ? ref.version
            : `${ref.group}/${ref.version}`;
      return new ApplyError({
        ...base,
        code: 'KindNotServed',
        retryable: true,
        message:
          `${who}: the API server does not serve kind ${ref.kind} in ${gv}: ` +
          'install its CustomResourceDefinition first, or fix the apiVersion',
      });
    }
    if (status.details?.kind === 'namespaces') {
      const ns = status.details.name || ref.namespace;
      return new ApplyError({
        ...base,
        code: 'NamespaceNotFound',
        retryable: true,
        message: `${who}: namespace "${ns}" does not exist: add a Namespace object to the bundle, or create it`,
      });
    }
    return new ApplyError({ ...base, code: 'NotFound', message: `${who} not found: ${apiMessage}` });
  }

  if (httpStatus === 403 || apiReason === 'Forbidden') {
    if (
      causes.some((c) => c.reason === 'NamespaceTerminating') ||
      /because it is being terminated/.test(apiMessage)
    ) {
      return new ApplyError({
        ...base,
        code: 'NamespaceTerminating',
        retryable: true,
        message: `${who}: namespace "${ref.namespace}" is being deleted; the object is applied once it is gone`,
      });
    }
    const rbac = /cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?/.exec(apiMessage);
    if (rbac) {
      const where = ref.namespace === '' ? 'at cluster scope' : `in namespace "${ref.namespace}"`;
      return new ApplyError({
        ...base,
        code: 'Forbidden',
        message:
          `${who}: the agent may not ${rbac[1]} ${rbac[2]} ${where}: ` +
          `grant it to the agent's ServiceAccount with RBAC (${apiMessage})`,
      });
    }
    return new ApplyError({
      ...base,
      code: 'Forbidden',
      message: `${who} was refused by the cluster: ${apiMessage}`,
    });
  }

  if (httpStatus === 401 || apiReason === 'Unauthorized') {
    return new ApplyError({
      ...base,
      code: 'Unauthorized',
      message: `${who}: the API server rejected the agent's credentials: check the agent's ServiceAccount token`,
    });
  }

  if (
    [429, 500, 502, 503, 504].includes(httpStatus) ||
    ['TooManyRequests', 'ServerTimeout', 'Timeout', 'InternalError', 'ServiceUnavailable'].includes(apiReason)
  ) {
    const init: ApplyErrorInit = {
      ...base,
      code: 'Transient',
      retryable: true,
      message: `${who}: the API server could not take it now, will retry: ${apiMessage}`,
    };
    if (status?.details?.retryAfterSeconds !== undefined)
      init.retryAfterSeconds = status.details.retryAfterSeconds;
    return new ApplyError(init);
  }

  return new ApplyError({ ...base, code: 'ApplyFailed', message: `${who}: apply failed: ${apiMessage}` });
}

// The object was applied but did not become Current in time. `last` is its last health.
export function waitTimeoutError(ref: ObjectRef, timeoutMs: number, last?: { message: string }): ApplyError {
  const why = last?.message ? `: ${last.message}` : '';
  return new ApplyError({
    ref,
    code: 'WaitTimeout',
    message: `${formatRef(ref)} not ready after ${formatDuration(timeoutMs)}${why}`,
  });
}

function asStatus(body: unknown): KubeStatus | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as KubeStatus;
  // Only a Status is trusted to mean what its fields say.
  if (v.kind !== 'Status' && v.reason === undefined && v.message === undefined) return undefined;
  return v;
}

// Cause messages read `conflict with "kubectl" using apps/v1` or `conflict with "helm"`; the
// name is a Go-quoted string, which JSON can decode for any name a field manager can have.
function managerOf(causeMessage: string): string {
  const m = /conflict with ("(?:[^"\\]|\\.)*")/.exec(causeMessage);
  if (!m) return causeMessage || 'another manager';
  try {
    return JSON.parse(m[1] as string) as string;
  } catch {
    return (m[1] as string).slice(1, -1);
  }
}

function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  if (m === 0) return `${s}s`;
  return s === 0 ? `${m}m` : `${m}m${s}s`;
}
