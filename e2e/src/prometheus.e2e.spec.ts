import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  installPrometheus,
  labDataDir,
  type LabState,
  type PerScrapeJob,
  prometheusAuthHeaders,
  readLabSecret,
  readPrometheusSecrets,
  type TestLab,
} from '@tenantlab/lab';
import { requestJson, withoutCredentials } from '@tenantlab/shared';
import { E2E_PROFILE, eventually, REPO_ROOT, startE2eLab, urlOf } from './lab-process';

/** What each component's /metrics must carry beyond the runtime's own: metric name, labels, and a check of its value. */
type Expectation = readonly [name: string, labels: Record<string, string>, check: (value: number) => boolean];

const FRAMES = 200;
const atLeast =
  (n: number) =>
  (value: number): boolean =>
    value >= n;
const RUNTIME: Expectation[] = [
  ['process_cpu_seconds_total', {}, atLeast(0)],
  ['nodejs_eventloop_lag_seconds', {}, atLeast(0)],
  ['nodejs_heap_size_used_bytes', {}, atLeast(1)],
];
const EXPECTED: Record<string, Expectation[]> = {
  switch: [
    ['tenantlab_switch_received_frames_total', { tenant: 'tenant-a' }, atLeast(FRAMES)],
    ['tenantlab_switch_delivered_bytes_total', { tenant: 'tenant-a' }, atLeast(FRAMES * 128)],
    ['tenantlab_switch_flow_cache_hits_total', {}, atLeast(1)],
    ['tenantlab_switch_ports', { tenant: 'tenant-b' }, (value) => value === 2],
    // No program runs in this lab, so nothing waits for CPU: the series are there, at 0.
    ['tenantlab_switch_cpu_budget_waited_frames_total', { tenant: 'tenant-a' }, (value) => value === 0],
    ['tenantlab_switch_cpu_budget_waiting_frames', { tenant: 'tenant-a' }, (value) => value === 0],
  ],
  allocator: [['tenantlab_allocator_register_free_bytes', { stage: '0' }, atLeast(8)]],
  telemetry: [
    ['tenantlab_telemetry_consumer_lag_messages', { topic: 'components.status', partition: '0' }, atLeast(0)],
  ],
  'vm-a1': [
    ['tenantlab_vm_vnic_sent_frames_total', { tenant: 'tenant-a', vm: 'vm-a1' }, atLeast(FRAMES)],
    ['tenantlab_vm_circuit_sent_bytes_total', { tenant: 'tenant-a', vm: 'vm-a1' }, atLeast(64)],
  ],
  'vm-a2': [
    ['tenantlab_vm_vnic_received_frames_total', { tenant: 'tenant-a', vm: 'vm-a2' }, atLeast(FRAMES)],
    ['tenantlab_vm_circuit_received_bytes_total', { tenant: 'tenant-a', vm: 'vm-a2' }, atLeast(64)],
  ],
  'vm-b1': [['tenantlab_vm_vnic_send_waits_total', { tenant: 'tenant-b', vm: 'vm-b1' }, atLeast(0)]],
  'vm-b2': [['tenantlab_vm_circuits', { tenant: 'tenant-b', vm: 'vm-b2' }, atLeast(0)]],
};

/**
 * Every metric the README's metrics table names, by the component that serves it, with its type: declared (`# TYPE`)
 * even where this lab's traffic gives it no series (no drops, no program, no trace yet).
 */
const DECLARED: Record<string, [name: string, type: 'counter' | 'gauge'][]> = {
  switch: [
    ['tenantlab_switch_received_frames_total', 'counter'],
    ['tenantlab_switch_received_bytes_total', 'counter'],
    ['tenantlab_switch_delivered_frames_total', 'counter'],
    ['tenantlab_switch_delivered_bytes_total', 'counter'],
    ['tenantlab_switch_dropped_frames_total', 'counter'],
    ['tenantlab_switch_flow_cache_hits_total', 'counter'],
    ['tenantlab_switch_flow_cache_misses_total', 'counter'],
    ['tenantlab_switch_flow_cache_evictions_total', 'counter'],
    ['tenantlab_switch_flow_cache_flows', 'gauge'],
    ['tenantlab_switch_cpu_budget_waiting_frames', 'gauge'],
    ['tenantlab_switch_cpu_budget_waited_frames_total', 'counter'],
    ['tenantlab_switch_program_cpu_seconds_total', 'counter'],
    ['tenantlab_switch_ports', 'gauge'],
  ],
  operator: [
    ['tenantlab_operator_circuits', 'gauge'],
    ['tenantlab_operator_circuit_ring_bytes', 'gauge'],
  ],
  allocator: [
    ['tenantlab_allocator_register_free_bytes', 'gauge'],
    ['tenantlab_allocator_register_used_bytes', 'gauge'],
    ['tenantlab_allocator_decisions_total', 'counter'],
  ],
  telemetry: [
    ['tenantlab_telemetry_consumer_lag_messages', 'gauge'],
    ['tenantlab_telemetry_traces_total', 'counter'],
  ],
  'vm-a1': [
    ['tenantlab_vm_vnic_sent_frames_total', 'counter'],
    ['tenantlab_vm_vnic_sent_bytes_total', 'counter'],
    ['tenantlab_vm_vnic_received_frames_total', 'counter'],
    ['tenantlab_vm_vnic_received_bytes_total', 'counter'],
    ['tenantlab_vm_vnic_send_waits_total', 'counter'],
    ['tenantlab_vm_circuit_sent_bytes_total', 'counter'],
    ['tenantlab_vm_circuit_received_bytes_total', 'counter'],
    ['tenantlab_vm_circuits', 'gauge'],
  ],
};

/** The default lab's VMs' tenants: each VM's scrape job is its tenant's, its token that tenant's. */
const TENANT_OF: Record<string, string> = {
  'vm-a1': 'tenant-a',
  'vm-a2': 'tenant-a',
  'vm-b1': 'tenant-b',
  'vm-b2': 'tenant-b',
};
const TENANTS = ['tenant-a', 'tenant-b'];

/** The value of the series `name{labels}` in Prometheus's text format, or undefined when it is not there. */
function valueOf(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/**
 * The lab with its Prometheus (`lab up --prometheus`): every service's and VM's /metrics passes `promtool check
 * metrics` (Debian's prometheus package, installed as the lab installs it) and carries its domain's series, only a
 * scraper with the lab's scrape token of its job (the services', a VM's own tenant's) may read them, and the Prometheus
 * the lab started scrapes every one of them, each tenant's VMs in their own job.
 */
describe('metrics: /metrics on every service and the lab-started Prometheus', () => {
  let lab: TestLab;
  let state: LabState;
  /** The scrape tokens (the services', each tenant's VMs') and the Prometheus web password. */
  let tokens: PerScrapeJob<string>;
  let webPassword: string;
  let promtool: string;
  let scraped: ScrapeTarget[];

  interface ScrapeTarget {
    name: string;
    kind: 'service' | 'vm';
    url: string;
  }
  const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
  /** The token Prometheus scrapes `target` with: the services', or its own tenant's. */
  const tokenOf = (target: ScrapeTarget): string =>
    target.kind === 'service' ? tokens.service : (tokens.tenants[TENANT_OF[target.name] ?? ''] ?? '');
  /** Every other scrape token of the lab than `target`'s own (the services' and every tenant's), by whose it is. */
  const otherTokensOf = (target: ScrapeTarget): [whose: string, token: string][] =>
    [
      ["the services'", tokens.service] as [string, string],
      ...Object.entries(tokens.tenants).map(([tenant, token]): [string, string] => [`${tenant}'s`, token]),
    ].filter(([, token]) => token !== tokenOf(target));

  const scrape = (url: string, authorization?: string): Promise<Response> =>
    // fetch takes no user info: a VM's control URL is not what a scraper uses.
    fetch(`${withoutCredentials(url)}/metrics`, {
      headers: authorization ? { authorization } : {},
      signal: AbortSignal.timeout(10_000),
    });

  before(async () => {
    promtool = (await installPrometheus()).promtool;
    lab = await startE2eLab({ prometheus: true });
    state = lab.state;
    const dataDir = labDataDir(REPO_ROOT, E2E_PROFILE);
    ({ tokens, webPassword } = readPrometheusSecrets(dataDir, TENANTS));
    const secrets = [tokens.service, ...Object.values(tokens.tenants), webPassword];
    for (const secret of secrets) {
      assert.match(secret, /^[0-9a-f]{64}$/, 'the lab made its scrape tokens and Prometheus password');
    }
    assert.equal(new Set(secrets).size, 4, "four different secrets: the services' token, two tenants', the password");
    scraped = state.components.flatMap((component) =>
      component.kind === 'service' || component.kind === 'vm'
        ? [{ name: component.name, kind: component.kind, url: component.url }]
        : [],
    );
    // Traffic to count: frames over the packet path, and a circuit (open while the echo listener holds it).
    const sent = await requestJson<{ sent: number }>(
      'POST',
      `${urlOf(state, 'vm-a1')}/traffic/generate`,
      { to: ['vm-a2'], protocol: 'udp', count: FRAMES, size: 128 },
      30_000,
    );
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal((await lab.clients.vms['vm-a2'].echo('echo')).status, 201);
    const echoed = await lab.clients.vms['vm-a1'].send({ target: 'vm-a2/echo', mode: 'stream', count: 10, size: 64 });
    assert.equal(echoed.status, 201, JSON.stringify(echoed.body));
  });

  after(async () => {
    await lab?.stop();
  });

  it('serves /metrics on every service and VM that promtool check metrics passes, with its domain series', async () => {
    assert.deepEqual(
      scraped.map((target) => target.name),
      ['operator', 'switch', 'allocator', 'telemetry', 'vm-a1', 'vm-a2', 'vm-b1', 'vm-b2'],
    );
    for (const target of scraped) {
      const expectations = [...RUNTIME, ...(EXPECTED[target.name] ?? [])];
      // Counters a scrape reads may trail the traffic by a moment (frames still in flight to the receiver).
      const text = await eventually(`${target.name}'s /metrics to show its series`, 20_000, async () => {
        const response = await scrape(target.url, `Bearer ${tokenOf(target)}`);
        assert.equal(response.status, 200, `${target.name}: ${response.status}`);
        const type = response.headers.get('content-type') ?? '';
        assert.ok(type.startsWith('text/plain') && type.includes('version=0.0.4'), `${target.name}: ${type}`);
        const body = await response.text();
        const missing = expectations.filter(([name, labels, check]) => {
          const value = valueOf(body, name, labels);
          return value === undefined || !check(value);
        });
        return missing.length === 0 ? body : undefined;
      });
      // Gauges of what is open now (the echo circuit may have closed) and counters of what did not happen here: declared.
      for (const [name, type] of DECLARED[target.name] ?? []) {
        assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), `${target.name} declares ${name} a ${type}`);
      }
      const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(check.status, 0, `promtool check metrics on ${target.name}: ${check.stdout}${check.stderr}`);
    }
  });

  it("refuses a scrape without its job's metrics token (401) and with any other credential (403), another tenant's token too", async () => {
    const adminToken = readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), 'service-token-admin') ?? '';
    for (const target of scraped) {
      const none = await scrape(target.url);
      assert.equal(none.status, 401, `${target.name} without a token`);
      assert.match(await none.text(), /metrics scrape token/);
      // The admin token opens the services' APIs, not their metrics; nor does the hash a process is given, nor any
      // other job's token (a VM sees its tenant's on every scrape: it opens no service, no other tenant's VM), nor
      // Prometheus's password.
      for (const wrong of [adminToken, sha256(tokenOf(target)), webPassword]) {
        assert.equal((await scrape(target.url, `Bearer ${wrong}`)).status, 403, `${target.name} with another token`);
      }
      const others = otherTokensOf(target);
      assert.equal(others.length, 2, `${target.name}: two other scrape tokens`);
      for (const [whose, wrong] of others) {
        assert.equal((await scrape(target.url, `Bearer ${wrong}`)).status, 403, `${target.name} with ${whose} token`);
      }
    }
  });

  it(
    "gives each service the services' token's sha256 and each VM its own tenant's, no process a token, and prints none",
    { skip: process.platform !== 'linux' && 'reads /proc/<pid>/environ' },
    () => {
      const secrets = [tokens.service, ...Object.values(tokens.tenants), webPassword];
      for (const component of scraped) {
        const pid = state.components.find((c) => c.name === component.name)?.pid;
        const environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        const hash = sha256(tokenOf(component));
        assert.ok(environment.includes(`METRICS_TOKEN_SHA256=${hash}`), `${component.name} holds its job's hash`);
        for (const secret of secrets) {
          assert.ok(!environment.some((variable) => variable.includes(secret)), `${component.name} holds a secret`);
        }
      }
      const prometheus = state.components.find((c) => c.name === 'prometheus');
      assert.ok(prometheus, 'the lab state lists Prometheus');
      const command = readFileSync(`/proc/${prometheus.pid}/cmdline`, 'utf8');
      assert.match(command, /--web\.listen-address=127\.0\.0\.1:/);
      for (const secret of secrets) {
        assert.ok(!command.includes(secret), "no secret is on Prometheus's command line");
        assert.ok(!(lab.runner?.output.join('') ?? '').includes(secret), 'lab up printed a secret');
      }
    },
  );

  it("runs a Prometheus on 127.0.0.1 that scrapes every service and VM of the lab file, all up, a job per tenant's VMs", async () => {
    const prometheus = urlOf(state, 'prometheus');
    assert.match(prometheus, /^http:\/\/127\.0\.0\.1:\d+$/);
    interface Target {
      labels: { component: string; job: string };
      health: string;
      lastError: string;
    }
    const targets = await eventually('every Prometheus target to be up', 60_000, async () => {
      const { status, body } = await requestJson<{ data: { activeTargets: Target[] } }>(
        'GET',
        `${prometheus}/api/v1/targets?state=active`,
        undefined,
        5000,
        prometheusAuthHeaders(webPassword),
      );
      assert.equal(status, 200);
      const active = body.data.activeTargets;
      return active.length === scraped.length && active.every((t) => t.health === 'up') ? active : undefined;
    });
    const jobOf = (target: ScrapeTarget): string =>
      target.kind === 'service' ? 'tenantlab-services' : `tenantlab-vms-${TENANT_OF[target.name]}`;
    assert.deepEqual(
      targets.map((t) => `${t.labels.job} ${t.labels.component}`).sort(),
      scraped.map((t) => `${jobOf(t)} ${t.name}`).sort(),
      "one target per service (services' job) and VM (its tenant's job)",
    );
    assert.deepEqual([...new Set(targets.map((t) => t.labels.job))].sort(), [
      'tenantlab-services',
      'tenantlab-vms-tenant-a',
      'tenantlab-vms-tenant-b',
    ]);
    // Its API shows every tenant's series: it refuses callers without its password, and the scrape tokens.
    const anonymous = await fetch(`${prometheus}/api/v1/targets`, { signal: AbortSignal.timeout(5000) });
    assert.equal(anonymous.status, 401);
    for (const token of [tokens.service, ...Object.values(tokens.tenants)]) {
      const withToken = await fetch(`${prometheus}/api/v1/targets`, {
        headers: prometheusAuthHeaders(token),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(withToken.status, 401, 'a scrape token as the password');
    }
    // The tokens reach it through credentials files: never in its configuration.
    const config = readFileSync(join(labDataDir(REPO_ROOT, E2E_PROFILE), 'prometheus', 'prometheus.yml'), 'utf8');
    assert.ok(config.includes('credentials_file'), 'the config names files');
    for (const token of [tokens.service, ...Object.values(tokens.tenants)]) {
      assert.ok(!config.includes(token), 'the config holds no token');
    }
  });
});
