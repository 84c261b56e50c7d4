import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh secret: 32 random bytes as 64 hex characters (API tokens and Redis ACL passwords). */
export function newSecret(): string {
  return randomBytes(32).toString('hex');
}

/** sha256 as 64 lowercase hex characters: the form the registry stores secrets in, and Redis ACL's `#<hash>`. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Compares two sha256 hex digests in constant time, so response timing says nothing about a stored hash. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === 32 && right.length === 32 && timingSafeEqual(left, right);
}
