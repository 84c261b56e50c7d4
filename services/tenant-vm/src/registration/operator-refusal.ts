import { DomainError, type JsonResponse, ValidationError } from '@tenantlab/shared';

/** The error body every Tenantlab service answers with (DomainExceptionFilter), as far as it can be trusted. */
interface ErrorBody {
  error?: { code?: unknown; message?: unknown; retriable?: unknown; details?: unknown };
}

/**
 * An operator answer that is not what the VM asked for, as the error the VM's own API answers with: the operator's
 * code, message and details kept (so a tenant sees why), DEPENDENCY_UNAVAILABLE for a 5xx without a code, and
 * OPERATOR_REFUSED for a 4xx without one.
 */
export function operatorRefusal(what: string, response: JsonResponse<unknown>): DomainError {
  const error = (response.body as ErrorBody | undefined)?.error;
  const reason = typeof error?.message === 'string' ? error.message : `HTTP ${response.status}`;
  const message = `operator refused to ${what}: ${reason}`;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  if (code === 'VALIDATION_FAILED') {
    const details = Array.isArray(error?.details) ? error.details.filter((d) => typeof d === 'string') : [];
    return new ValidationError(message, details);
  }
  const retriable = typeof error?.retriable === 'boolean' ? error.retriable : response.status >= 500;
  return new DomainError(code ?? (response.status >= 500 ? 'DEPENDENCY_UNAVAILABLE' : 'OPERATOR_REFUSED'), message, {
    retriable,
  });
}
