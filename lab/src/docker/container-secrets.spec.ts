import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCallerTokens } from '@tenantlab/shared';
import { readLabDefinition } from '../lab-definition';
import { readLabSecret } from '../lab-secrets';
import { ensureServiceTokens } from '../service-tokens';
import { composeProject } from './compose-file';
import { containerSecretsGid, writeContainerSecrets } from './container-secrets';
import { SPEC_TWO_TENANT_LAB as DEFINITION } from '../testing/plan-fixtures';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const DEFAULT_LAB = readLabDefinition(resolve(REPO_ROOT, 'labs/default.json'));

/** Variables whose value is a credential: none may be in a container's environment, only its `_FILE` form. */
const SECRET_VARIABLES = [
  'REDIS_URL',
  'REDIS_ADMIN_PASSWORD',
  'REDISCLI_AUTH',
  'OPERATOR_ADMIN_TOKEN',
  'SERVICE_TOKEN',
  'CALLER_TOKENS',
  'KAFKA_PASSWORD',
  'DASHBOARD_TOKEN',
  'TENANT_SECRET',
  'SCRAM_USERS',
];

describe("Docker mode's secrets: files mounted into the containers that read them, never environment variables", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'container-secrets-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("gives each container exactly the secrets its config reads, a VM only its own tenant's", () => {
    const project = composeProject(DEFINITION);
    const mounted = Object.fromEntries(
      Object.entries(project.services).map(([name, service]) => [name, service.secrets ?? []]),
    );
    assert.deepEqual(mounted, {
      redis: ['redis-admin-config'],
      kafka: ['service-token-admin', 'service-token-switch', 'service-token-allocator', 'service-token-telemetry'],
      'kafka-setup': ['service-token-admin'],
      jaeger: [],
      'otlp-relay': [],
      operator: ['redis-admin-url', 'operator-admin-token', 'service-token-operator', 'caller-tokens-operator'],
      switch: ['redis-admin-url', 'caller-tokens-switch', 'service-token-switch'],
      allocator: ['redis-admin-url', 'caller-tokens-allocator', 'service-token-allocator'],
      telemetry: ['service-token-telemetry', 'caller-tokens-telemetry', 'dashboard-token'],
      'vm-a1': ['tenant-secret-tenant-a'],
      'vm-a2': ['tenant-secret-tenant-a'],
      'vm-b1': ['tenant-secret-tenant-b'],
    });
    // Each mounted secret is declared once, as a file of the lab runner's directory; nothing else is declared.
    const declared = Object.keys(project.secrets).sort();
    assert.deepEqual(declared, [...new Set(Object.values(mounted).flat())].sort());
    for (const [name, secret] of Object.entries(project.secrets)) {
      assert.equal(
        secret.file,
        `\${LAB_SECRETS_DIR:?LAB_SECRETS_DIR is generated per lab: start it with npm run lab -- up --mode docker}/${name}`,
      );
    }
    // Only a container with secrets joins the group that may read the files.
    for (const [name, service] of Object.entries(project.services)) {
      assert.equal(service.group_add !== undefined, (service.secrets ?? []).length > 0, name);
    }
  });

  it('names every secret by a _FILE variable pointing into /run/secrets, and no secret-bearing variable', () => {
    const project = composeProject(DEFAULT_LAB);
    for (const [name, service] of Object.entries(project.services)) {
      // A VM's REDIS_URL has no credentials (it logs in as the ACL user the operator hands it): that one may stay.
      const holding = SECRET_VARIABLES.filter(
        (variable) =>
          variable in service.environment &&
          !(variable === 'REDIS_URL' && !/@/.test(service.environment[variable] ?? '')),
      );
      assert.deepEqual(holding, [], `${name}'s environment`);
      for (const [variable, value] of Object.entries(service.environment).filter(([v]) => v.endsWith('_FILE'))) {
        const file = /^\/run\/secrets\/([a-z0-9-]+)$/.exec(value)?.[1];
        assert.ok(file && service.secrets?.includes(file), `${name}'s ${variable} names one of its own secrets`);
      }
    }
    // The Redis password reaches redis-server in a config file, not on its command line.
    assert.equal(project.services['redis']?.command?.includes('--requirepass'), false);
    assert.equal(project.services['redis']?.command?.[1], '/run/secrets/redis-admin-config');
  });

  it('writes each file with what its reader expects, owner and group only, and removes files no longer used', () => {
    const staleDir = join(dataDir, 'container-secrets');
    const env = writeContainerSecrets(dataDir, DEFINITION);
    writeFileSync(join(staleDir, 'tenant-secret-gone'), 'x\n');
    writeContainerSecrets(dataDir, DEFINITION);
    assert.deepEqual(env, { LAB_SECRETS_DIR: staleDir, LAB_SECRETS_GID: String(containerSecretsGid()) });
    const dir = env['LAB_SECRETS_DIR'] ?? '';
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const names = readdirSync(dir).sort();
    assert.ok(!names.includes('tenant-secret-gone'), 'a stale file is removed');
    assert.deepEqual(names, Object.keys(project()).sort());
    for (const name of names) {
      const stat = statSync(join(dir, name));
      assert.equal(stat.mode & 0o777, 0o640, name);
      assert.equal(stat.gid, containerSecretsGid(), name);
    }
    const read = (name: string): string => readFileSync(join(dir, name), 'utf8').trim();
    const password = readLabSecret(dataDir, 'redis-admin-password');
    assert.equal(read('redis-admin-config'), `requirepass ${password}`);
    assert.equal(read('redis-admin-url'), `redis://:${password}@redis:6379`);
    assert.equal(read('tenant-secret-tenant-b'), readLabSecret(dataDir, 'tenant-secret-tenant-b'));
    const tokens = ensureServiceTokens(dataDir);
    assert.deepEqual(parseCallerTokens(read('caller-tokens-switch')), [
      { caller: 'operator', token: tokens.operator },
      { caller: 'telemetry', token: tokens.telemetry },
      { caller: 'admin', token: tokens.admin },
    ]);
    assert.equal(read('service-token-telemetry'), tokens.telemetry);

    function project(): Record<string, { file: string }> {
      return composeProject(DEFINITION).secrets;
    }
  });
});
