import { basicAuthorization } from './basic-auth';

/** The one user of a local lab's Jaeger query API (its password: the lab secret `jaeger-query-password`). */
export const JAEGER_QUERY_USER = 'lab';

/** The `Authorization` header value for a local lab's Jaeger query API (basic auth of JAEGER_QUERY_USER). */
export function jaegerQueryAuthorization(password: string): string {
  return basicAuthorization(JAEGER_QUERY_USER, password);
}
