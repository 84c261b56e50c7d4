import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { metricsTokenSha256 } from '@tenantlab/shared';
import { planLab } from './lab-plan';
import { readLabSecret } from './lab-secrets';
import { withTraceRelay } from './trace-relay';
import {
  ensureMetricsScrapeTokens,
  ensurePrometheusWebPassword,
  METRICS_SCRAPE_TOKEN,
  metricsVmScrapeTokenName,
  PROMETHEUS_WEB_PASSWORD,
  prometheusConfig,
  readPrometheusSecrets,
  scrapeCredentialsFiles,
  localScrapeTargets,
  withMetricsTokenHash,
} from './prometheus-config';

const definition = {
  name: 'two',
  tenants: [
    { id: 'tenant-a', vms: ['vm-a1'] },
    { id: 'tenant-b', vms: ['vm-b1', 'vm-b2'] },
  ],
};
const infra = {
  redis: 'redis://127.0.0.1:6379',
  redisAdmin: 'redis://:pw@127.0.0.1:6379',
  kafkaBrokers: '127.0.0.1:9092',
  otlpHttp: 'http://127.0.0.1:4318',
  jaegerQuery: 'http://127.0.0.1:16686',
};

const TENANTS = ['tenant-a', 'tenant-b'];

describe('Prometheus configuration from the lab file', () => {
  it("scrapes every service and every VM of the lab, one job per tenant's VMs, each with its own token's file", () => {
    const specs = planLab(definition, '/repo', infra, 100);
    const config = JSON.parse(
      prometheusConfig(localScrapeTargets(specs), scrapeCredentialsFiles('/lab/prometheus', TENANTS)),
    ) as {
      global: { scrape_interval: string };
      scrape_configs: {
        job_name: string;
        scrape_interval?: string;
        authorization: { type: string; credentials_file: string };
        static_configs: { targets: string[]; labels: { component: string } }[];
      }[];
    };
    const jobs = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job]));
    assert.deepEqual(Object.keys(jobs), ['tenantlab-services', 'tenantlab-vms-tenant-a', 'tenantlab-vms-tenant-b']);
    const targets = (job: string): string[] =>
      jobs[job].static_configs.map((c) => `${c.labels.component}@${c.targets.join(',')}`);
    assert.deepEqual(targets('tenantlab-services'), [
      'operator@127.0.0.1:3100',
      'switch@127.0.0.1:3101',
      'allocator@127.0.0.1:3102',
      'telemetry@127.0.0.1:3103',
    ]);
    assert.deepEqual(targets('tenantlab-vms-tenant-a'), ['vm-a1@127.0.0.1:3201']);
    assert.deepEqual(targets('tenantlab-vms-tenant-b'), ['vm-b1@127.0.0.1:3202', 'vm-b2@127.0.0.1:3203']);
    // What a VM is sent on every scrape is its own tenant's token alone.
    assert.deepEqual(
      config.scrape_configs.map((job) => [job.job_name, job.authorization]),
      [
        ['tenantlab-services', { type: 'Bearer', credentials_file: '/lab/prometheus/scrape-token' }],
        ['tenantlab-vms-tenant-a', { type: 'Bearer', credentials_file: '/lab/prometheus/vm-scrape-token-tenant-a' }],
        ['tenantlab-vms-tenant-b', { type: 'Bearer', credentials_file: '/lab/prometheus/vm-scrape-token-tenant-b' }],
      ],
    );
    for (const job of config.scrape_configs) {
      assert.equal(job.scrape_interval, undefined, `${job.job_name} keeps the global interval`);
    }
    assert.equal(config.global.scrape_interval, '5s', 'every target scraped every 5 s (README)');
  });

  it("scrapes no OTLP relay (it has no /metrics), only a local lab's services and VMs", () => {
    const plan = withTraceRelay(planLab(definition, '/repo', infra, 100), {
      repoRoot: '/repo',
      portOffset: 100,
      jaegerOtlpHttp: infra.otlpHttp,
      ingestPassword: 'i'.repeat(64),
      vmKey: 'k'.repeat(64),
    });
    assert.ok(plan.some((spec) => spec.kind === 'relay'));
    assert.deepEqual(
      localScrapeTargets(plan).map((target) => target.component),
      ['operator', 'switch', 'allocator', 'telemetry', 'vm-a1', 'vm-b1', 'vm-b2'],
    );
  });

  it('refuses a VM whose tenant has no credentials file', () => {
    assert.throws(
      () =>
        prometheusConfig(
          [{ component: 'vm-c1', kind: 'vm', tenant: 'tenant-c', address: '127.0.0.1:3201' }],
          scrapeCredentialsFiles('/lab/prometheus', TENANTS),
        ),
      /tenant tenant-c/,
    );
  });

  it("gives each service the services' token's sha256 and each VM its own tenant's, never a token", () => {
    const tokens = { service: 'f'.repeat(64), tenants: { 'tenant-a': 'e'.repeat(64), 'tenant-b': 'd'.repeat(64) } };
    const specs = withMetricsTokenHash(planLab(definition, '/repo', infra, 0), tokens);
    assert.equal(specs.length, 7);
    assert.deepEqual(
      specs.map((spec) => [spec.name, spec.env['METRICS_TOKEN_SHA256']]),
      [
        ['operator', metricsTokenSha256(tokens.service)],
        ['switch', metricsTokenSha256(tokens.service)],
        ['allocator', metricsTokenSha256(tokens.service)],
        ['telemetry', metricsTokenSha256(tokens.service)],
        ['vm-a1', metricsTokenSha256(tokens.tenants['tenant-a'])],
        ['vm-b1', metricsTokenSha256(tokens.tenants['tenant-b'])],
        ['vm-b2', metricsTokenSha256(tokens.tenants['tenant-b'])],
      ],
    );
    for (const spec of specs) {
      for (const token of [tokens.service, ...Object.values(tokens.tenants)]) {
        assert.ok(!Object.values(spec.env).includes(token), `${spec.name} holds no token`);
      }
    }
    assert.throws(
      () => withMetricsTokenHash(planLab(definition, '/repo', infra, 0), { ...tokens, tenants: {} }),
      /vm-a1's tenant tenant-a/,
      'a VM whose tenant has no token is refused, not left without a hash',
    );
  });
});

describe("a lab's Prometheus secrets", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'prometheus-secrets-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("are owner-only lab secrets, all different: the services' scrape token, one per tenant, the web password", () => {
    const tokens = ensureMetricsScrapeTokens(dataDir, TENANTS);
    const password = ensurePrometheusWebPassword(dataDir, TENANTS);
    assert.equal(readLabSecret(dataDir, METRICS_SCRAPE_TOKEN), tokens.service);
    assert.deepEqual(Object.keys(tokens.tenants), TENANTS);
    for (const tenant of TENANTS) {
      assert.equal(readLabSecret(dataDir, `metrics-vm-scrape-token-${tenant}`), tokens.tenants[tenant]);
      assert.equal(statSync(join(dataDir, metricsVmScrapeTokenName(tenant))).mode & 0o777, 0o600);
    }
    assert.equal(readLabSecret(dataDir, PROMETHEUS_WEB_PASSWORD), password);
    assert.equal(new Set([tokens.service, ...Object.values(tokens.tenants), password]).size, 4);
    assert.deepEqual(ensureMetricsScrapeTokens(dataDir, TENANTS), tokens, 'kept for the next start');
    assert.deepEqual(readPrometheusSecrets(dataDir, TENANTS), { tokens, webPassword: password }, 'read back as made');
  });

  it('are read as empty where a lab made none, and reading makes none', () => {
    const empty = mkdtempSync(join(tmpdir(), 'prometheus-none-'));
    try {
      assert.deepEqual(readPrometheusSecrets(empty, ['tenant-a']), {
        tokens: { service: '', tenants: { 'tenant-a': '' } },
        webPassword: '',
      });
      assert.equal(readLabSecret(empty, METRICS_SCRAPE_TOKEN), undefined);
      assert.equal(readLabSecret(empty, metricsVmScrapeTokenName('tenant-a')), undefined);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('are refused when two are equal (a copied file), naming the files, never a secret', () => {
    const { service, tenants } = ensureMetricsScrapeTokens(dataDir, TENANTS);
    const tenantA = tenants['tenant-a'] ?? '';
    writeFileSync(join(dataDir, PROMETHEUS_WEB_PASSWORD), `${service}\n`, { mode: 0o600 });
    assert.throws(
      () => ensurePrometheusWebPassword(dataDir, TENANTS),
      (error: Error) =>
        error.message.includes(`${METRICS_SCRAPE_TOKEN} and ${PROMETHEUS_WEB_PASSWORD}`) &&
        !error.message.includes(service),
    );
    // One tenant's token copied over another's would let each tenant's VMs read the other's.
    writeFileSync(join(dataDir, metricsVmScrapeTokenName('tenant-b')), `${tenantA}\n`, { mode: 0o600 });
    assert.throws(
      () => ensureMetricsScrapeTokens(dataDir, TENANTS),
      (error: Error) =>
        error.message.includes('metrics-vm-scrape-token-tenant-a and metrics-vm-scrape-token-tenant-b') &&
        error.message.includes('are equal') &&
        !error.message.includes(tenantA),
    );
    writeFileSync(join(dataDir, metricsVmScrapeTokenName('tenant-b')), `${service}\n`, { mode: 0o600 });
    assert.throws(() => ensureMetricsScrapeTokens(dataDir, TENANTS), /metrics-scrape-token and metrics-vm-scrape/);
  });

  it('are one per tenant in a 64-tenant lab (a scenario), all different, made once and kept', () => {
    const many = mkdtempSync(join(tmpdir(), 'prometheus-64-'));
    try {
      const tenants = Array.from({ length: 64 }, (_, index) => `t${index}`);
      const made = ensurePrometheusWebPassword(many, tenants);
      const again = ensurePrometheusWebPassword(many, tenants);
      assert.equal(again, made);
      assert.equal(new Set(Object.values(ensureMetricsScrapeTokens(many, tenants).tenants)).size, 64);
    } finally {
      rmSync(many, { recursive: true, force: true });
    }
  });
});
