import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { readLabDefinition } from '../lab-definition';
import { tenantSecretVariable } from '../lab-identity';
import { kafkaSecuritySettings } from '../infra/kafka-security';
import { TOKEN_HOLDERS } from '../service-tokens';
import { composeProject, kafkaPropertyVariable, renderComposeFile } from './compose-file';

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

  it('keeps every secret out of .env: each is a required variable that names `npm run lab -- up --mode docker`', () => {
    const env = dotEnv();
    const text = renderComposeFile(composeProject(DEFAULT_LAB));
    const secrets = [
      'REDIS_ADMIN_PASSWORD',
      'OPERATOR_ADMIN_TOKEN',
      'LAB_TENANTS',
      'DASHBOARD_TOKEN',
      ...DEFAULT_LAB.tenants.map((tenant) => tenantSecretVariable(tenant.id)),
      ...TOKEN_HOLDERS.map((holder) => `${holder.toUpperCase()}_SERVICE_TOKEN`),
    ];
    assert.deepEqual(
      secrets.filter((name) => name in env),
      [],
      '.env sets none of them',
    );
    for (const name of secrets) {
      const required = `\${${name}:?${name} is generated per lab: start it with npm run lab -- up --mode docker}`;
      assert.ok(text.includes(required), `docker-compose.yml requires ${name}`);
      // Any other reference is plain (filled by the same variable), never a default that would stand in for it.
      assert.doesNotMatch(text, new RegExp(`\\$\\{${name}:-`), `${name} has no default`);
    }
  });

  it("gives the Kafka container local mode's SASL/SCRAM and ACL settings, and each Kafka service its own user", () => {
    const project = composeProject(DEFAULT_LAB);
    const kafka = project.services['kafka']?.environment ?? {};
    const admin =
      '${ADMIN_SERVICE_TOKEN:?ADMIN_SERVICE_TOKEN is generated per lab: start it with npm run lab -- up --mode docker}';
    for (const [property, value] of Object.entries(kafkaSecuritySettings(admin, ['broker', 'external']))) {
      assert.equal(kafka[kafkaPropertyVariable(property)], value, property);
    }
    assert.equal(kafka['KAFKA_AUTHORIZER_CLASS_NAME'], 'org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    assert.equal(kafka['KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND'], 'false');
    assert.equal(kafka['KAFKA_LISTENER_NAME_BROKER_SCRAM___SHA___512_SASL_JAAS_CONFIG']?.includes(admin), true);
    assert.doesNotMatch(kafka['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP'] ?? '', /PLAINTEXT:PLAINTEXT|:PLAINTEXT(,|$)/);
    assert.deepEqual(
      [...(kafka['SCRAM_USERS'] ?? '').matchAll(/(?:^| )([a-z]+)=\$\{/g)].map((match) => match[1]),
      ['admin', 'switch', 'allocator', 'telemetry'],
    );
    const users = Object.entries(project.services)
      .filter(([, service]) => service.environment['KAFKA_USERNAME'] !== undefined)
      .map(([name, service]) => [name, service.environment['KAFKA_USERNAME'], service.environment['KAFKA_PASSWORD']]);
    const token = (holder: string): string =>
      `\${${holder}_SERVICE_TOKEN:?${holder}_SERVICE_TOKEN is generated per lab: start it with npm run lab -- up --mode docker}`;
    assert.deepEqual(users, [
      ['kafka-setup', 'admin', token('ADMIN')],
      ['switch', 'switch', token('SWITCH')],
      ['allocator', 'allocator', token('ALLOCATOR')],
      ['telemetry', 'telemetry', token('TELEMETRY')],
    ]);
  });
});
