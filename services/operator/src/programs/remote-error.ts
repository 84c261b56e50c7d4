import {
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  type JsonResponse,
  NotFoundError,
  requestJson,
  serviceAuthHeaders,
  ValidationError,
} from '@tenantlab/shared';

/** The trusted services the operator calls on tenants' behalf. */
export type TrustedService = 'allocator' | 'switch' | 'telemetry';

/**
 * One JSON call to a trusted service at `baseUrl` (a path prefix in it is kept). A service that does not answer is
 * 503 DEPENDENCY_UNAVAILABLE naming the service, so the tenant knows it is not its request that failed.
 */
export async function send<T>(
  service: TrustedService,
  baseUrl: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body: unknown,
  timeoutMs: number,
  /** The operator's service credential (SERVICE_TOKEN), which the trusted services require. */
  serviceToken: string,
): Promise<JsonResponse<T>> {
  try {
    return await requestJson<T>(
      method,
      `${baseUrl.replace(/\/+$/, '')}${path}`,
      body,
      timeoutMs,
      serviceAuthHeaders(serviceToken),
    );
  } catch (error) {
    throw new DependencyUnavailableError(
      `the ${service} did not answer ${method} ${path} (${error instanceof Error ? error.message : String(error)}); ` +
        'try again once it is back',
      { cause: error },
    );
  }
}

/** The error body every Tenantlab service answers with (DomainExceptionFilter), as far as it can be trusted. */
interface ErrorReply {
  error?: { code?: unknown; message?: unknown; retriable?: unknown; details?: unknown };
}

/**
 * Codes the allocator and the switch answer that mean the same to the tenant as to the operator, so they pass
 * through with their message; the shared exception filter gives each its HTTP status. QUOTA_EXCEEDED (429): the
 * tenant has too many pipeline changes waiting at the allocator.
 */
const PASSED_THROUGH = new Set(['INSUFFICIENT_CAPACITY', 'PAYLOAD_TOO_LARGE', 'QUOTA_EXCEEDED']);

/**
 * A trusted service's non-2xx answer as the DomainError the tenant gets: the remote code, message and details
 * (VALIDATION_FAILED 400, NOT_FOUND 404, CONFLICT and INSUFFICIENT_CAPACITY 409, QUOTA_EXCEEDED 429,
 * DEPENDENCY_UNAVAILABLE 503).
 * Anything else (a 5xx, a body that is not an error reply) is the dependency failing: 503 DEPENDENCY_UNAVAILABLE.
 */
export function remoteError(service: TrustedService, call: string, response: JsonResponse<unknown>): DomainError {
  const error = (response.body as ErrorReply | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message = typeof error?.message === 'string' ? error.message : undefined;
  const retriable = error?.retriable === true;
  if (message !== undefined && response.status >= 400 && response.status < 500) {
    switch (code) {
      case 'VALIDATION_FAILED': {
        const details = Array.isArray(error?.details)
          ? error.details.filter((detail): detail is string => typeof detail === 'string')
          : [];
        return new ValidationError(message, details, { retriable });
      }
      case 'NOT_FOUND':
        return new NotFoundError(message, { retriable });
      case 'CONFLICT':
        return new ConflictError(message, { retriable });
      default:
        if (code !== undefined && PASSED_THROUGH.has(code)) return new DomainError(code, message, { retriable });
    }
  }
  if (code === 'DEPENDENCY_UNAVAILABLE' && message !== undefined) return new DependencyUnavailableError(message);
  const said = [code, message].filter((part) => part !== undefined).join(': ');
  return new DependencyUnavailableError(
    `the ${service} answered ${call} with HTTP ${response.status}${said ? ` (${said})` : ''}; ` +
      `try again later, and if it persists, see the ${service}'s log`,
    { retriable: response.status >= 500 },
  );
}
