import { createHash } from 'node:crypto';
import { JAEGER_INGEST_USER, JAEGER_QUERY_USER, withUserInfo } from '@tenantlab/shared';

/**
 * The htpasswd line Jaeger's basicauth extension checks `user`'s callers against: the password's SHA-1 (`{SHA}`), so
 * Jaeger's generated config holds no password. SHA-1 is enough for 32 random bytes; no one can guess them back from
 * their digest.
 */
function htpasswdLine(user: string, password: string): string {
  return `${user}:{SHA}${createHash('sha1').update(password).digest('base64')}`;
}

/** The query API's htpasswd line (user JAEGER_QUERY_USER). */
export function jaegerQueryHtpasswd(password: string): string {
  return htpasswdLine(JAEGER_QUERY_USER, password);
}

/** The OTLP receivers' htpasswd line (user JAEGER_INGEST_USER). */
export function jaegerIngestHtpasswd(password: string): string {
  return htpasswdLine(JAEGER_INGEST_USER, password);
}

/**
 * `url` (the query API's base) with the credentials as user info, for the lab's tools and tests, whose JSON client
 * sends user info as basic auth (as with VMs' control URLs); `url` unchanged without a password. Never print it.
 */
export function jaegerQueryUrlWithCredentials(url: string, password: string | undefined): string {
  return password === undefined || url === '' ? url : withUserInfo(url, JAEGER_QUERY_USER, password);
}
