import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { readLabDefinition } from '../lab-definition';
import { kafkaSecuritySettings } from '../infra/kafka-security';
import {
  composeProject,
  KAFKA_ADMIN_PASSWORD_PLACEHOLDER,
  kafkaPropertyVariable,
  renderComposeFile,
} from './compose-file';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const DEFAULT_LAB = readLabDefinition(resolve(REPO_ROOT, 'labs/default.json'));

/** The variables of the checked-in .env, as Compose reads them (single quotes around a value dropped). */
function dotEnv(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(resolve(REPO_ROOT, '.env'), 'utf8')
      .split('\n')
      .map((line) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim()))
      .filter((match): match is RegExpExecArray => match !== null)
      .map(([, name = '', value = '']) => [name, value.replace(/^'(.*)'$/, '$1')]),
  );
}

describe('the Docker lab as a plain `docker compose up` runs it', () => {
  it('runs Redis with maxmemory, noeviction and the 1 MiB bulk-length limit, as local mode does', () => {
    const command = composeProject(DEFAULT_LAB).services['redis']?.command ?? [];
    const option = (name: string): string | undefined => command[command.indexOf(name) + 1];
    assert.ok(command.includes('--maxmemory'), command.join(' '));
    assert.equal(option('--maxmemory-policy'), 'noeviction');
    assert.equal(option('--proto-max-bulk-len'), String(1024 * 1024));
  });

  it("caps Redis clients' buffers (query, output, all together) as local mode does", () => {
    const command = composeProject(DEFAULT_LAB).services['redis']?.command ?? [];
    const option = (name: string): string | undefined => command[command.indexOf(name) + 1];
    assert.equal(option('--client-query-buffer-limit'), String(2 * 1024 * 1024));
    assert.equal(
      option('--client-output-buffer-limit'),
      `normal ${34 * 1024 * 1024} 0 0 pubsub ${8 * 1024 * 1024} 0 0`,
    );
    assert.equal(option('--maxmemory-clients'), String(8 * 34 * 1024 * 1024));
    assert.equal(option('--maxmemory'), '${REDIS_MAXMEMORY:-3gb}');
  });

  it('has the engine restart every container that exits (`restart: unless-stopped`), kafka-setup until it succeeds', () => {
    const services = Object.entries(composeProject(DEFAULT_LAB).services);
    assert.ok(services.length > 8, services.map(([name]) => name).join(', '));
    for (const [name, service] of services) {
      assert.equal(service.restart, name === 'kafka-setup' ? 'on-failure' : 'unless-stopped', name);
    }
  });

  it('keeps every secret out of .env: the secret files, their group and LAB_TENANTS are required variables', () => {
    const env = dotEnv();
    const text = renderComposeFile(composeProject(DEFAULT_LAB));
    const required = ['LAB_SECRETS_DIR', 'LAB_SECRETS_GID', 'LAB_TENANTS'];
    assert.deepEqual(
      Object.keys(env).filter((name) => required.includes(name) || /PASSWORD|TOKEN|SECRET/.test(name)),
      [],
      '.env sets none of them',
    );
    for (const name of required) {
      const reference = `\${${name}:?${name} is generated per lab: start it with npm run lab -- up --mode docker}`;
      assert.ok(text.includes(reference), `docker-compose.yml requires ${name}`);
      // Any other reference is plain (filled by the same variable), never a default that would stand in for it.
      assert.doesNotMatch(text, new RegExp(`\\$\\{${name}:-`), `${name} has no default`);
    }
  });

  it("gives the Kafka container local mode's SASL/SCRAM and ACL settings, and each Kafka service its own user", () => {
    const project = composeProject(DEFAULT_LAB);
    const kafka = project.services['kafka']?.environment ?? {};
    const admin = KAFKA_ADMIN_PASSWORD_PLACEHOLDER;
    for (const [property, value] of Object.entries(kafkaSecuritySettings(admin, ['broker', 'external']))) {
      assert.equal(kafka[kafkaPropertyVariable(property)], value, property);
    }
    assert.equal(kafka['KAFKA_AUTHORIZER_CLASS_NAME'], 'org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    assert.equal(kafka['KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND'], 'false');
    assert.equal(kafka['KAFKA_LISTENER_NAME_BROKER_SCRAM___SHA___512_SASL_JAAS_CONFIG']?.includes(admin), true);
    assert.doesNotMatch(kafka['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP'] ?? '', /PLAINTEXT:PLAINTEXT|:PLAINTEXT(,|$)/);
    // The broker's admin password and its SCRAM users' passwords: files its entrypoint reads, each a mounted secret.
    assert.equal(kafka['ADMIN_PASSWORD_FILE'], '/run/secrets/service-token-admin');
    assert.equal(
      kafka['SCRAM_USER_FILES'],
      ['admin', 'switch', 'allocator', 'telemetry']
        .map((user) => `${user}=/run/secrets/service-token-${user}`)
        .join(' '),
    );
    assert.equal(kafka['SCRAM_USERS'], undefined);
    const users = Object.entries(project.services)
      .filter(([, service]) => service.environment['KAFKA_USERNAME'] !== undefined)
      .map(([name, service]) => [
        name,
        service.environment['KAFKA_USERNAME'],
        service.environment['KAFKA_PASSWORD_FILE'],
        service.environment['KAFKA_PASSWORD'],
      ]);
    assert.deepEqual(users, [
      ['kafka-setup', 'admin', '/run/secrets/service-token-admin', undefined],
      ['switch', 'switch', '/run/secrets/service-token-switch', undefined],
      ['allocator', 'allocator', '/run/secrets/service-token-allocator', undefined],
      ['telemetry', 'telemetry', '/run/secrets/service-token-telemetry', undefined],
    ]);
  });
});
