import { tokenMatchesSha256, tokenSha256, tokenSha256Variable } from '../auth/token-digest';

/**
 * `/metrics` answers only a scraper holding the lab's metrics scrape token (`Authorization: Bearer <token>`). Services
 * get only the token's sha256 (`METRICS_TOKEN_SHA256`), never the token: a tenant VM checks scrapes too, and a
 * hostile tenant reading its VM's environment must not learn a credential that opens every service's counters.
 */
export const metricsTokenEnv = {
  METRICS_TOKEN_SHA256: tokenSha256Variable(
    "the sha256 of the lab's metrics scrape token, 64 hex digits (unset: /metrics refuses every scrape)",
  ),
};

/** The hex sha256 of a token: what the lab hands the services (`METRICS_TOKEN_SHA256`). */
export const metricsTokenSha256: (token: string) => string = tokenSha256;

/** Whether `presented` hashes to `expectedSha256`, compared in constant time. False when no hash is configured. */
export const metricsTokenMatches: (expectedSha256: string | undefined, presented: string) => boolean =
  tokenMatchesSha256;
