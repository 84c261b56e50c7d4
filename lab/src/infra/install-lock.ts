import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { InfraInstallError } from './infra.errors';
import { infraCacheDir } from './infra.paths';
import { isProcessAlive } from '../lab-state';

// Longer than a cold Jaeger build on a slow machine: a waiter gives up only if the holder seems stuck.
const LOCK_TIMEOUT_MS = 30 * 60_000;
const LOCK_POLL_MS = 500;

/**
 * Runs `install` while holding a lock shared by every process on this machine. `node --test` runs spec files in
 * parallel and a user may start a lab while the e2e suite starts another, so two installs of the same component
 * could otherwise delete each other's half-finished download. The lock is a directory (mkdir is atomic) holding
 * the owner's pid, so a lock left by a killed process is noticed and taken over.
 */
export async function withInstallLock<T>(
  name: string,
  install: () => Promise<T>,
  onProgress?: (message: string) => void,
): Promise<T> {
  const cache = infraCacheDir();
  const lock = path.join(cache, `${name}.lock`);
  const pidFile = path.join(lock, 'pid');
  await mkdir(cache, { recursive: true });
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(await readFile(pidFile, 'utf8').catch(() => ''));
    if (holder && !isProcessAlive(holder)) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new InfraInstallError(`Waited too long for ${lock}. If no install is running, delete that directory.`);
    }
    if (!announced) {
      onProgress?.(`waiting for another process (pid ${holder || 'unknown'}) that is installing ${name}…`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  try {
    await writeFile(pidFile, `${process.pid}`);
    return await install();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
