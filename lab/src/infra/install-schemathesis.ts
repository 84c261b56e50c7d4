import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { InfraInstallError } from './infra.errors';
import { INFRA_ASSETS_DIR, infraCacheDir } from './infra.paths';
import { withInstallLock } from './install-lock';
import { findOnPath, runCommand } from './run-command';

const REQUIREMENTS = path.join(INFRA_ASSETS_DIR, 'schemathesis', 'requirements.txt');

/**
 * Makes sure a Python venv with Schemathesis (infra/schemathesis/requirements.txt, every package pinned) is in the
 * cache and returns the path of its `schemathesis` command. The marker holds a hash of the requirements and is
 * written last, so an interrupted install or an edited pin means a fresh venv. Only the OpenAPI contract test uses it.
 */
export async function installSchemathesis(onProgress?: (message: string) => void): Promise<string> {
  const requirements = await readFile(REQUIREMENTS).catch((error: unknown) => {
    throw new InfraInstallError(`${REQUIREMENTS} is missing; restore it from git.`, { cause: error });
  });
  const fingerprint = createHash('sha256').update(requirements).digest('hex');
  const home = path.join(infraCacheDir(), 'schemathesis');
  const command = path.join(home, 'venv', 'bin', 'schemathesis');
  const marker = path.join(home, 'installed');
  const installed = async (): Promise<boolean> =>
    (await readFile(marker, 'utf8').catch(() => '')) === fingerprint &&
    Boolean((await stat(command).catch(() => undefined))?.isFile());
  if (await installed()) return command;

  const python = findOnPath('python3');
  if (!python) throw new InfraInstallError('Installing Schemathesis needs python3 (with venv) on PATH.');
  return withInstallLock(
    'schemathesis',
    async () => {
      if (await installed()) return command;
      const started = Date.now();
      onProgress?.('installing Schemathesis from PyPI into a venv (first time only, about a minute)…');
      await rm(home, { recursive: true, force: true });
      const venv = path.join(home, 'venv');
      await runCommand(python, ['-m', 'venv', venv], { purpose: 'create a Python venv for Schemathesis' });
      await runCommand(
        path.join(venv, 'bin', 'pip'),
        ['install', '--quiet', '--disable-pip-version-check', '--no-deps', '-r', REQUIREMENTS],
        { purpose: 'install Schemathesis with pip' },
      );
      await writeFile(marker, fingerprint);
      onProgress?.(`installed Schemathesis in ${Math.round((Date.now() - started) / 1000)}s`);
      return command;
    },
    onProgress,
  );
}
