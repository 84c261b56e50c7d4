import { DomainError, DomainErrorOptions } from '@tenantlab/shared';

/** The request carries no usable credentials (no `Authorization: Bearer <token>` header). HTTP 401. */
export class UnauthenticatedError extends DomainError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('UNAUTHENTICATED', message, options);
  }
}

/** The request carries credentials, but they do not allow this (a wrong or stale token). HTTP 403. */
export class ForbiddenError extends DomainError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('FORBIDDEN', message, options);
  }
}
