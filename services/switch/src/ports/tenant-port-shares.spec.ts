import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PORT_BOUNDS, TENANT_PORT_BUDGETS } from '@tenantlab/shared';
import type { SwitchPort } from '../pipeline/switch-port';
import { TenantPortShares } from './tenant-port-shares';

const portsOf = (tenant: string, count: number, first = 0): SwitchPort[] =>
  Array.from({ length: count }, (_, i) => ({ no: first + i, vm: `${tenant}-vm${i}`, tenant, vlan: 10 }));

describe('TenantPortShares: a port gets its own bounds or its share of its tenant budget, whichever is smaller', () => {
  it('gives every port of a tenant of up to four ports its full bounds, at the default budgets', () => {
    const shares = new TenantPortShares();
    const ports = portsOf('t', 4);
    shares.recount(ports);
    for (const port of ports) assert.deepEqual(shares.of(port), PORT_BOUNDS);
  });

  it("splits a bigger tenant's budget equally, so its ports together never hold more than the budget", () => {
    const shares = new TenantPortShares();
    const ports = portsOf('big', 12);
    shares.recount(ports);
    const one = shares.of(ports[0]);
    assert.deepEqual(one, {
      txMemoryBytes: Math.floor(TENANT_PORT_BUDGETS.txMemoryBytes / 12),
      rxFrames: Math.floor(TENANT_PORT_BUDGETS.rxFrames / 12),
      rxBytes: Math.floor(TENANT_PORT_BUDGETS.rxBytes / 12),
    });
    const total = (key: keyof typeof one): number => ports.reduce((sum, port) => sum + shares.of(port)[key], 0);
    assert.ok(total('txMemoryBytes') <= TENANT_PORT_BUDGETS.txMemoryBytes);
    assert.ok(total('rxFrames') <= TENANT_PORT_BUDGETS.rxFrames);
    assert.ok(total('rxBytes') <= TENANT_PORT_BUDGETS.rxBytes);
    assert.deepEqual(shares.rxCapacityOf(ports[0]), { frames: one.rxFrames, bytes: one.rxBytes });
    assert.equal(shares.rxCapacityOf(ports[0]), shares.rxCapacityOf(ports[1]), 'one object, not one per call');
  });

  it("does not let one tenant's VM count change another tenant's bounds", () => {
    const shares = new TenantPortShares();
    const small = portsOf('small', 2);
    shares.recount([...small, ...portsOf('big', 64, 2)]);
    for (const port of small) assert.deepEqual(shares.of(port), PORT_BOUNDS);
  });

  it('recounts as ports come and go: a share grows back when the tenant shrinks', () => {
    const shares = new TenantPortShares();
    const ports = portsOf('t', 8);
    shares.recount(ports);
    assert.equal(shares.of(ports[0]).rxBytes, TENANT_PORT_BUDGETS.rxBytes / 8);
    shares.recount(ports.slice(0, 2));
    assert.deepEqual(shares.of(ports[0]), PORT_BOUNDS);
  });

  it('takes budgets from config, and gives a port of a tenant not yet counted no more than its whole budget', () => {
    const budgets = { txMemoryBytes: 3_000_000, rxFrames: 300, rxBytes: 3_000_000 };
    const shares = new TenantPortShares(budgets);
    const ports = portsOf('t', 3);
    shares.recount(ports);
    assert.deepEqual(shares.of(ports[0]), { txMemoryBytes: 1_000_000, rxFrames: 100, rxBytes: 1_000_000 });
    assert.deepEqual(shares.of(portsOf('new', 1)[0]), budgets);
    assert.deepEqual(shares.rxCapacityOf(portsOf('new', 1)[0]), { frames: 300, bytes: 3_000_000 });
  });
});
