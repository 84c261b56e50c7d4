import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { readLabDefinition } from '../lab-definition';
import { composeProject, renderComposeFile, TENANT_FACING_PIDS_LIMIT } from './compose-file';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');

describe('the compose project generated from a lab file', () => {
  it('is, for labs/default.json, exactly the checked-in docker-compose.yml', () => {
    const generated = renderComposeFile(composeProject(readLabDefinition(resolve(REPO_ROOT, 'labs/default.json'))));
    const checkedIn = readFileSync(resolve(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    assert.equal(
      checkedIn,
      generated,
      'docker-compose.yml differs from the generator: regenerate it with `node lab/dist/docker/write-default-compose.js`',
    );
  });

  it('gives every VM of the lab file its own container, only on the tenant network', () => {
    const project = composeProject(
      {
        name: 'big',
        tenants: [
          { id: 't1', vms: ['v1', 'v2', 'v3'] },
          { id: 't2', vms: ['v4'] },
        ],
      },
      20_000,
    );
    const vms = Object.entries(project.services).filter(([, s]) => s.environment['VM_ID'] !== undefined);
    assert.deepEqual(
      vms.map(([name, s]) => [name, s.environment['TENANT_ID'], s.ports, s.networks]),
      [
        ['v1', 't1', ['127.0.0.1:23101:3100'], ['tenant-vms']],
        ['v2', 't1', ['127.0.0.1:23102:3100'], ['tenant-vms']],
        ['v3', 't1', ['127.0.0.1:23103:3100'], ['tenant-vms']],
        ['v4', 't2', ['127.0.0.1:23104:3100'], ['tenant-vms']],
      ],
    );
    // Credentials never reach a VM: its Redis URL has none.
    assert.ok(vms.every(([, s]) => s.environment['REDIS_URL'] === 'redis://redis:6379'));
  });

  it("gives each VM its own tenant's metrics token's hash and each service the services'", () => {
    const project = composeProject(readLabDefinition(resolve(REPO_ROOT, 'labs/default.json')));
    const hashes = Object.entries(project.services)
      .filter(([, s]) => s.environment['METRICS_TOKEN_SHA256'] !== undefined)
      .map(([name, s]) => `${name} ${s.environment['METRICS_TOKEN_SHA256']}`);
    assert.deepEqual(hashes, [
      'operator ${METRICS_TOKEN_SHA256:-}',
      'switch ${METRICS_TOKEN_SHA256:-}',
      'allocator ${METRICS_TOKEN_SHA256:-}',
      'telemetry ${METRICS_TOKEN_SHA256:-}',
      'vm-a1 ${METRICS_VM_TOKEN_SHA256_TENANT_A:-}',
      'vm-a2 ${METRICS_VM_TOKEN_SHA256_TENANT_A:-}',
      'vm-b1 ${METRICS_VM_TOKEN_SHA256_TENANT_B:-}',
      'vm-b2 ${METRICS_VM_TOKEN_SHA256_TENANT_B:-}',
    ]);
  });

  it("gives VM containers the local mode's V8 settings (a small young generation), and no other container", () => {
    const project = composeProject(readLabDefinition(resolve(REPO_ROOT, 'labs/default.json')));
    const withOptions = Object.entries(project.services)
      .filter(([, s]) => s.environment['NODE_OPTIONS'] !== undefined)
      .map(([name, s]) => [name, s.environment['NODE_OPTIONS']]);
    assert.deepEqual(
      withOptions,
      ['vm-a1', 'vm-a2', 'vm-b1', 'vm-b2'].map((vm) => [vm, '--max-semi-space-size=2']),
    );
  });

  it('gives VM containers a CPU weight below the shared services, and no other container one', () => {
    const project = composeProject(readLabDefinition(resolve(REPO_ROOT, 'labs/default.json')));
    const weighted = Object.entries(project.services)
      .filter(([, s]) => s.cpu_shares !== undefined)
      .map(([name, s]) => [name, s.cpu_shares]);
    assert.deepEqual(
      weighted,
      ['vm-a1', 'vm-a2', 'vm-b1', 'vm-b2'].map((vm) => [vm, 110]),
    );
  });

  it("limits pids, drops every capability, forbids new privileges and writes to the image in the containers tenants drive or reach and the lab's Node services, only those", () => {
    const project = composeProject(readLabDefinition(resolve(REPO_ROOT, 'labs/default.json')));
    const limited = Object.entries(project.services)
      .filter(([, s]) => [s.pids_limit, s.cap_drop, s.security_opt, s.read_only, s.tmpfs].some((v) => v !== undefined))
      .map(([name, s]) => [name, s.pids_limit, s.cap_drop, s.security_opt, s.read_only, s.tmpfs]);
    assert.deepEqual(
      limited,
      ['otlp-relay', 'operator', 'switch', 'allocator', 'telemetry', 'vm-a1', 'vm-a2', 'vm-b1', 'vm-b2'].map((name) => [
        name,
        TENANT_FACING_PIDS_LIMIT,
        ['ALL'],
        ['no-new-privileges:true'],
        true,
        ['/tmp:size=16m'],
      ]),
    );
  });

  it("puts each VM container in its tenant's CPU group, named by a variable per tenant, and no other container", () => {
    const project = composeProject(readLabDefinition(resolve(REPO_ROOT, 'labs/default.json')));
    const grouped = Object.entries(project.services)
      .filter(([, s]) => s.cgroup_parent !== undefined)
      .map(([name, s]) => [name, s.cgroup_parent]);
    assert.deepEqual(grouped, [
      ['vm-a1', '${VM_CPU_GROUP_TENANT_A:-}'],
      ['vm-a2', '${VM_CPU_GROUP_TENANT_A:-}'],
      ['vm-b1', '${VM_CPU_GROUP_TENANT_B:-}'],
      ['vm-b2', '${VM_CPU_GROUP_TENANT_B:-}'],
    ]);
  });

  it('keeps the switch, allocator, telemetry and Kafka off the network the VMs are on', () => {
    const project = composeProject(readLabDefinition(resolve(REPO_ROOT, 'labs/default.json')));
    const onTenantNetwork = Object.entries(project.services)
      .filter(([, s]) => s.networks.includes('tenant-vms') && s.environment['VM_ID'] === undefined)
      .map(([name]) => name)
      .sort();
    // Not Jaeger: its query API holds every tenant's traces. VMs export through the relay only.
    assert.deepEqual(onTenantNetwork, ['operator', 'otlp-relay', 'redis']);
    for (const [name, service] of Object.entries(project.services)) {
      assert.ok(service.mem_limit, `${name} has a memory limit`);
      // The one-shot kafka-setup has none: the services wait for it to exit 0 instead.
      if (name === 'kafka-setup') continue;
      assert.ok('test' in service.healthcheck && service.healthcheck.test.length > 0, `${name} has a health check`);
    }
  });

  it('has VMs export traces to the OTLP relay, which alone bridges the networks to Jaeger and knows every VM', () => {
    const project = composeProject(
      {
        name: 'big',
        tenants: [
          { id: 't1', vms: ['v1', 'v2'] },
          { id: 't2', vms: ['v3'] },
        ],
      },
      20_000,
    );
    const relay = project.services['otlp-relay'];
    assert.ok(relay);
    assert.deepEqual(relay.networks, ['core', 'tenant-vms']);
    assert.equal(relay.ports, undefined, 'no host port: the host reaches Jaeger itself');
    assert.equal(relay.environment['RELAY_VMS'], 'v1=t1,v2=t1,v3=t2');
    assert.equal(relay.environment['RELAY_UPSTREAM'], 'http://jaeger:4318/v1/traces');
    assert.equal(relay.mem_limit, '160m');
    assert.ok('test' in relay.healthcheck && relay.healthcheck.test.join(' ').includes('/health'));
    assert.deepEqual(project.services['jaeger']?.networks, ['core']);
    for (const vm of ['v1', 'v2', 'v3']) {
      const service = project.services[vm];
      assert.equal(service?.environment['OTEL_EXPORTER_OTLP_ENDPOINT'], 'http://otlp-relay:4318', vm);
      assert.deepEqual(service?.depends_on?.['otlp-relay'], { condition: 'service_healthy' }, vm);
      assert.equal(service?.depends_on?.['jaeger'], undefined, vm);
    }
    // The trusted services still export to Jaeger directly, on `core`.
    assert.equal(project.services['switch']?.environment['OTEL_EXPORTER_OTLP_ENDPOINT'], 'http://jaeger:4318');
  });

  it("gives the switch container a scenario's switch settings, and no other container", () => {
    const definition = { name: 'cpu', tenants: [{ id: 't1', vms: ['v1'] }] };
    const env = { PROGRAM_CPU_NS_PER_SECOND: '4000000' };
    const project = composeProject({ ...definition, switchEnv: env });
    assert.equal(project.services['switch']?.environment['PROGRAM_CPU_NS_PER_SECOND'], '4000000');
    const others = Object.entries(project.services).filter(([name]) => name !== 'switch');
    assert.ok(others.every(([, s]) => s.environment?.['PROGRAM_CPU_NS_PER_SECOND'] === undefined));
    assert.equal(composeProject(definition).services['switch']?.environment['PROGRAM_CPU_NS_PER_SECOND'], undefined);
  });

  it("gives the allocator container a scenario's allocator settings, and no other container", () => {
    const definition = { name: 'loop', tenants: [{ id: 't1', vms: ['v1'] }] };
    const project = composeProject({ ...definition, allocatorEnv: { ALLOCATOR_REALLOCATION: 'static' } });
    assert.equal(project.services['allocator']?.environment['ALLOCATOR_REALLOCATION'], 'static');
    const others = Object.entries(project.services).filter(([name]) => name !== 'allocator');
    assert.ok(others.every(([, s]) => s.environment?.['ALLOCATOR_REALLOCATION'] === undefined));
  });
});
