import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Response } from 'express';
import { DomainError, ValidationError } from '../errors';
import type { JsonLogger } from '../logging';

export interface ErrorBody {
  error: { code: string; message: string; retriable: boolean; details?: string[] };
}

const STATUS_BY_CODE: Record<string, number> = {
  VALIDATION_FAILED: HttpStatus.BAD_REQUEST,
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  CONFLICT: HttpStatus.CONFLICT,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  POLICY_DENIED: HttpStatus.FORBIDDEN,
  QUOTA_EXCEEDED: HttpStatus.TOO_MANY_REQUESTS,
  INSUFFICIENT_CAPACITY: HttpStatus.CONFLICT,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  DEPENDENCY_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  // A circuit failed on the far side (peer reset, crashed, or the operator tore it down): the VM itself is fine.
  CIRCUIT_RESET: HttpStatus.BAD_GATEWAY,
  CIRCUIT_TORN_DOWN: HttpStatus.BAD_GATEWAY,
  CIRCUIT_CLOSED: HttpStatus.CONFLICT,
  OPERATOR_REFUSED: HttpStatus.BAD_GATEWAY,
};

/**
 * The one exception filter: every error leaves as `{ error: { code, message, retriable, details? } }`, is recorded
 * on the active span, and unexpected ones are logged with their stack but answered without internals.
 */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: JsonLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.toResponse(exception);
    const span = trace.getActiveSpan();
    if (exception instanceof Error) span?.recordException(exception);
    if (status >= 500) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: body.error.message });
      this.logger.record('error', body.error.message, {
        context: 'http',
        code: body.error.code,
        stack: exception instanceof Error ? exception.stack : undefined,
      });
    }
    response.status(status).json(body);
  }

  private toResponse(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof DomainError) {
      const details = exception instanceof ValidationError ? exception.details : undefined;
      return {
        status: STATUS_BY_CODE[exception.code] ?? HttpStatus.INTERNAL_SERVER_ERROR,
        body: { error: { code: exception.code, message: exception.message, retriable: exception.retriable, details } },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return {
        status,
        body: { error: { code: httpCode(status), message: exception.message, retriable: status >= 500 } },
      };
    }
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { error: { code: 'INTERNAL', message: 'internal error; see the service log', retriable: true } },
    };
  }
}

function httpCode(status: number): string {
  const name = HttpStatus[status];
  return typeof name === 'string' ? name : `HTTP_${status}`;
}
