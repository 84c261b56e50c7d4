export interface DomainErrorOptions {
  /** True when the same call may succeed later without any change by the caller (a dependency was briefly down). */
  retriable?: boolean;
  cause?: unknown;
}

/**
 * The base of every error Tenantlab raises on purpose. `code` is stable and machine-readable (clients branch on it),
 * `message` says what was wrong and what to do, `retriable` tells callers whether trying again can help
 * (the kafkajs error hierarchy is the model).
 */
export class DomainError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A request or document failed validation; `details` lists each problem, path-qualified where there is a path. */
export class ValidationError extends DomainError {
  readonly details: string[];

  constructor(message: string, details: string[] = [], options: DomainErrorOptions = {}) {
    super('VALIDATION_FAILED', message, options);
    this.details = details;
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('CONFLICT', message, options);
  }
}

/** A dependency (Redis, Kafka, another service) did not answer; the caller may retry. */
export class DependencyUnavailableError extends DomainError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('DEPENDENCY_UNAVAILABLE', message, { retriable: true, ...options });
  }
}

/** Configuration is missing or invalid. The message names the variable and what it expects, never its value. */
export class ConfigError extends DomainError {
  readonly variable: string;

  constructor(variable: string, expectation: string) {
    super('CONFIG_INVALID', `${variable} ${expectation}`);
    this.variable = variable;
  }
}
