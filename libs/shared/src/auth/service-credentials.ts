import { createHash, timingSafeEqual } from 'node:crypto';
import type { EnvVar } from '../config';

/**
 * Service credentials: the bearer tokens trusted services (and the lab's admin tools) present to the switch, the
 * allocator and telemetry. Each caller has its own token; a receiving service holds the tokens of the callers it
 * accepts (`CALLER_TOKENS`), a calling service its own (`SERVICE_TOKEN`). Tenants never get one.
 */

/** One caller a service accepts: its name (for logs and refusals) and its token. */
export interface CallerToken {
  caller: string;
  token: string;
}

const CALLER_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
/** 32-256 URL-safe characters: the lab's secrets are 64 hex digits. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32,256}$/;

/** `caller=token,caller=token` as a list, or undefined when any item is malformed or a caller repeats. */
export function parseCallerTokens(raw: string): CallerToken[] | undefined {
  const callers: CallerToken[] = [];
  for (const item of raw.split(',')) {
    const [caller = '', token = '', ...rest] = item.trim().split('=');
    if (rest.length > 0 || !CALLER_PATTERN.test(caller) || !TOKEN_PATTERN.test(token)) return undefined;
    if (callers.some((known) => known.caller === caller)) return undefined;
    callers.push({ caller, token });
  }
  return callers;
}

/** The inverse of parseCallerTokens, for whoever starts the services (the lab runner, test harnesses). */
export function formatCallerTokens(callers: Record<string, string>): string {
  return Object.entries(callers)
    .map(([caller, token]) => `${caller}=${token}`)
    .join(',');
}

/** The headers a trusted caller sends with its token. */
export function serviceAuthHeaders(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/**
 * The caller whose token `presented` is, or undefined. Compares sha256 digests with timingSafeEqual against every
 * known token, without stopping at a match, so the time taken says nothing about any token or which one matched.
 */
export function matchCaller(callers: readonly CallerToken[], presented: string): string | undefined {
  const digest = sha256(presented);
  let matched: string | undefined;
  for (const { caller, token } of callers) {
    if (timingSafeEqual(digest, sha256(token)) && matched === undefined) matched = caller;
  }
  return matched;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Variables of a service that refuses calls without a service credential. Required: no default credential exists. */
export const callerTokensEnv = {
  CALLER_TOKENS: {
    expects:
      'a comma-separated list of <caller>=<token>: the services allowed to call this one, each caller a-z 0-9 - ' +
      '(such as operator, admin) and each token 32-256 characters of A-Z a-z 0-9 _ -',
    parse: parseCallerTokens,
  } satisfies EnvVar<CallerToken[]>,
};

/** Variables of a service that calls guarded services: its own credential. */
export const serviceTokenEnv = {
  SERVICE_TOKEN: {
    expects: "this service's token for calls to other services: 32-256 characters of A-Z a-z 0-9 _ -",
    parse: (raw: string) => (TOKEN_PATTERN.test(raw) ? raw : undefined),
  } satisfies EnvVar<string>,
};
