import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { metricsTokenSha256 } from '@tenantlab/shared';
import { planLab } from './lab-plan';
import { readLabSecret } from './lab-secrets';
import {
  ensureMetricsScrapeTokens,
  ensurePrometheusWebPassword,
  METRICS_SCRAPE_TOKEN,
  METRICS_VM_SCRAPE_TOKEN,
  PROMETHEUS_WEB_PASSWORD,
  prometheusConfig,
  readPrometheusSecrets,
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

describe('Prometheus configuration from the lab file', () => {
  it("scrapes every service and every VM of the lab, each job with its own token's file", () => {
    const specs = planLab(definition, '/repo', infra, 100);
    const config = JSON.parse(
      prometheusConfig(
        specs.map((spec) => ({ component: spec.name, kind: spec.kind, address: `127.0.0.1:${spec.port}` })),
        { service: '/lab/prometheus/scrape-token', vm: '/lab/prometheus/vm-scrape-token' },
      ),
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
    const targets = (job: string): string[] =>
      jobs[job].static_configs.map((c) => `${c.labels.component}@${c.targets.join(',')}`);
    assert.deepEqual(targets('tenantlab-services'), [
      'operator@127.0.0.1:3100',
      'switch@127.0.0.1:3101',
      'allocator@127.0.0.1:3102',
      'telemetry@127.0.0.1:3103',
    ]);
    assert.deepEqual(targets('tenantlab-vms'), [
      'vm-a1@127.0.0.1:3201',
      'vm-b1@127.0.0.1:3202',
      'vm-b2@127.0.0.1:3203',
    ]);
    assert.deepEqual(jobs['tenantlab-services'].authorization, {
      type: 'Bearer',
      credentials_file: '/lab/prometheus/scrape-token',
    });
    // What a VM is sent on every scrape is the VMs' token alone.
    assert.deepEqual(jobs['tenantlab-vms'].authorization, {
      type: 'Bearer',
      credentials_file: '/lab/prometheus/vm-scrape-token',
    });
    for (const job of config.scrape_configs) {
      assert.equal(job.scrape_interval, undefined, `${job.job_name} keeps the global interval`);
    }
    assert.equal(config.global.scrape_interval, '5s', 'every target scraped every 5 s (README)');
  });

  it("gives each service the services' token's sha256 and each VM the VMs', never a token", () => {
    const tokens = { service: 'f'.repeat(64), vm: 'e'.repeat(64) };
    const specs = withMetricsTokenHash(planLab(definition, '/repo', infra, 0), tokens);
    assert.equal(specs.length, 7);
    for (const spec of specs) {
      assert.equal(spec.env['METRICS_TOKEN_SHA256'], metricsTokenSha256(tokens[spec.kind]), spec.name);
      for (const token of Object.values(tokens)) {
        assert.ok(!Object.values(spec.env).includes(token), `${spec.name} holds no token`);
      }
    }
    assert.deepEqual(
      specs.filter((spec) => spec.env['METRICS_TOKEN_SHA256'] === metricsTokenSha256(tokens.vm)).map((s) => s.name),
      ['vm-a1', 'vm-b1', 'vm-b2'],
    );
  });
});

describe("a lab's Prometheus secrets", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'prometheus-secrets-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("are three owner-only lab secrets, all different: the services' and VMs' scrape tokens, the web password", () => {
    const tokens = ensureMetricsScrapeTokens(dataDir);
    const password = ensurePrometheusWebPassword(dataDir);
    assert.equal(readLabSecret(dataDir, METRICS_SCRAPE_TOKEN), tokens.service);
    assert.equal(readLabSecret(dataDir, METRICS_VM_SCRAPE_TOKEN), tokens.vm);
    assert.equal(readLabSecret(dataDir, PROMETHEUS_WEB_PASSWORD), password);
    assert.equal(new Set([tokens.service, tokens.vm, password]).size, 3);
    assert.deepEqual(ensureMetricsScrapeTokens(dataDir), tokens, 'kept for the next start');
    assert.deepEqual(readPrometheusSecrets(dataDir), { tokens, webPassword: password }, 'read back as made');
  });

  it('are read as empty where a lab made none, and reading makes none', () => {
    const empty = mkdtempSync(join(tmpdir(), 'prometheus-none-'));
    try {
      assert.deepEqual(readPrometheusSecrets(empty), { tokens: { service: '', vm: '' }, webPassword: '' });
      assert.equal(readLabSecret(empty, METRICS_SCRAPE_TOKEN), undefined);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('are refused when two are equal (a copied file), naming the files, never a secret', () => {
    const service = ensureMetricsScrapeTokens(dataDir).service;
    writeFileSync(join(dataDir, PROMETHEUS_WEB_PASSWORD), `${service}\n`, { mode: 0o600 });
    assert.throws(
      () => ensurePrometheusWebPassword(dataDir),
      (error: Error) => error.message.includes(PROMETHEUS_WEB_PASSWORD) && !error.message.includes(service),
    );
    writeFileSync(join(dataDir, METRICS_VM_SCRAPE_TOKEN), `${service}\n`, { mode: 0o600 });
    assert.throws(() => ensureMetricsScrapeTokens(dataDir), /are equal/);
  });
});
