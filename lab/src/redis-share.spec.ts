import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attackerTenantRedisBytesMax } from '@tenantlab/shared';
import type { LabDefinition } from './lab-definition';
import { redisMemoryBytes, redisShareProgress, tenantRedisHoldMax } from './redis-share';

const labOf = (tenants: number, caps?: LabDefinition['tenants'][number]['caps']): LabDefinition => ({
  name: 'test',
  tenants: Array.from({ length: tenants }, (_, i) => ({ id: `t${i}`, vms: [`vm-${i}a`, `vm-${i}b`], caps })),
});

describe("redisShareProgress: whether the lab's tenants fit in Redis's maxmemory at their caps", () => {
  it("says the default lab's two tenants fit under the default 3gb, so no tenant can fill it for another", () => {
    const line = redisShareProgress(labOf(2));
    assert.match(line, /^Redis: the 2 tenant\(s\) can hold at most 1\.73 GB together at their caps, 2\.02 GB with/);
    assert.match(line, /under maxmemory 3gb \(3\.22 GB\): no tenant can fill it for another$/);
  });

  it('warns, naming what to change, when many tenants at the default caps overcommit it', () => {
    const line = redisShareProgress(labOf(64));
    assert.match(line, /could hold up to 55\.39 GB together at their caps/);
    assert.match(line, /over maxmemory 3gb \(3\.22 GB\): one tenant filling what its caps allow can get other/);
    assert.match(line, /lower the tenants' caps \(maxVms, ringBytes, ringEntries\) or raise REDIS_MAXMEMORY/);
  });

  it("follows the tenants' caps and the switch's budgets, and the maxmemory given", () => {
    const small = { maxVms: 2, maxCircuits: 8, ringBytes: 1_048_576, ringEntries: 1024 };
    assert.ok(tenantRedisHoldMax(small) < tenantRedisHoldMax() / 2);
    assert.ok(tenantRedisHoldMax({}, { TENANT_RX_BYTES: String(1_048_576) }) < tenantRedisHoldMax());
    // A setting the switch will refuse at its start counts as its default here, never as NaN.
    assert.equal(tenantRedisHoldMax({}, { TENANT_RX_BYTES: 'lots' }), tenantRedisHoldMax());
    assert.match(redisShareProgress(labOf(2), '1gb'), /over maxmemory 1gb \(1\.07 GB\)/);
    assert.match(redisShareProgress(labOf(64, small), '64gb'), /under maxmemory 64gb/);
  });

  it("bounds a tenant's rings by its VMs' quotas too, when they are less than the tenant's", () => {
    const oneVm = tenantRedisHoldMax({ maxVms: 1 });
    assert.equal(oneVm, tenantRedisHoldMax({ maxVms: 1, ringEntries: 65_536, ringBytes: 134_217_728 }));
    assert.equal(tenantRedisHoldMax(), attackerTenantRedisBytesMax(), 'the defaults are the formula defaults');
  });

  it('reads maxmemory as redis.conf does, and refuses what it cannot read', () => {
    assert.equal(redisMemoryBytes('3gb'), 3 * 1024 ** 3);
    assert.equal(redisMemoryBytes('512MB'), 512 * 1024 ** 2);
    assert.equal(redisMemoryBytes('1048576'), 1_048_576);
    assert.equal(redisMemoryBytes('1g'), 1e9);
    assert.throws(() => redisMemoryBytes('lots'), /maxmemory "lots": expected bytes or a number with kb, mb or gb/);
    assert.throws(
      () => redisShareProgress(labOf(2), '3 gigs', 'REDIS_MAXMEMORY'),
      /^Error: REDIS_MAXMEMORY "3 gigs": expected bytes or a number with kb, mb or gb/,
    );
  });
});
