import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Response } from 'express';
import { DomainError, ValidationError } from '../errors';
import { dependencyRefusal } from './dependency-refusal';
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
  // The caller closed its connection before its call was answered (nginx's 499): nobody reads this answer, and it is
  // not the service's error, so it is neither logged nor recorded as a failure.
  CALLER_GONE: 499,
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
    const refused = requestBodyRefusal(exception);
    if (refused !== undefined) return refused;
    const dependency = dependencyRefusal(exception);
    if (dependency !== undefined) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        body: { error: { code: 'DEPENDENCY_UNAVAILABLE', message: dependency, retriable: true } },
      };
    }
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { error: { code: 'INTERNAL', message: 'internal error; see the service log', retriable: true } },
    };
  }
}

/** What Express's body parser throws (http-errors): a 4xx status and a `type` such as `entity.too.large`. */
interface BodyParserError {
  status: number;
  type: string;
  message: string;
  limit?: number;
  length?: number;
}

function isBodyParserError(exception: unknown): exception is BodyParserError {
  const candidate = exception as Partial<BodyParserError> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.status === 'number' &&
    candidate.status >= 400 &&
    candidate.status < 500 &&
    typeof candidate.type === 'string'
  );
}

/**
 * A request body the parser refused before any handler ran: too large, not JSON, in an unknown charset. Those are
 * the client's mistakes, so they get a 4xx that says what was wrong, never a 500.
 */
function requestBodyRefusal(exception: unknown): { status: number; body: ErrorBody } | undefined {
  if (!isBodyParserError(exception)) return undefined;
  if (exception.type === 'entity.too.large') {
    const size = exception.length === undefined ? 'the request body' : `the request body of ${exception.length} bytes`;
    const message = `${size} is over this service's limit of ${exception.limit ?? '?'} bytes; send less per request`;
    return {
      status: HttpStatus.PAYLOAD_TOO_LARGE,
      body: { error: { code: 'PAYLOAD_TOO_LARGE', message, retriable: false } },
    };
  }
  const message =
    exception.type === 'entity.parse.failed'
      ? `the request body is not valid JSON: ${exception.message}`
      : exception.type === 'entity.too.deep'
        ? `${exception.message}; send a flatter body`
        : `the request body was refused: ${exception.message}`;
  return {
    status: exception.status,
    body: { error: { code: httpCode(exception.status), message, retriable: false } },
  };
}

function httpCode(status: number): string {
  const name = HttpStatus[status];
  return typeof name === 'string' ? name : `HTTP_${status}`;
}
