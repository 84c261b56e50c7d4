import { createHash, timingSafeEqual } from 'node:crypto';
import type { EnvVar } from '../config';

/**
 * `/metrics` answers only a scraper holding the lab's metrics scrape token (`Authorization: Bearer <token>`). Services
 * get only the token's sha256 (`METRICS_TOKEN_SHA256`), never the token: a tenant VM checks scrapes too, and a
 * hostile tenant reading its VM's environment must not learn a credential that opens every service's counters.
 */
export const metricsTokenEnv = {
  METRICS_TOKEN_SHA256: {
    expects: "the sha256 of the lab's metrics scrape token, 64 hex digits (unset: /metrics refuses every scrape)",
    optional: true,
    parse: (raw: string) => (/^[0-9a-f]{64}$/.test(raw) ? raw : undefined),
  } satisfies EnvVar<string | undefined>,
};

/** The hex sha256 of a token: what the lab hands the services (`METRICS_TOKEN_SHA256`). */
export function metricsTokenSha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `presented` hashes to `expectedSha256`, compared in constant time. False when no hash is configured. */
export function metricsTokenMatches(expectedSha256: string | undefined, presented: string): boolean {
  if (expectedSha256 === undefined) return false;
  const expected = Buffer.from(expectedSha256, 'hex');
  const digest = createHash('sha256').update(presented).digest();
  return expected.length === digest.length && timingSafeEqual(expected, digest);
}
