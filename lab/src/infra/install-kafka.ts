import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { InfraInstallError } from './infra.errors';
import { INFRA_ASSETS_DIR, infraCacheDir } from './infra.paths';
import { withInstallLock } from './install-lock';
import { findOnPath, runCommand } from './run-command';

const POM = path.join(INFRA_ASSETS_DIR, 'kafka', 'pom.xml');
const MIN_JAVA_MAJOR = 17;

/** Console logging for the broker and its tools, committed beside the pom. */
export const KAFKA_LOG4J_CONFIG = path.join(INFRA_ASSETS_DIR, 'kafka', 'log4j2.xml');

export interface KafkaInstallation {
  version: string;
  java: string;
  /** A `-cp` value; the java launcher itself expands the trailing `*` to every jar. */
  classpath: string;
}

/**
 * Makes sure the Kafka broker jars named by infra/kafka/pom.xml are in the cache. The marker file holds a hash
 * of the pom and is written last, so an interrupted download or an edited pom means a fresh download.
 */
export async function installKafka(onProgress?: (message: string) => void): Promise<KafkaInstallation> {
  const java = await findJava();
  const pom = await readFile(POM, 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (!version) throw new InfraInstallError(`${POM} has no <kafka.version> property; restore it from git.`);

  const home = path.join(infraCacheDir(), `kafka-${version}`);
  const libs = path.join(home, 'libs');
  const marker = path.join(home, 'installed');
  const fingerprint = createHash('sha256').update(pom).digest('hex');
  const installation = { version, java, classpath: path.join(libs, '*') };
  const installed = async (): Promise<boolean> => (await readFile(marker, 'utf8').catch(() => '')) === fingerprint;
  if (await installed()) return installation;

  const mvn = findOnPath('mvn');
  if (!mvn) {
    throw new InfraInstallError(
      'Installing Kafka needs Maven (mvn) on PATH. Install it, e.g. `apt-get install -y maven`.',
    );
  }
  return withInstallLock(
    `kafka-${version}`,
    async () => {
      // Another process may have finished the download while this one waited for the lock.
      if (await installed()) return installation;
      const started = Date.now();
      onProgress?.(`installing Kafka ${version} (Maven download, first time only, about a minute)…`);
      // copy-dependencies never deletes, so jars of an older pom would otherwise stay on the classpath.
      await rm(home, { recursive: true, force: true });
      await mkdir(home, { recursive: true });
      await runCommand(
        mvn,
        ['-B', '-q', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`],
        { purpose: `download Kafka ${version} with Maven` },
      );
      await writeFile(marker, fingerprint);
      onProgress?.(`installed Kafka ${version} in ${Math.round((Date.now() - started) / 1000)}s`);
      return installation;
    },
    onProgress,
  );
}

async function findJava(): Promise<string> {
  const java = findOnPath('java');
  const hint = `Kafka 4 needs Java ${MIN_JAVA_MAJOR} or newer, e.g. \`apt-get install -y openjdk-17-jre-headless\`.`;
  if (!java) throw new InfraInstallError(`java is not on PATH. ${hint}`);
  // `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15`; Java 8 and older print "1.8.0_x".
  const output = await runCommand(java, ['-version'], { purpose: 'read the Java version' });
  const major = Number(/version "(?:1\.)?(\d+)/.exec(output)?.[1] ?? 0);
  if (major < MIN_JAVA_MAJOR) throw new InfraInstallError(`${java} is Java ${major || 'of unknown version'}. ${hint}`);
  return java;
}
