// The errors services and stores throw: a stable machine-readable code and a message a person
// can act on. They say nothing about HTTP; routes/http-errors.ts maps each code to its status,
// once, and the error handler in app.ts answers `{ code, message, details? }`.
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
  | 'RevisionNotOnBranch'
  | 'InvalidRevision'
  | 'StageNotFound'
  | 'GitError'
  | 'GitUnavailable'
  | 'CredentialsUnreadable'
  | 'Conflict'
  | 'ProjectRefused'
  | 'StoreUnavailable'
  | 'Internal';

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }
}

export const notFound = (code: ErrorCode, message: string) => new DomainError(code, message);
export const invalid = (message: string, details?: unknown) =>
  new DomainError('InvalidRequest', message, details);
export const conflict = (code: ErrorCode, message: string, details?: unknown) =>
  new DomainError(code, message, details);

/** Redis is unreachable: nothing is wrong with the request, and the same call works once it is back. */
export const storeUnavailable = () =>
  new DomainError(
    'StoreUnavailable',
    'the control plane cannot reach Redis, where it keeps its state: retry in a few seconds (GET /readyz answers 200 again once Redis is back)',
  );
