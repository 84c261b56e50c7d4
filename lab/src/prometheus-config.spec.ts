import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricsTokenSha256 } from '@tenantlab/shared';
import { planLab } from './lab-plan';
import { prometheusConfig, withMetricsTokenHash } from './prometheus-config';

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
  it('scrapes every service and every VM of the lab, with the token from a file', () => {
    const specs = planLab(definition, '/repo', infra, 100);
    const config = JSON.parse(
      prometheusConfig(
        specs.map((spec) => ({ component: spec.name, kind: spec.kind, address: `127.0.0.1:${spec.port}` })),
        '/lab/prometheus/scrape-token',
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
    for (const job of config.scrape_configs) {
      assert.deepEqual(job.authorization, { type: 'Bearer', credentials_file: '/lab/prometheus/scrape-token' });
      assert.equal(job.scrape_interval, undefined, `${job.job_name} keeps the global interval`);
    }
    assert.equal(config.global.scrape_interval, '5s', 'every target scraped every 5 s (README)');
  });

  it("gives every process the token's sha256, never the token", () => {
    const token = 'f'.repeat(64);
    const specs = withMetricsTokenHash(planLab(definition, '/repo', infra, 0), token);
    assert.equal(specs.length, 7);
    for (const spec of specs) {
      assert.equal(spec.env['METRICS_TOKEN_SHA256'], metricsTokenSha256(token), spec.name);
      assert.ok(!Object.values(spec.env).includes(token), `${spec.name} holds no token`);
    }
  });
});
