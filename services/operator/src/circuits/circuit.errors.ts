import { DomainError, DomainErrorOptions } from '@tenantlab/shared';

/** The circuit policy does not allow this connection. HTTP 403; only a new CIRCUIT_POLICY rule changes that. */
export class PolicyDeniedError extends DomainError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('POLICY_DENIED', message, options);
  }
}

/** A circuit quota would be exceeded. HTTP 429; closing circuits (or a smaller capacity) makes room. */
export class QuotaExceededError extends DomainError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('QUOTA_EXCEEDED', message, options);
  }
}
