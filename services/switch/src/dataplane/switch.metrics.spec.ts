import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { DataplaneService } from './dataplane.service';
import { SwitchMetrics } from './switch.metrics';

const traffic = (rxFrames: number) => ({ rxFrames, rxBytes: rxFrames * 100, txFrames: 0, txBytes: 0, drops: {} });

/** What SwitchMetrics reads of the data path, as a running switch would answer it: two tenants, A over its budget. */
function dataplane(waiting: Map<string, number>, waited: Map<string, number>): DataplaneService {
  const standIn = {
    pipeline: {
      counters: { snapshot: () => ({ ports: {}, tenants: { 'tenant-a': traffic(50), 'tenant-b': traffic(20) } }) },
      cacheStats: () => undefined,
      programCpuNs: () => ({ 'tenant-a': 2_500_000 }),
    },
    cpuWaiting: () => waiting,
    cpuWaitsTotal: () => waited,
    ports: () => [],
  };
  return standIn as unknown as DataplaneService;
}

async function render(waiting: Map<string, number>, waited: Map<string, number>): Promise<string> {
  const registry = new Registry();
  new SwitchMetrics(registry, dataplane(waiting, waited));
  return registry.metrics();
}

describe("the switch's CPU budget metrics", () => {
  it('counts the frames each tenant had to wait for CPU, and gauges its wait queue now, every tenant from 0', async () => {
    const text = await render(new Map([['tenant-a', 12]]), new Map([['tenant-a', 340]]));
    assert.match(text, /^# TYPE tenantlab_switch_cpu_budget_waited_frames_total counter$/m);
    assert.match(text, /^# HELP tenantlab_switch_cpu_budget_waited_frames_total \S.*$/m);
    assert.match(text, /^tenantlab_switch_cpu_budget_waited_frames_total\{tenant="tenant-a"\} 340$/m);
    assert.match(text, /^tenantlab_switch_cpu_budget_waited_frames_total\{tenant="tenant-b"\} 0$/m);
    assert.match(text, /^# TYPE tenantlab_switch_cpu_budget_waiting_frames gauge$/m);
    assert.match(text, /^tenantlab_switch_cpu_budget_waiting_frames\{tenant="tenant-a"\} 12$/m);
    assert.match(text, /^tenantlab_switch_cpu_budget_waiting_frames\{tenant="tenant-b"\} 0$/m);
    assert.match(text, /^tenantlab_switch_program_cpu_seconds_total\{tenant="tenant-a"\} 0\.0025$/m);
  });

  it('follows the data path between scrapes: the counter only grows, the gauge drains', async () => {
    const waiting = new Map([['tenant-a', 12]]);
    const waited = new Map([['tenant-a', 340]]);
    const registry = new Registry();
    new SwitchMetrics(registry, dataplane(waiting, waited));
    await registry.metrics();
    waiting.set('tenant-a', 0);
    waited.set('tenant-a', 345);
    waited.set('tenant-b', 7);
    const text = await registry.metrics();
    assert.match(text, /^tenantlab_switch_cpu_budget_waited_frames_total\{tenant="tenant-a"\} 345$/m);
    assert.match(text, /^tenantlab_switch_cpu_budget_waited_frames_total\{tenant="tenant-b"\} 7$/m);
    assert.match(text, /^tenantlab_switch_cpu_budget_waiting_frames\{tenant="tenant-a"\} 0$/m);
  });

  it('follows the conventions promtool checks: every metric has HELP, counters and only counters end in _total', async () => {
    const text = await render(new Map(), new Map());
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name, type }));
    assert.ok(types.length >= 10, `${types.length} metrics`);
    for (const { name, type } of types) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), `${name} has HELP`);
      assert.equal(name?.endsWith('_total'), type === 'counter', `${name} (${type})`);
      assert.match(name ?? '', /^tenantlab_switch_[a-z_]+$/);
    }
  });
});
