import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { readLabDefinition } from '../lab-definition';
import { tenantSecretVariable } from '../lab-identity';
import { composeProject } from './compose-file';

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

  it('has the engine restart every container that exits (`restart: unless-stopped`)', () => {
    const services = Object.entries(composeProject(DEFAULT_LAB).services);
    assert.ok(services.length > 8, services.map(([name]) => name).join(', '));
    for (const [name, service] of services) assert.equal(service.restart, 'unless-stopped', name);
  });

  it("takes each tenant's enrollment secret, the operator's hashes of them and an admin token from .env", () => {
    const env = dotEnv();
    const declared = JSON.parse(env['LAB_TENANTS'] ?? '[]') as { id: string; secretSha256: string }[];
    assert.deepEqual(
      declared.map((tenant) => tenant.id),
      DEFAULT_LAB.tenants.map((tenant) => tenant.id),
    );
    for (const { id, secretSha256 } of declared) {
      const secret = env[tenantSecretVariable(id)];
      assert.ok(secret, `${tenantSecretVariable(id)} in .env`);
      assert.equal(createHash('sha256').update(secret).digest('hex'), secretSha256, `${id}: hash of its secret`);
    }
    assert.ok((env['OPERATOR_ADMIN_TOKEN'] ?? '').length >= 32, 'an admin token the operator accepts');
  });
});
