import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jaegerIngestAuthorization, tokenSha256, vmTraceExportToken } from '@tenantlab/shared';
import { parseLabDefinition } from './lab-definition';
import { planLab } from './lab-plan';
import { SPEC_INFRA_URLS as INFRA, SPEC_TWO_TENANT_LAB as DEFINITION } from './testing/plan-fixtures';
import { withTraceRelay } from './trace-relay';

const INGEST_PASSWORD = 'i'.repeat(64);
const VM_KEY = 'k'.repeat(64);
const OPTIONS = {
  repoRoot: '/repo',
  portOffset: 10_000,
  jaegerOtlpHttp: INFRA.otlpHttp,
  ingestPassword: INGEST_PASSWORD,
  vmKey: VM_KEY,
};
const headersOf = (authorization: string): string => `Authorization=${encodeURIComponent(authorization)}`;

describe('withTraceRelay (a local lab: VMs export through the OTLP relay, Jaeger takes only the ingest password)', () => {
  const plan = withTraceRelay(planLab(DEFINITION, '/repo', INFRA, 10_000), OPTIONS);

  it('runs the relay first, not instrumented, on its port, forwarding to Jaeger with the ingest password', () => {
    const [relay] = plan;
    assert.equal(relay?.name, 'otlp-relay');
    assert.equal(relay.kind, 'relay');
    assert.equal(relay.script, 'dist/otlp-relay/otlp-relay.main.js');
    assert.equal(relay.serviceDir, '/repo/services/telemetry');
    assert.equal(relay.url, 'http://127.0.0.1:13004');
    assert.equal(relay.env['PORT'], '13004');
    assert.equal(relay.env['NODE_OPTIONS'], '--max-old-space-size=48');
    assert.equal(relay.env['RELAY_UPSTREAM'], 'http://127.0.0.1:14318/v1/traces');
    assert.equal(relay.env['RELAY_UPSTREAM_AUTHORIZATION'], jaegerIngestAuthorization(INGEST_PASSWORD));
    assert.equal(relay.env['RELAY_VMS'], 'vm-a1=tenant-a,vm-a2=tenant-a,vm-b1=tenant-b');
    assert.equal(
      relay.env['RELAY_VM_TOKEN_SHA256S'],
      ['vm-a1', 'vm-a2', 'vm-b1'].map((vm) => `${vm}=${tokenSha256(vmTraceExportToken(VM_KEY, vm))}`).join(','),
    );
  });

  it('has each VM export to the relay with its own token, and never hold the ingest password', () => {
    const vms = plan.filter((spec) => spec.kind === 'vm');
    assert.equal(vms.length, 3);
    for (const vm of vms) {
      assert.equal(vm.env['OTEL_EXPORTER_OTLP_ENDPOINT'], 'http://127.0.0.1:13004');
      assert.equal(vm.env['OTEL_EXPORTER_OTLP_HEADERS'], headersOf(`Bearer ${vmTraceExportToken(VM_KEY, vm.name)}`));
      assert.ok(!Object.values(vm.env).some((value) => value.includes(INGEST_PASSWORD)));
      assert.ok(!JSON.stringify(vm.env).includes(jaegerIngestAuthorization(INGEST_PASSWORD)));
    }
    const tokens = new Set(vms.map((vm) => vm.env['OTEL_EXPORTER_OTLP_HEADERS']));
    assert.equal(tokens.size, 3, 'a token per VM');
  });

  it("has each service export to Jaeger directly with the ingest password (OTel's header variable)", () => {
    const services = plan.filter((spec) => spec.kind === 'service');
    assert.deepEqual(
      services.map((spec) => spec.name),
      ['operator', 'switch', 'allocator', 'telemetry'],
    );
    for (const service of services) {
      assert.equal(service.env['OTEL_EXPORTER_OTLP_ENDPOINT'], INFRA.otlpHttp);
      assert.equal(service.env['OTEL_EXPORTER_OTLP_HEADERS'], headersOf(jaegerIngestAuthorization(INGEST_PASSWORD)));
    }
  });

  it('adds no relay to a lab without VMs', () => {
    const empty = parseLabDefinition({ name: 'empty', tenants: [{ id: 'tenant-a', vms: [] }] }, 'empty.json');
    const servicesOnly = withTraceRelay(planLab(empty, '/repo', INFRA, 0), OPTIONS);
    assert.ok(servicesOnly.every((spec) => spec.kind === 'service'));
  });
});
