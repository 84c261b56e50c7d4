import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readLabDefinition } from '../lab-definition';
import {
  ensureMetricsScrapeTokens,
  ensurePrometheusWebPassword,
  metricsScrapeTokenFiles,
  prometheusWebPasswordFile,
} from '../prometheus-config';
import { composeProject, renderComposeFile } from './compose-file';
import { dockerComponents } from './docker-lab';
import { dockerScrapeTargets, withPrometheus, writeDockerPrometheusFiles } from './prometheus-service';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const definition = readLabDefinition(path.join(REPO_ROOT, 'labs/default.json'));
const TENANTS = definition.tenants.map((tenant) => tenant.id);

interface ScrapeConfig {
  scrape_configs: {
    job_name: string;
    authorization: { credentials_file: string };
    static_configs: { targets: string[]; labels: { component: string } }[];
  }[];
}

describe('Prometheus in a Docker lab (`lab up --prometheus --mode docker`)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'prometheus-service-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is not in the default lab: no container, no status row, no secret', () => {
    const project = composeProject(definition, 0);
    assert.equal(project.services['prometheus'], undefined);
    assert.ok(!Object.keys(project.secrets).some((name) => name.includes('metrics')), 'no metrics token secret');
    assert.ok(!dockerComponents({ definition, portOffset: 0 }).some((c) => c.name === 'prometheus'));
  });

  it("scrapes every service and VM of the lab file at its container's name and port, a job per tenant's VMs, each job's token from a file", () => {
    const project = composeProject(definition, 20_000);
    const components = dockerComponents({ definition, portOffset: 20_000, prometheus: true });
    assert.deepEqual(components.find((c) => c.name === 'prometheus')?.url, 'http://127.0.0.1:29090');
    const tokens = ensureMetricsScrapeTokens(dataDir, TENANTS);
    const password = ensurePrometheusWebPassword(dataDir, TENANTS);
    const dir = writeDockerPrometheusFiles(dataDir, dockerScrapeTargets(project, components), password, TENANTS);
    const configText = readFileSync(path.join(dir, 'prometheus.yml'), 'utf8');
    const config = JSON.parse(configText) as ScrapeConfig;
    const targets = config.scrape_configs.flatMap((job) =>
      job.static_configs.map((c) => `${job.job_name} ${c.labels.component}@${c.targets.join(',')}`),
    );
    assert.deepEqual(targets, [
      'tenantlab-services operator@operator:3000',
      'tenantlab-services switch@switch:3001',
      'tenantlab-services allocator@allocator:3002',
      'tenantlab-services telemetry@telemetry:3003',
      'tenantlab-vms-tenant-a vm-a1@vm-a1:3100',
      'tenantlab-vms-tenant-a vm-a2@vm-a2:3100',
      'tenantlab-vms-tenant-b vm-b1@vm-b1:3100',
      'tenantlab-vms-tenant-b vm-b2@vm-b2:3100',
    ]);
    // The copies docker/prometheus-entrypoint.sh makes of the mounted secrets (the name without `metrics-`).
    assert.deepEqual(
      config.scrape_configs.map((job) => `${job.job_name} ${job.authorization.credentials_file}`),
      [
        'tenantlab-services /run/prometheus/scrape-token',
        'tenantlab-vms-tenant-a /run/prometheus/vm-scrape-token-tenant-a',
        'tenantlab-vms-tenant-b /run/prometheus/vm-scrape-token-tenant-b',
      ],
    );
    const webConfig = path.join(dir, 'web.yml');
    assert.match(readFileSync(webConfig, 'utf8'), /"tenantlab": "\$2[aby]\$10\$/, 'basic auth with a bcrypt hash');
    assert.equal(statSync(webConfig).mode & 0o777, 0o600);
    for (const file of [configText, readFileSync(webConfig, 'utf8')]) {
      for (const secret of [tokens.service, ...Object.values(tokens.tenants), password]) {
        assert.ok(!file.includes(secret));
      }
    }
  });

  it('runs on both networks, published on 127.0.0.1 only, its tokens and password Compose secrets and nowhere else', () => {
    const tokens = ensureMetricsScrapeTokens(dataDir, TENANTS);
    const password = ensurePrometheusWebPassword(dataDir, TENANTS);
    const configDir = path.join(dataDir, 'prometheus', 'container');
    const project = withPrometheus(composeProject(definition, 20_000), {
      portOffset: 20_000,
      configDir,
      dataDir,
      tenants: TENANTS,
    });
    const prometheus = project.services['prometheus'];
    assert.ok(prometheus);
    assert.deepEqual(prometheus.networks, ['core', 'tenant-vms']);
    assert.deepEqual(prometheus.ports, ['127.0.0.1:29090:9090']);
    assert.deepEqual(prometheus.secrets, [
      'metrics-scrape-token',
      'metrics-vm-scrape-token-tenant-a',
      'metrics-vm-scrape-token-tenant-b',
      'prometheus-web-password',
    ]);
    const base = composeProject(definition, 20_000);
    assert.deepEqual(project.secrets, {
      ...base.secrets,
      'metrics-scrape-token': { file: metricsScrapeTokenFiles(dataDir, TENANTS).service },
      'metrics-vm-scrape-token-tenant-a': { file: path.join(dataDir, 'metrics-vm-scrape-token-tenant-a') },
      'metrics-vm-scrape-token-tenant-b': { file: path.join(dataDir, 'metrics-vm-scrape-token-tenant-b') },
      'prometheus-web-password': { file: prometheusWebPasswordFile(dataDir) },
    });
    assert.deepEqual(prometheus.volumes, [`${configDir}:/etc/tenantlab/prometheus:ro`]);
    assert.ok('test' in prometheus.healthcheck && prometheus.healthcheck.test.length > 0);
    assert.ok(prometheus.mem_limit);
    assert.ok(prometheus.command?.includes('--storage.tsdb.retention.time=2h'), 'its TSDB kept two hours (README)');
    // The rest of the lab is as it was.
    assert.deepEqual(
      Object.keys(project.services).filter((name) => name !== 'prometheus'),
      Object.keys(composeProject(definition, 20_000).services),
    );
    for (const secret of [tokens.service, ...Object.values(tokens.tenants), password]) {
      assert.ok(!renderComposeFile(project).includes(secret), 'the compose file names the secret files, not secrets');
    }
  });
});
