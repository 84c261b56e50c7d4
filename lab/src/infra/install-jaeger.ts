import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { InfraInstallError } from './infra.errors';
import { INFRA_ASSETS_DIR, infraCacheDir } from './infra.paths';
import { withInstallLock } from './install-lock';
import { findOnPath, runCommand } from './run-command';

/** The Jaeger release that infra/jaeger/go.mod builds (its Go module version is v1.76.0). */
export const JAEGER_VERSION = 'v2.13.0';

const MODULE_DIR = path.join(INFRA_ASSETS_DIR, 'jaeger');
const MODULE_FILES = ['go.mod', 'go.sum', 'tools.go'];

/**
 * Makes sure a Jaeger v2 binary built from the wrapper module in infra/jaeger is in the cache and returns its
 * path. The marker holds a hash of the module files and is written last, so an interrupted build or an edited
 * go.mod means a rebuild.
 */
export async function installJaeger(onProgress?: (message: string) => void): Promise<string> {
  const home = path.join(infraCacheDir(), `jaeger-${JAEGER_VERSION}`);
  const binary = path.join(home, 'jaeger');
  const marker = path.join(home, 'installed');
  const fingerprint = await moduleFingerprint();
  const installed = async (): Promise<boolean> =>
    (await readFile(marker, 'utf8').catch(() => '')) === fingerprint &&
    Boolean((await stat(binary).catch(() => undefined))?.isFile());
  if (await installed()) return binary;

  const go = findOnPath('go');
  if (!go) throw new InfraInstallError('Building Jaeger needs Go 1.24 or newer on PATH; see https://go.dev/dl/.');
  return withInstallLock(
    `jaeger-${JAEGER_VERSION}`,
    async () => {
      // Another process may have finished the build while this one waited for the lock.
      if (await installed()) return binary;
      const started = Date.now();
      onProgress?.(`installing Jaeger ${JAEGER_VERSION} (go build, first time only, a few minutes)…`);
      await rm(home, { recursive: true, force: true });
      // The build runs in a copy so that Go, which may update go.mod and go.sum under -mod=mod, never edits
      // committed files.
      const source = path.join(home, 'src');
      await mkdir(source, { recursive: true });
      await Promise.all(MODULE_FILES.map((file) => copyFile(path.join(MODULE_DIR, file), path.join(source, file))));
      await runCommand(
        go,
        [
          'install',
          // Jaeger's release builds stamp the version this way; without it `jaeger version` reports nothing.
          `-ldflags=-X github.com/jaegertracing/jaeger/internal/version.latestVersion=${JAEGER_VERSION}`,
          'github.com/jaegertracing/jaeger/cmd/jaeger',
        ],
        {
          cwd: source,
          env: { ...process.env, GOBIN: home, GOFLAGS: `${process.env['GOFLAGS'] ?? ''} -mod=mod`.trim() },
          purpose: `build Jaeger ${JAEGER_VERSION} with go install`,
        },
      );
      await writeFile(marker, fingerprint);
      onProgress?.(`installed Jaeger ${JAEGER_VERSION} in ${Math.round((Date.now() - started) / 1000)}s`);
      return binary;
    },
    onProgress,
  );
}

async function moduleFingerprint(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of MODULE_FILES) {
    const content = await readFile(path.join(MODULE_DIR, file)).catch((error: unknown) => {
      throw new InfraInstallError(`${path.join(MODULE_DIR, file)} is missing; restore it from git.`, { cause: error });
    });
    hash.update(file).update('\0').update(content);
  }
  return hash.digest('hex');
}
