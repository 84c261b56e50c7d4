import { basicAuthorization } from './basic-auth';

/**
 * The one user of a local lab's Jaeger OTLP receivers (its password: the lab secret `jaeger-ingest-password`). Locally
 * every VM reaches 127.0.0.1, so Jaeger takes spans only from the services and the OTLP relay, which hold it.
 */
export const JAEGER_INGEST_USER = 'ingest';

/** The `Authorization` header value for a local lab's Jaeger OTLP receivers (basic auth of JAEGER_INGEST_USER). */
export function jaegerIngestAuthorization(password: string): string {
  return basicAuthorization(JAEGER_INGEST_USER, password);
}

/**
 * `OTEL_EXPORTER_OTLP_HEADERS` sending `authorization` with every export: the SDK reads the variable as `key=value`
 * pairs with URI-encoded values.
 */
export function otlpAuthorizationHeaders(authorization: string): string {
  return `Authorization=${encodeURIComponent(authorization)}`;
}
