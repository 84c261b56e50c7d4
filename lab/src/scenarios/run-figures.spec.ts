import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figuresOf, parseCpuSeconds, type SwitchSnapshot } from './run-figures';

describe('run figures', () => {
  it('reads the process CPU from a Prometheus text exposition', () => {
    const text = [
      '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
      '# TYPE process_cpu_seconds_total counter',
      'process_cpu_seconds_total 12.5',
      'process_cpu_user_seconds_total 10',
    ].join('\n');
    assert.equal(parseCpuSeconds(text), 12.5);
    assert.equal(parseCpuSeconds('process_cpu_seconds_total{service="switch"} 3e-1\n'), 0.3);
    assert.equal(parseCpuSeconds('process_cpu_user_seconds_total 10\n'), undefined);
  });

  it("takes the switch's figures over the window as the difference of two snapshots", () => {
    const start: SwitchSnapshot = {
      tenants: { a: { rxFrames: 100, programNs: 1e5, drops: { 'cpu-budget': 5 } } },
      rxFrames: 100,
      cpuSeconds: 1,
    };
    const end: SwitchSnapshot = {
      tenants: {
        a: { rxFrames: 1100, programNs: 2.1e6, drops: { 'cpu-budget': 25 } },
        b: { rxFrames: 1000, programNs: 0, drops: {} },
      },
      rxFrames: 2100,
      cpuSeconds: 1.1,
    };
    const vms = { 'vm-a2': { received: 990, latencySamples: 990, p50Us: 300, p99Us: 900 } };
    const f = figuresOf(4999.6, vms, start, end);
    assert.equal(f.windowMs, 5000);
    assert.deepEqual(f.vms, vms);
    assert.deepEqual(f.tenants, {
      a: { framesIn: 1000, programNs: 2e6, programNsPerFrame: 2000, cpuBudgetDrops: 20 },
      b: { framesIn: 1000, programNs: 0, programNsPerFrame: 0, cpuBudgetDrops: 0 },
    });
    assert.deepEqual(f.switch, { framesIn: 2000, cpuSeconds: 0.1, cpuNsPerFrame: 50_000 });
    const noCpu = figuresOf(1000, {}, { ...start, cpuSeconds: undefined }, end);
    assert.deepEqual(noCpu.switch, { framesIn: 2000, cpuSeconds: null, cpuNsPerFrame: null });
  });
});
