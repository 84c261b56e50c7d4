import path from 'node:path';
import { metricsTokenSha256 } from '@tenantlab/shared';
import { ensureLabSecret, labSecretFile, readLabSecret } from './lab-secrets';

/** Prometheus's port in a lab: 9090 (its own default), moved by the port offset like every other port. */
export const PROMETHEUS_PORT = 9090;

/** The lab secret Prometheus scrapes the services with; the services get only its sha256 (METRICS_TOKEN_SHA256). */
export const METRICS_SCRAPE_TOKEN = 'metrics-scrape-token';

/**
 * The lab secret Prometheus scrapes `tenant`'s VMs with; those VMs get only its sha256 (METRICS_TOKEN_SHA256), no other
 * process gets anything of it. A VM's /metrics handler is the tenant's own code and sees this token on every scrape:
 * so it opens only its own tenant's VMs' /metrics (the tenant's own counters), no other tenant's, no service's (they
 * check METRICS_SCRAPE_TOKEN) and not Prometheus (PROMETHEUS_WEB_PASSWORD).
 */
export function metricsVmScrapeTokenName(tenant: string): string {
  return `metrics-vm-scrape-token-${tenant}`;
}

/** The lab secret that is the password of Prometheus's web UI and API (user tenantlab): no scrape token. */
export const PROMETHEUS_WEB_PASSWORD = 'prometheus-web-password';

/** One value per scrape job: the services' job's and each tenant's VMs' job's, by tenant id. */
export interface PerScrapeJob<T> {
  service: T;
  tenants: Record<string, T>;
}

/** One scrape target: a service, or a VM with its tenant, by its component name, at `address` (host:port). */
export type ScrapeTarget = { component: string; address: string } & (
  { kind: 'service' } | { kind: 'vm'; tenant: string }
);

/**
 * What Prometheus scrapes of a local lab's plan: every service and every VM (under its tenant) at its port on
 * 127.0.0.1. The OTLP relay has no /metrics: what it refuses, the VMs' exporters see.
 */
export function localScrapeTargets(
  plan: readonly { name: string; kind: string; port: number; env: Record<string, string> }[],
): ScrapeTarget[] {
  return plan
    .filter((spec) => spec.kind !== 'relay')
    .map((spec): ScrapeTarget => {
      const address = `127.0.0.1:${spec.port}`;
      return spec.kind === 'vm'
        ? { component: spec.name, kind: 'vm', tenant: spec.env['TENANT_ID'] ?? '', address }
        : { component: spec.name, kind: 'service', address };
    });
}

/** How often Prometheus scrapes the lab: often enough that a test sees a target up within seconds. */
const SCRAPE_INTERVAL = '5s';

/** The scrape job of the services, and of one tenant's VMs: `up{job="tenantlab-vms-tenant-a"}`. */
export const SERVICES_SCRAPE_JOB = 'tenantlab-services';
export function vmsScrapeJob(tenant: string): string {
  return `tenantlab-vms-${tenant}`;
}

/**
 * Prometheus's configuration for a lab: one job for the services and one per tenant for its VMs (in the lab file's
 * order), every target from the lab file (through the lab's plan), each labelled with its `component` name. Each job's
 * scrapes carry its own token, from its file in `credentialsFiles` (`authorization: credentials_file`: no token is in
 * the configuration): what a VM sees scraped opens no service and no other tenant's VM. JSON, which YAML (Prometheus's
 * format) includes.
 */
export function prometheusConfig(targets: readonly ScrapeTarget[], credentialsFiles: PerScrapeJob<string>): string {
  const job = (name: string, credentialsFile: string, members: readonly ScrapeTarget[]): object => ({
    job_name: name,
    metrics_path: '/metrics',
    authorization: { type: 'Bearer', credentials_file: credentialsFile },
    static_configs: members.map((target) => ({ targets: [target.address], labels: { component: target.component } })),
  });
  const vmsByTenant = new Map<string, ScrapeTarget[]>();
  for (const target of targets) {
    if (target.kind !== 'vm') continue;
    const vms = vmsByTenant.get(target.tenant) ?? [];
    vms.push(target);
    vmsByTenant.set(target.tenant, vms);
  }
  const tenantJobs = [...vmsByTenant].map(([tenant, vms]) => {
    const file = credentialsFiles.tenants[tenant];
    if (!file) throw new Error(`no scrape credentials file for tenant ${tenant}, whose VMs Prometheus scrapes`);
    return job(vmsScrapeJob(tenant), file, vms);
  });
  const services = targets.filter((target) => target.kind === 'service');
  const config = {
    global: { scrape_interval: SCRAPE_INTERVAL, scrape_timeout: '4s', evaluation_interval: '15s' },
    scrape_configs: [job(SERVICES_SCRAPE_JOB, credentialsFiles.service, services), ...tenantJobs],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Where Prometheus reads each job's token in `dir` (its owner-only copies): `scrape-token` for the services,
 * `vm-scrape-token-<tenant>` for each tenant's VMs. Local mode's dir is `.lab/<profile>/prometheus/`; the container's
 * is `/run/prometheus/` (docker/prometheus-entrypoint.sh makes the copies there).
 */
export function scrapeCredentialsFiles(dir: string, tenants: readonly string[]): PerScrapeJob<string> {
  // Each copy is named as the entrypoint names it: the lab secret's name less its `metrics-` prefix.
  const copyOf = (secret: string): string => path.posix.join(dir, secret.replace(/^metrics-/, ''));
  return {
    service: copyOf(METRICS_SCRAPE_TOKEN),
    tenants: Object.fromEntries(tenants.map((tenant) => [tenant, copyOf(metricsVmScrapeTokenName(tenant))])),
  };
}

/** The profile's services' metrics scrape token, created on first use (an owner-only lab secret). Never print it. */
export function ensureMetricsScrapeToken(dataDir: string): string {
  return ensureLabSecret(dataDir, METRICS_SCRAPE_TOKEN);
}

export function metricsScrapeTokenFile(dataDir: string): string {
  return labSecretFile(dataDir, METRICS_SCRAPE_TOKEN);
}

/**
 * The profile's scrape tokens, the services' and one per tenant of `tenants`, created on first use (owner-only lab
 * secrets), refused when two are equal.
 */
export function ensureMetricsScrapeTokens(dataDir: string, tenants: readonly string[]): PerScrapeJob<string> {
  const tokens = {
    service: ensureMetricsScrapeToken(dataDir),
    tenants: Object.fromEntries(
      tenants.map((tenant) => [tenant, ensureLabSecret(dataDir, metricsVmScrapeTokenName(tenant))]),
    ),
  };
  assertDistinctSecrets(dataDir, scrapeTokensByName(tokens));
  return tokens;
}

/** The lab secret files of the profile's scrape tokens (the services', each tenant's). */
export function metricsScrapeTokenFiles(dataDir: string, tenants: readonly string[]): PerScrapeJob<string> {
  return {
    service: metricsScrapeTokenFile(dataDir),
    tenants: Object.fromEntries(
      tenants.map((tenant) => [tenant, labSecretFile(dataDir, metricsVmScrapeTokenName(tenant))]),
    ),
  };
}

/**
 * The password of the profile's Prometheus web UI and API, created on first use (an owner-only lab secret). It must
 * be no scrape token: a VM sees its tenant's on every scrape, and a copied file must not make one open the other.
 */
export function ensurePrometheusWebPassword(dataDir: string, tenants: readonly string[]): string {
  const password = ensureLabSecret(dataDir, PROMETHEUS_WEB_PASSWORD);
  assertDistinctSecrets(dataDir, {
    ...scrapeTokensByName(ensureMetricsScrapeTokens(dataDir, tenants)),
    [PROMETHEUS_WEB_PASSWORD]: password,
  });
  return password;
}

export function prometheusWebPasswordFile(dataDir: string): string {
  return labSecretFile(dataDir, PROMETHEUS_WEB_PASSWORD);
}

/**
 * The profile's Prometheus secrets (the scrape tokens of the services and of each of `tenants`, the web password) as a
 * running lab made them ('' for one not there), without making any.
 */
export function readPrometheusSecrets(
  dataDir: string,
  tenants: readonly string[],
): { tokens: PerScrapeJob<string>; webPassword: string } {
  return {
    tokens: {
      service: readLabSecret(dataDir, METRICS_SCRAPE_TOKEN) ?? '',
      tenants: Object.fromEntries(
        tenants.map((tenant) => [tenant, readLabSecret(dataDir, metricsVmScrapeTokenName(tenant)) ?? '']),
      ),
    },
    webPassword: readLabSecret(dataDir, PROMETHEUS_WEB_PASSWORD) ?? '',
  };
}

function scrapeTokensByName(tokens: PerScrapeJob<string>): Record<string, string> {
  return {
    [METRICS_SCRAPE_TOKEN]: tokens.service,
    ...Object.fromEntries(
      Object.entries(tokens.tenants).map(([tenant, token]) => [metricsVmScrapeTokenName(tenant), token]),
    ),
  };
}

/** Refuses lab secrets (by file name) of which two are equal, naming the files: never a value. */
function assertDistinctSecrets(dataDir: string, secrets: Record<string, string>): void {
  const byValue = new Map<string, string[]>();
  for (const [name, value] of Object.entries(secrets)) {
    const names = byValue.get(value) ?? [];
    names.push(name);
    byValue.set(value, names);
  }
  const equal = [...byValue.values()].filter((names) => names.length > 1);
  if (equal.length > 0) {
    throw new Error(
      `the lab secrets ${equal.map((names) => names.join(' and ')).join('; ')} in ${dataDir} are equal: each opens ` +
        'something the others must not. Delete them; the lab makes new ones.',
    );
  }
}

/**
 * Gives every planned process the sha256 of the scrape token of its job, never a token: the services the services'
 * token's, each tenant VM its own tenant's (its TENANT_ID). A VM sees its tenant's token on every scrape; no service
 * and no other tenant's VM takes it.
 */
export function withMetricsTokenHash<T extends { name: string; kind: string; env: Record<string, string> }>(
  specs: T[],
  tokens: PerScrapeJob<string>,
): T[] {
  return specs.map((spec) => {
    const token = spec.kind === 'vm' ? tokens.tenants[spec.env['TENANT_ID'] ?? ''] : tokens.service;
    if (!token)
      throw new Error(`no metrics scrape token for ${spec.name}'s tenant ${spec.env['TENANT_ID'] ?? '(none)'}`);
    return { ...spec, env: { ...spec.env, METRICS_TOKEN_SHA256: metricsTokenSha256(token) } };
  });
}
