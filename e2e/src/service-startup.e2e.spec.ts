import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freeLoopbackPort } from '@tenantlab/lab';
import { requestJson } from '@tenantlab/shared';
import { REPO_ROOT } from './lab-process';
import { ServiceProcess } from './service-process';

const SERVICES = [
  ['operator', 3000],
  ['switch', 3001],
  ['allocator', 3002],
  ['telemetry', 3003],
  ['tenant-vm', 3100],
] as const;

/** Runs a service's compiled main.js with only `env` (and PATH), as far as it gets on its own. */
function runService(service: string, env: Record<string, string>): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(REPO_ROOT, 'services', service, 'dist', 'main.js')], {
    cwd: join(REPO_ROOT, 'services', service),
    env: { PATH: process.env['PATH'] ?? '', OTEL_SDK_DISABLED: 'true', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/**
 * The README's promises about starting a service: its configuration (exit code 78 and one line naming the variable,
 * never its value) and its readiness (`GET /ready` answers 503 naming each dependency that is not usable, while
 * `GET /health` stays 200). No Redis, Kafka or operator runs here: each dependency points at a closed port.
 */
describe('starting a service: configuration and readiness', () => {
  for (const [service, defaultPort] of SERVICES) {
    it(`${service}: a bad variable stops it with exit code 78 and one line naming it, never its value`, () => {
      const result = runService(service, { PORT: 'port-secret-42', VM_ID: 'vm-x1', TENANT_ID: 'tenant-x' });
      assert.equal(result.status, 78, result.stderr);
      assert.deepEqual(result.stderr.trim().split('\n'), [
        `${service}: invalid configuration: PORT is invalid: expected a TCP port, an integer from 1 to 65535 (default ${defaultPort})`,
      ]);
      assert.ok(!result.stderr.includes('port-secret-42'));
      assert.equal(result.stdout, '');
    });
  }

  it('tenant-vm: a missing required variable stops it with exit code 78, naming it', () => {
    const result = runService('tenant-vm', { TENANT_ID: 'tenant-x' });
    assert.equal(result.status, 78, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /^tenant-vm: invalid configuration: VM_ID is required/);
  });

  it("tenant-vm: without its tenant's enrollment secret it does not start, naming TENANT_SECRET", () => {
    const result = runService('tenant-vm', { VM_ID: 'vm-x1', TENANT_ID: 'tenant-x' });
    assert.equal(result.status, 78, result.stderr);
    assert.match(
      result.stderr.trim(),
      /^tenant-vm: invalid configuration: TENANT_SECRET is required: set it to the tenant's enrollment secret/,
    );
  });

  it('tenant-vm: TENANT_SECRET_FILE that cannot be read, or set beside TENANT_SECRET, stops it with exit code 78', () => {
    const missing = join(REPO_ROOT, '.lab', 'no-such-secret-file');
    const unreadable = runService('tenant-vm', { VM_ID: 'vm-x1', TENANT_ID: 'tenant-x', TENANT_SECRET_FILE: missing });
    assert.equal(unreadable.status, 78, unreadable.stderr);
    assert.deepEqual(unreadable.stderr.trim().split('\n'), [
      `tenant-vm: invalid configuration: TENANT_SECRET_FILE names ${missing}, which cannot be read (ENOENT): set it to a readable file`,
    ]);
    const both = runService('tenant-vm', {
      VM_ID: 'vm-x1',
      TENANT_ID: 'tenant-x',
      TENANT_SECRET: 'tenant-x-enrollment-secret',
      TENANT_SECRET_FILE: missing,
    });
    assert.equal(both.status, 78, both.stderr);
    assert.deepEqual(both.stderr.trim().split('\n'), [
      'tenant-vm: invalid configuration: TENANT_SECRET_FILE and TENANT_SECRET are both set: set only one of them',
    ]);
    assert.ok(!both.stderr.includes('tenant-x-enrollment-secret'));
  });

  describe('GET /ready with its dependencies down', () => {
    const started: ServiceProcess[] = [];
    after(async () => {
      await Promise.all(started.map((s) => s.stop()));
    });

    const cases: [string, (closed: string) => Record<string, string>, string[]][] = [
      ['operator', (closed) => ({ REDIS_URL: `redis://${closed}` }), ['redis']],
      ['switch', (closed) => ({ REDIS_URL: `redis://${closed}`, KAFKA_BROKERS: closed }), ['kafka', 'redis']],
      ['allocator', (closed) => ({ REDIS_URL: `redis://${closed}`, KAFKA_BROKERS: closed }), ['kafka', 'redis']],
      ['telemetry', (closed) => ({ KAFKA_BROKERS: closed }), ['kafka']],
      [
        'tenant-vm',
        (closed) => ({
          VM_ID: 'vm-x1',
          TENANT_ID: 'tenant-x',
          TENANT_SECRET: 'tenant-x-enrollment-secret',
          REDIS_URL: `redis://${closed}`,
          OPERATOR_URL: `http://${closed}`,
        }),
        ['operator', 'redis'],
      ],
    ];
    for (const [service, env, down] of cases) {
      it(`${service}: answers 503 naming ${down.join(' and ')}, and /health 200`, { timeout: 60_000 }, async () => {
        const closed = `127.0.0.1:${await freeLoopbackPort()}`;
        const svc = await ServiceProcess.create(service, service, env(closed));
        started.push(svc);
        await svc.start(30_000, '/health');
        const ready = await requestJson<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> }>(
          'GET',
          `${svc.url}/ready`,
          undefined,
          10_000,
        );
        assert.equal(ready.status, 503, JSON.stringify(ready.body));
        assert.equal(ready.body.ready, false);
        const failing = Object.entries(ready.body.checks)
          .filter(([, check]) => !check.ok)
          .map(([name]) => name)
          .filter((name) => down.includes(name))
          .sort();
        assert.deepEqual(failing, down, JSON.stringify(ready.body.checks));
        for (const name of down)
          assert.ok(ready.body.checks[name]?.detail, `${service}: says why ${name} is not usable`);
        const health = await requestJson('GET', `${svc.url}/health`);
        assert.equal(health.status, 200);
      });
    }
  });
});
