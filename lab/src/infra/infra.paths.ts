import os from 'node:os';
import path from 'node:path';

/**
 * The committed build inputs under `<repo>/infra/`. Resolved from this file, which sits two levels below `lab/`
 * both as source (`lab/src/infra`) and compiled (`lab/dist/infra`).
 */
export const INFRA_ASSETS_DIR = path.resolve(__dirname, '..', '..', '..', 'infra');

/**
 * Downloads and builds are cached per user outside the repository, so `git clean` does not cost a rebuild and
 * several checkouts share one copy. The XDG base directory spec ignores relative values, and so do we.
 */
export function infraCacheDir(): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'tenantlab');
}
