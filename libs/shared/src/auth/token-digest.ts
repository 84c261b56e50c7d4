import { createHash, timingSafeEqual } from 'node:crypto';
import type { EnvVar } from '../config';

/**
 * Tokens a process checks but must not hold (a metrics scrape token, a VM's control token) reach it only as their
 * sha256: a tenant reading its VM's environment learns nothing it could present.
 */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `presented` hashes to `expectedSha256`, compared in constant time. False when no hash is configured. */
export function tokenMatchesSha256(expectedSha256: string | undefined, presented: string): boolean {
  if (expectedSha256 === undefined) return false;
  const expected = Buffer.from(expectedSha256, 'hex');
  const digest = createHash('sha256').update(presented).digest();
  return expected.length === digest.length && timingSafeEqual(expected, digest);
}

/** An optional setting holding such a sha256: 64 lowercase hex digits, anything else refused at start. */
export function tokenSha256Variable(expects: string): EnvVar<string | undefined> {
  return { expects, optional: true, parse: (raw: string) => (/^[0-9a-f]{64}$/.test(raw) ? raw : undefined) };
}
