import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** 32 random bytes, 64 hex digits: URL-safe as it is, so it goes into `redis://:<password>@…` unescaped. */
const PASSWORD_BYTES = 32;
const PASSWORD_PATTERN = /^[0-9a-f]{32,}$/;

/**
 * The file in a lab's data dir (`.lab/<profile>/`) that holds its Redis admin password: the password of Redis's
 * `default` user, which only the lab runner and the trusted services (operator, switch, allocator, telemetry) get.
 */
export function redisAdminPasswordFile(dataDir: string): string {
  return join(dataDir, 'redis-admin-password');
}

/**
 * The profile's Redis admin password, created on first use. It stays when the lab stops, so `status` from another
 * terminal can authenticate its probe and the next `up` of the profile reuses it.
 */
export function ensureRedisAdminPassword(dataDir: string): string {
  const file = redisAdminPasswordFile(dataDir);
  let password = readRedisAdminPassword(dataDir);
  if (password === undefined) {
    password = randomBytes(PASSWORD_BYTES).toString('hex');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
  }
  // writeFileSync's mode applies only when it creates the file; one that was copied or edited may be wider.
  chmodSync(file, 0o600);
  return password;
}

/** The profile's Redis admin password, or undefined when its data dir holds none (or something that is not one). */
export function readRedisAdminPassword(dataDir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(redisAdminPasswordFile(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const password = text.trim();
  return PASSWORD_PATTERN.test(password) ? password : undefined;
}
