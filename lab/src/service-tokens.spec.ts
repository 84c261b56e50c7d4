import assert from 'node:assert/strict';
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
  serviceCredentialEnv,
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
