import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCallerTokens } from '@tenantlab/shared';
import { labSecretFile } from './lab-secrets';
import {
  ensureServiceTokens,
  kafkaUsersOf,
  readAdminToken,
  serviceCredentialComposeEnv,
  serviceCredentialEnv,
  serviceTokenComposeEnv,
  type ServiceTokens,
  TOKEN_HOLDERS,
  withKafkaCredentials,
} from './service-tokens';

describe('service tokens of a lab profile', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'service-tokens-spec-'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('are one per service and one for the admin tools, distinct, kept in owner-only files and reused', async () => {
    const dataDir = path.join(root, 'profile');
    const tokens = ensureServiceTokens(dataDir);
    assert.deepEqual(Object.keys(tokens), [...TOKEN_HOLDERS]);
    assert.equal(new Set(Object.values(tokens)).size, TOKEN_HOLDERS.length);
    for (const holder of TOKEN_HOLDERS) {
      assert.match(tokens[holder], /^[0-9a-f]{64}$/);
      assert.equal((await stat(labSecretFile(dataDir, `service-token-${holder}`))).mode & 0o777, 0o600);
    }
    assert.deepEqual(ensureServiceTokens(dataDir), tokens);
    assert.equal(readAdminToken(dataDir), tokens.admin);
  });

  it('give each caller its own token and each guarded service its callers, VMs nothing', () => {
    const tokens = ensureServiceTokens(path.join(root, 'env'));
    const callersOf = (service: string) =>
      parseCallerTokens(serviceCredentialEnv(service, tokens)['CALLER_TOKENS'] ?? '');
    assert.equal(serviceCredentialEnv('operator', tokens)['SERVICE_TOKEN'], tokens.operator);
    assert.equal(serviceCredentialEnv('telemetry', tokens)['SERVICE_TOKEN'], tokens.telemetry);
    // The operator's lab view (GET /lab/circuits) takes telemetry (its dashboard) and the admin tools only.
    assert.deepEqual(callersOf('operator'), [
      { caller: 'telemetry', token: tokens.telemetry },
      { caller: 'admin', token: tokens.admin },
    ]);
    for (const service of ['switch', 'allocator']) {
      assert.deepEqual(serviceCredentialEnv(service, tokens)['SERVICE_TOKEN'], undefined);
      assert.deepEqual(callersOf(service), [
        { caller: 'operator', token: tokens.operator },
        { caller: 'telemetry', token: tokens.telemetry },
        { caller: 'admin', token: tokens.admin },
      ]);
    }
    assert.deepEqual(callersOf('telemetry'), [
      { caller: 'operator', token: tokens.operator },
      { caller: 'admin', token: tokens.admin },
    ]);
    assert.deepEqual(serviceCredentialEnv('vm-a1', tokens), {});
  });

  it('are references to variables in the compose file, never values', () => {
    assert.equal(
      serviceCredentialComposeEnv('operator')['SERVICE_TOKEN'],
      '${OPERATOR_SERVICE_TOKEN:?OPERATOR_SERVICE_TOKEN is generated per lab: start it with npm run lab -- up --mode docker}',
    );
    assert.equal(
      serviceCredentialComposeEnv('telemetry')['CALLER_TOKENS'],
      'operator=${OPERATOR_SERVICE_TOKEN:?OPERATOR_SERVICE_TOKEN is generated per lab: start it with npm run lab -- up --mode docker},admin=${ADMIN_SERVICE_TOKEN:?ADMIN_SERVICE_TOKEN is generated per lab: start it with npm run lab -- up --mode docker}',
    );
    assert.deepEqual(serviceCredentialComposeEnv('vm-b1'), {});
  });

  it("hand Compose the profile's tokens as OPERATOR_SERVICE_TOKEN, ADMIN_SERVICE_TOKEN, ...; .env has none", () => {
    const tokens = ensureServiceTokens(path.join(root, 'compose'));
    assert.deepEqual(serviceTokenComposeEnv(tokens), {
      OPERATOR_SERVICE_TOKEN: tokens.operator,
      SWITCH_SERVICE_TOKEN: tokens.switch,
      ALLOCATOR_SERVICE_TOKEN: tokens.allocator,
      TELEMETRY_SERVICE_TOKEN: tokens.telemetry,
      ADMIN_SERVICE_TOKEN: tokens.admin,
    });
    // A plain `docker compose up` reads .env: no default there, so it needs them set in the shell.
    const dotEnv = readFileSync(path.join(__dirname, '..', '..', '.env'), 'utf8');
    assert.doesNotMatch(dotEnv, /^\s*[A-Z]+_SERVICE_TOKEN\s*=/m);
  });
});

describe('Kafka users of a local lab', () => {
  const tokens = Object.fromEntries(
    TOKEN_HOLDERS.map((holder) => [holder, `${holder}-token`.padEnd(40, 'x')]),
  ) as ServiceTokens;

  it('are the admin and the three services that use Kafka, each with its own token as password', () => {
    assert.deepEqual(kafkaUsersOf(tokens), {
      admin: tokens.admin,
      switch: tokens.switch,
      allocator: tokens.allocator,
      telemetry: tokens.telemetry,
    });
  });

  it('give each of those services only its own Kafka user, and the operator and VMs none', () => {
    const specs = ['operator', 'switch', 'allocator', 'telemetry', 'vm-a1'].map((name) => ({
      name,
      kind: name.startsWith('vm-') ? 'vm' : 'service',
      env: { LOG_LEVEL: 'info' },
    }));
    const env = Object.fromEntries(withKafkaCredentials(specs, tokens).map((spec) => [spec.name, spec.env]));
    for (const name of ['switch', 'allocator', 'telemetry'] as const) {
      assert.deepEqual(env[name], { LOG_LEVEL: 'info', KAFKA_USERNAME: name, KAFKA_PASSWORD: tokens[name] });
    }
    assert.deepEqual(env['operator'], { LOG_LEVEL: 'info' });
    assert.deepEqual(env['vm-a1'], { LOG_LEVEL: 'info' });
  });
});
