import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { metricsTokenSha256, vmControlToken } from '@tenantlab/shared';
import { ensureLabIdentity, vmControlTokenHash } from '../lab-identity';
import { formatStatusTable } from '../lab-status';
import type { LabState } from '../lab-state';
import { ensureMetricsScrapeTokens } from '../prometheus-config';
import { vmControlTokenHashVariable } from './compose-file';
import { CONTAINER_INSPECT_FORMAT, labComposeEnv, parseContainerLines } from './docker-lab';

/** Three lines as `docker inspect --format CONTAINER_INSPECT_FORMAT` prints them: vm-a1 was restarted twice. */
const INSPECT_OUTPUT =
  'operator 4f1c2e true healthy 4242 0\n' + 'vm-a1 9b8d7c true none 5151 2\n' + 'kafka 1a2b3c false unhealthy 0 7\n';

describe('the Docker lab listing (what `status` shows in Docker mode)', () => {
  it("asks the engine for each container's restart count and reads it", () => {
    assert.match(CONTAINER_INSPECT_FORMAT, /\{\{ \.RestartCount \}\}$/);
    const containers = parseContainerLines(INSPECT_OUTPUT);
    assert.deepEqual(containers.get('vm-a1'), { id: '9b8d7c', running: true, health: 'none', pid: 5151, restarts: 2 });
    assert.deepEqual(containers.get('operator'), {
      id: '4f1c2e',
      running: true,
      health: 'healthy',
      pid: 4242,
      restarts: 0,
    });
    assert.equal(containers.get('kafka')?.restarts, 7);
    assert.equal(containers.get('kafka')?.running, false);
  });

  it('shows the restart count in the RESTARTS column of `status`', () => {
    const state = { profile: 'default', runnerPid: 1, startedAt: 'now' } as LabState;
    const table = formatStatusTable(state, [
      {
        name: 'vm-a1',
        kind: 'vm',
        url: 'http://127.0.0.1:3101',
        pid: 5151,
        restarts: 2,
        running: true,
        ready: true,
        detail: '',
      },
      {
        name: 'operator',
        kind: 'service',
        url: 'http://127.0.0.1:3000',
        pid: 4242,
        running: true,
        ready: true,
        detail: '',
      },
    ]).split('\n');
    const header = table[1]?.split(/\s+/) ?? [];
    const column = header.indexOf('RESTARTS');
    assert.ok(column > 0, table.join('\n'));
    assert.equal(table[2]?.split(/\s+/)[column], '2', 'vm-a1 restarted twice');
    assert.equal(table[3]?.split(/\s+/)[column], '0', 'no count is none');
  });
});

describe("the variables Compose gets (labComposeEnv): the metrics scrape tokens' hashes, never a token", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'compose-env-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("hands the services the services' token's hash and each tenant's VMs their tenant's, one variable each", () => {
    const definition = {
      name: 'two',
      tenants: [
        { id: 'tenant-a', vms: ['vm-a1'] },
        { id: 'tenant-b', vms: ['vm-b1'] },
      ],
    };
    const groups = { env: { VM_CPU_GROUP_TENANT_A: '/docker/tenantlab-two/tenant-a' } };
    const env = labComposeEnv(dataDir, 'two', definition, () => groups);
    assert.equal(env['VM_CPU_GROUP_TENANT_A'], '/docker/tenantlab-two/tenant-a', "the tenants' CPU groups too");
    const tokens = ensureMetricsScrapeTokens(dataDir, ['tenant-a', 'tenant-b']);
    assert.equal(env['METRICS_TOKEN_SHA256'], metricsTokenSha256(tokens.service));
    assert.equal(env['METRICS_VM_TOKEN_SHA256_TENANT_A'], metricsTokenSha256(tokens.tenants['tenant-a'] ?? ''));
    assert.equal(env['METRICS_VM_TOKEN_SHA256_TENANT_B'], metricsTokenSha256(tokens.tenants['tenant-b'] ?? ''));
    const hashes = Object.entries(env).filter(([name]) => name.startsWith('METRICS_'));
    assert.equal(hashes.length, 3, 'no other metrics variable (no shared VMs token)');
    assert.equal(new Set(hashes.map(([, hash]) => hash)).size, 3, 'three different hashes');
    for (const token of [tokens.service, ...Object.values(tokens.tenants)]) {
      assert.ok(!Object.values(env).includes(token), 'no token');
    }
    // Each VM's control token's hash, one variable each, never the token.
    const identity = ensureLabIdentity(dataDir, definition);
    for (const vm of ['vm-a1', 'vm-b1']) {
      assert.equal(env[vmControlTokenHashVariable(vm)], vmControlTokenHash(identity, vm));
      assert.ok(!Object.values(env).includes(vmControlToken(identity.vmControlKey, vm)), 'no control token');
    }
    // `down` (no lab file): the tenants' variables are unset, which the compose file reads as empty.
    assert.deepEqual(
      Object.keys(labComposeEnv(dataDir, 'two')).filter((name) => name.startsWith('METRICS_')),
      ['METRICS_TOKEN_SHA256'],
    );
  });
});
