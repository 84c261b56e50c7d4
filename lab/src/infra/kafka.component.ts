import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SupervisedProcess } from './child-process.supervisor';
import { InfraStartError } from './infra.errors';
import { infraLogFile, type InfraOptions, type KafkaUsers } from './infra.options';
import { applyKafkaAcls } from './kafka-acls';
import { assertSafeKafkaPassword, kafkaSecuritySettings, scramUserArgument } from './kafka-security';
import { KAFKA_LOG4J_CONFIG, type KafkaInstallation } from './install-kafka';
import type { InfraPorts } from './ports';
import { probeKafka } from './readiness-probes';
import { runCommand } from './run-command';
import { readyOrStopped } from './wait-until-ready';

// The first start creates the metadata log and internal topics; a cold JVM on a busy CI runner needs a while.
const READY_TIMEOUT_MS = 60_000;

/**
 * A single KRaft node that is both broker and controller, on loopback only (127.0.0.1 rather than localhost,
 * which Node may resolve to ::1). Replication factors are 1 because there is one broker; the rebalance delay is 0
 * so consumer groups in tests join at once.
 *
 * With `users`, clients must authenticate (kafkaSecuritySettings, shared with Docker mode): SASL/SCRAM-SHA-512 on
 * the broker listener (the users are added when storage is formatted), SASL/PLAIN with the admin user alone on the
 * controller listener, and ACLs; `admin` is the super user.
 */
function securedBy(adminPassword: string): Record<string, string> {
  assertSafeKafkaPassword(adminPassword);
  return kafkaSecuritySettings(adminPassword);
}

export function kafkaServerProperties(ports: InfraPorts, logDir: string, users?: KafkaUsers): string {
  const broker = `127.0.0.1:${ports.kafka}`;
  const controller = `127.0.0.1:${ports.kafkaController}`;
  const listeners = users
    ? {
        listeners: `BROKER://${broker},CONTROLLER://${controller}`,
        'advertised.listeners': `BROKER://${broker},CONTROLLER://${controller}`,
        'listener.security.protocol.map': 'BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT',
        'inter.broker.listener.name': 'BROKER',
        ...securedBy(users.admin),
      }
    : {
        listeners: `PLAINTEXT://${broker},CONTROLLER://${controller}`,
        'advertised.listeners': `PLAINTEXT://${broker},CONTROLLER://${controller}`,
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'inter.broker.listener.name': 'PLAINTEXT',
      };
  const settings: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.bootstrap.servers': controller,
    ...listeners,
    'controller.listener.names': 'CONTROLLER',
    'log.dirs': logDir,
    'num.partitions': 1,
    'auto.create.topics.enable': true,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
  };
  return Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')
    .concat('\n');
}

/** Formats storage when needed, then runs the broker and waits until clients can use it. */
export async function startKafka(kafka: KafkaInstallation, options: InfraOptions): Promise<SupervisedProcess> {
  const dir = path.join(options.dataDir, 'kafka');
  const logDir = path.join(dir, 'data');
  const properties = path.join(dir, 'server.properties');
  await mkdir(dir, { recursive: true });
  // Holds the admin password when the broker is secured: owner-only, like the lab's other secrets.
  await writeOwnerOnly(properties, kafkaServerProperties(options.ports, logDir, options.kafkaUsers));
  const formatted = await formatStorage(kafka, dir, options);
  // Every lab starts with no topics, messages or consumer offsets, like its Redis: a consumer group must not
  // resume from an earlier run's offsets and report that run's components. Copying the formatted template is
  // much faster than running the storage tool (a JVM start) every time.
  if (!options.restarting) {
    await rm(logDir, { recursive: true, force: true });
    await cp(formatted, logDir, { recursive: true });
  }

  const child = await SupervisedProcess.start({
    component: 'kafka',
    // java itself, not a script around it, so SIGTERM reaches the broker and starts its orderly shutdown.
    command: kafka.java,
    args: [...jvmArgs(kafka), '-Xms256m', '-Xmx512m', '-XX:+UseG1GC', 'kafka.Kafka', properties],
    cwd: dir,
    logFile: await infraLogFile(options.dataDir, 'kafka'),
    appendLog: options.restarting,
    onLine: (line) => options.onLine?.('kafka', line),
  });
  const port = options.ports.kafka;
  const admin = options.kafkaUsers ? { username: 'admin', password: options.kafkaUsers.admin } : undefined;
  const ready = await readyOrStopped(child, `Kafka on port ${port}`, () => probeKafka(port, admin), READY_TIMEOUT_MS);
  if (admin) {
    try {
      await applyKafkaAcls(port, admin);
    } catch (error) {
      await ready.stop();
      throw new InfraStartError(`Kafka started but its topics and ACLs could not be set: ${String(error)}`, {
        cause: error,
      });
    }
  }
  return ready;
}

function jvmArgs(kafka: KafkaInstallation): string[] {
  return [`-Dlog4j2.configurationFile=${KAFKA_LOG4J_CONFIG}`, '-cp', kafka.classpath];
}

/**
 * KRaft storage must be formatted with a cluster id before the first start. This formats an empty template once
 * and returns its path; each start copies it. The id is kept in the data dir so the cluster stays the same across
 * runs. `--standalone` records the controller's endpoint in the metadata log, so when the controller port changes
 * (another --port-offset) or the version does, the template is formatted again. A marker written after a
 * successful format lets later starts skip the tool's JVM start-up.
 */
async function formatStorage(kafka: KafkaInstallation, dir: string, options: InfraOptions): Promise<string> {
  const logDir = path.join(dir, 'formatted-empty');
  const properties = path.join(dir, 'format.properties');
  const clusterIdFile = path.join(dir, 'cluster-id');
  const marker = path.join(dir, 'formatted');
  let clusterId = (await readFile(clusterIdFile, 'utf8').catch(() => '')).trim();
  if (!clusterId) {
    const output = await runStorageTool(kafka, ['random-uuid']);
    clusterId = output.trim().split('\n').pop()?.trim() ?? '';
    if (!/^[A-Za-z0-9_-]{22}$/.test(clusterId)) {
      throw new InfraStartError(`kafka-storage random-uuid printed no cluster id:\n${output}`);
    }
    await writeFile(clusterIdFile, `${clusterId}\n`);
  }
  // The SCRAM users are in the template, so a change of user or password formats it again (a digest, not secrets).
  const users = createHash('sha256')
    .update(JSON.stringify(Object.entries(options.kafkaUsers ?? {}).sort()))
    .digest('hex')
    .slice(0, 16);
  const controller = `127.0.0.1:${options.ports.kafkaController}`;
  const formattedFor = `${clusterId} controller=${controller} version=${kafka.version} users=${users}`;
  const previous = (await readFile(marker, 'utf8').catch(() => '')).trim();
  if (previous === formattedFor && existsSync(path.join(logDir, 'meta.properties'))) return logDir;
  await rm(marker, { force: true });
  await rm(logDir, { recursive: true, force: true });
  await writeOwnerOnly(properties, kafkaServerProperties(options.ports, logDir, options.kafkaUsers));
  const scramUsers = Object.entries(options.kafkaUsers ?? {}).flatMap(([name, password]) => {
    assertSafeKafkaPassword(password);
    return ['--add-scram', scramUserArgument(name, password)];
  });
  const format = ['format', '--standalone', '--ignore-formatted', '-t', clusterId, '-c', properties, ...scramUsers];
  if (scramUsers.length === 0) {
    await runStorageTool(kafka, format);
  } else {
    // The SCRAM passwords stay off the command line (any local user can read it): the java launcher reads the main
    // class and its arguments from an owner-only argument file, removed right after.
    const argFile = path.join(dir, 'format.args');
    const quoted = ['kafka.tools.StorageTool', ...format].map((arg) => `"${arg.replace(/[\\"]/g, '\\$&')}"`);
    await writeOwnerOnly(argFile, quoted.join('\n').concat('\n'));
    try {
      await runCommand(kafka.java, [...jvmArgs(kafka), `@${argFile}`], {
        purpose: "run Kafka's storage tool (format, with SCRAM users)",
        secrets: Object.values(options.kafkaUsers ?? {}),
      });
    } finally {
      await rm(argFile, { force: true });
    }
  }
  await writeFile(marker, `${formattedFor}\n`);
  return logDir;
}

/** Writes a file only its owner can read, also when it existed before with wider rights. */
async function writeOwnerOnly(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

function runStorageTool(kafka: KafkaInstallation, args: string[]): Promise<string> {
  return runCommand(kafka.java, [...jvmArgs(kafka), 'kafka.tools.StorageTool', ...args], {
    purpose: `run Kafka's storage tool (${args[0]})`,
  });
}
