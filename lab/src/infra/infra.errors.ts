/**
 * Errors of the local infrastructure runner. They carry the same `code` / `retriable` / `cause` shape as
 * `DomainError` in @tenantlab/shared without importing it: the runner must load without the shared library's
 * NestJS peers, because it brings up the infrastructure those services need.
 */
export class InfraError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A tool or package could not be installed, or the machine lacks a prerequisite the installer cannot fetch. */
export class InfraInstallError extends InfraError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INFRA_INSTALL_FAILED', message, options);
  }
}

/** A helper command (apt-get, mvn, go, Kafka's storage tool) failed; the message ends with its output. */
export class CommandFailedError extends InfraError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INFRA_COMMAND_FAILED', message, options);
  }
}

/** Something else listens on a port a component needs; nothing was started. */
export class PortInUseError extends InfraError {
  constructor(
    readonly component: string,
    readonly port: number,
  ) {
    super(
      'INFRA_PORT_IN_USE',
      `Port ${port} for ${component} is already in use by another process. ` +
        'Stop it or start the lab with --port-offset N.',
    );
  }
}

/** A component process exited, or did not answer its readiness probe before the deadline. */
export class InfraStartError extends InfraError {
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super('INFRA_START_FAILED', message, options);
  }
}
