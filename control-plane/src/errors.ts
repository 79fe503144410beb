// Errors the API returns, each with a stable machine-readable code and a message a person
// can act on. Routes throw these; the error handler in app.ts turns them into
// `{ code, message, details? }` with the given HTTP status.
export type ErrorCode =
  | 'InvalidRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'ClusterNotFound'
  | 'ClusterExists'
  | 'FleetNotFound'
  | 'FleetExists'
  | 'InvalidSelector'
  | 'InvalidSignature'
  | 'PromotionRefused'
  | 'RollbackRefused'
  | 'RevisionNotFound'
  | 'InvalidRevision'
  | 'StageNotFound'
  | 'GitError'
  | 'CredentialsUnreadable'
  | 'Conflict'
  | 'StoreUnavailable'
  | 'Internal';

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(status: number, code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const notFound = (code: ErrorCode, message: string) => new ApiError(404, code, message);
export const invalid = (message: string, details?: unknown) =>
  new ApiError(400, 'InvalidRequest', message, details);

/** Redis is unreachable: nothing is wrong with the request, and the same call works once it is back. */
export const storeUnavailable = () =>
  new ApiError(
    503,
    'StoreUnavailable',
    'the control plane cannot reach Redis, where it keeps its state: retry in a few seconds (GET /readyz answers 200 again once Redis is back)',
  );
