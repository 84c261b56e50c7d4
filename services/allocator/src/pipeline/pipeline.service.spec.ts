import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, NotFoundError, parseEnv, ValidationError } from '@tenantlab/shared';
import { allocatorEnv } from '../config/allocator.config';
import { InsufficientCapacityError } from '../memory/insufficient-capacity.error';
import { InMemoryPipelineRepository } from '../testing/in-memory-pipeline.repository';
import { testProgram } from '../testing/test-programs';
import { ChangesWaitingError, MAX_WAITING_CHANGES_PER_PARTY } from './fair-turns';
import type { PipelineRepository } from './pipeline.repository';
import { MAX_COMMIT_ATTEMPTS, PipelineService } from './pipeline.service';

/** A small switch: 2 stages of 4096 cells, 100 table entries, 20 ops per packet; each tenant 64 Kbit of registers. */
const config = parseEnv(allocatorEnv, {
  CALLER_TOKENS: `admin=${'b'.repeat(64)}`,
  SWITCH_STAGES: '2',
  REGISTER_CELLS_PER_STAGE: '4096',
  SWITCH_TABLE_ENTRIES: '100',
  SWITCH_OPS_PER_PACKET: '20',
  TENANT_QUOTA_REGISTER_BITS: '262144',
  TENANT_QUOTA_TABLE_ENTRIES: '80',
  TENANT_QUOTA_OPS_PER_PACKET: '16',
});

const r32 = (name: string, size: number): { name: string; width: number; size: number } => ({ name, width: 32, size });

describe('PipelineService', () => {
  let now: number;
  let repository: InMemoryPipelineRepository;
  let service: PipelineService;

  const newService = (): PipelineService =>
    new PipelineService(repository as unknown as PipelineRepository, config, () => now);

  beforeEach(() => {
    now = Date.UTC(2026, 0, 1);
    repository = new InMemoryPipelineRepository();
    service = newService();
  });

  it('links a first program: version 1, its page table and resources, stored with the program', async () => {
    const result = await service.submit(
      'tenant-a',
      ['vm-a1'],
      testProgram('hh', [r32('cms', 3000), r32('seen', 1000)]),
    );
    assert.deepEqual(result, {
      created: true,
      version: 1,
      pageTable: { cms: { stage: 0, offset: 0, amount: 3000 }, seen: { stage: 0, offset: 3000, amount: 1000 } },
      resources: {
        tables: 1,
        tableEntries: 16,
        registerBits: 128_000,
        counters: 0,
        maxOpsPerPacket: 2,
        headerBytes: 0,
      },
    });
    const pipeline = await service.pipeline();
    assert.equal(pipeline.version, 1);
    assert.equal(pipeline.createdAt, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(Object.keys(pipeline.tenants), ['tenant-a']);
    assert.equal(pipeline.tenants['tenant-a'].program.program.name, 'hh');
    assert.deepEqual(pipeline.tenants['tenant-a'].pageTable, result.pageTable);
    assert.equal(repository.versions.length, 1);
  });

  it('refuses a program over the tenant quota with the validator details, and links nothing', async () => {
    await assert.rejects(
      service.submit('tenant-a', [], testProgram('big', [r32('a', 4096), r32('b', 4096), r32('c', 1)])),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.details.some((d) => d.startsWith('registers:') && d.includes('exceed the quota of 262144')),
    );
    await assert.rejects(service.pipeline(), NotFoundError);
    assert.equal(repository.versions.length, 0);
  });

  it('refuses a program the free register memory cannot hold, leaving the pipeline and the map as they were', async () => {
    await service.submit('tenant-a', [], testProgram('fill', [r32('s0', 4096), r32('s1', 3072)]));
    const [pipelineBefore, memoryBefore] = [await service.pipeline(), await service.memory()];
    await assert.rejects(service.submit('tenant-b', [], testProgram('hh', [r32('cms', 2048)])), (error: unknown) => {
      assert.ok(error instanceof InsufficientCapacityError);
      assert.equal(error.code, 'INSUFFICIENT_CAPACITY');
      assert.deepEqual(error.shortages, [
        'register hh.cms needs 2048 contiguous cells; the largest free range is 1024 (stage 1)',
      ]);
      return true;
    });
    assert.deepEqual(await service.pipeline(), pipelineBefore);
    assert.deepEqual(await service.memory(), memoryBefore);
    assert.equal(repository.versions.length, 1);
  });

  it('names every resource that is short and by how much', async () => {
    await service.submit('tenant-a', [], testProgram('a', [], { tableEntries: 60, ops: 12 }));
    await assert.rejects(
      service.submit('tenant-b', [], testProgram('b', [], { tableEntries: 50, ops: 10 })),
      (error: unknown) =>
        error instanceof InsufficientCapacityError &&
        error.shortages.length === 2 &&
        error.shortages[0] === 'needs 50 table entries, 40 of 100 are free (short by 10)' &&
        error.shortages[1] ===
          'needs 10 ops per packet (worst case, summed over all tenants), 8 of 20 are free (short by 2)' &&
        error.message.startsWith('program b of tenant tenant-b does not fit the switch: needs 50 table entries'),
    );
  });

  it('lets a replacement reuse the memory of the program it replaces, as a new version', async () => {
    await service.submit('tenant-a', [], testProgram('v1', [r32('cms', 4096)], { tableEntries: 60 }));
    await service.submit('tenant-b', [], testProgram('other', [r32('x', 2048)]));
    // Only fits where v1 is: stage 0 is all v1's, stage 1 has 2048 free. Table entries: 60 + 30 > 100 only if v1 counted.
    const result = await service.submit('tenant-a', [], testProgram('v2', [r32('big', 4000)], { tableEntries: 80 }));
    assert.equal(result.created, false);
    assert.equal(result.version, 3);
    assert.deepEqual(result.pageTable, { big: { stage: 0, offset: 0, amount: 4000 } });
    const pipeline = await service.pipeline();
    assert.equal(pipeline.tenants['tenant-a'].program.program.name, 'v2');
    const stage0 = (await service.memory()).stages[0];
    assert.deepEqual(
      stage0.slices.map((s) => [s.tenant, s.program, s.register, s.amount]),
      [['tenant-a', 'v2', 'big', 4000]],
    );
  });

  it('keeps the old program and its slices when the replacement does not fit', async () => {
    await service.submit('tenant-a', [], testProgram('v1', [r32('cms', 2048)]));
    await service.submit('tenant-b', [], testProgram('other', [r32('x', 4096), r32('y', 2048)]));
    const [pipelineBefore, memoryBefore] = [await service.pipeline(), await service.memory()];
    await assert.rejects(
      service.submit('tenant-a', [], testProgram('v2', [r32('cms', 4000)])),
      (error: unknown) =>
        error instanceof InsufficientCapacityError &&
        error.shortages[0] === 'register v2.cms needs 4000 contiguous cells; the largest free range is 2048 (stage 0)',
    );
    assert.deepEqual(await service.pipeline(), pipelineBefore);
    assert.deepEqual(await service.memory(), memoryBefore);
    // The old slices are still held: another tenant cannot take them.
    await assert.rejects(
      service.submit('tenant-c', [], testProgram('c', [r32('z', 1)])),
      (error: unknown) =>
        error instanceof InsufficientCapacityError && error.message.includes('no register cell is free'),
    );
  });

  it('removes a program as a new version and frees its memory; removing again is 404', async () => {
    await service.submit('tenant-a', [], testProgram('a', [r32('cms', 4096)]));
    await service.submit('tenant-b', [], testProgram('b', [r32('x', 100)]));
    await service.remove('tenant-a');
    const pipeline = await service.pipeline();
    assert.equal(pipeline.version, 3);
    assert.deepEqual(Object.keys(pipeline.tenants), ['tenant-b']);
    const memory = await service.memory();
    assert.equal(memory.version, 3);
    assert.deepEqual(memory.stages[0].freeRanges, [{ offset: 0, amount: 4096 }]);
    await assert.rejects(service.remove('tenant-a'), NotFoundError);
    assert.equal(repository.versions.length, 3);
  });

  it('rebuilds the same memory map from the stored pipeline after a restart', async () => {
    await service.submit('tenant-a', [], testProgram('a', [r32('p', 1000), r32('q', 4000)]));
    await service.submit('tenant-b', [], testProgram('b', [r32('r', 3000)]));
    await service.remove('tenant-a');
    await service.submit('tenant-c', [], testProgram('c', [r32('s', 500)]));
    const restarted = newService();
    assert.deepEqual(await restarted.memory(), await service.memory());
    const next = await restarted.submit('tenant-d', [], testProgram('d', [r32('t', 400)]));
    assert.deepEqual(next.pageTable, { t: { stage: 0, offset: 500, amount: 400 } });
  });

  it('starts again from the winner when another allocator changed the pipeline in between', async () => {
    const other = newService();
    repository.beforeCommit = async () => {
      repository.beforeCommit = undefined;
      await other.submit('tenant-x', [], testProgram('x', [r32('a', 1000)]));
    };
    const result = await service.submit('tenant-y', [], testProgram('y', [r32('b', 1000)]));
    assert.equal(result.version, 2);
    assert.deepEqual(result.pageTable, { b: { stage: 0, offset: 1000, amount: 1000 } });
    assert.deepEqual(Object.keys((await service.pipeline()).tenants).sort(), ['tenant-x', 'tenant-y']);
    assert.deepEqual(
      repository.versions.map((v) => v.version),
      [1, 2],
    );
  });

  it("links another tenant's program while one tenant floods submissions, refusing the flood past its waiting cap", async () => {
    // Each commit yields to the event loop, so the flood's changes are all in flight together.
    repository.beforeCommit = () => new Promise((resolve) => setImmediate(resolve));
    const FLOOD = 40;
    const flood = Array.from({ length: FLOOD }, (_, i) =>
      service.submit('tenant-a', [], testProgram(`a${i}`, [])).then(
        (admitted) => admitted,
        (error: unknown) => error,
      ),
    );
    const victim = await service.submit('tenant-b', [], testProgram('b', []));
    const answers = await Promise.all(flood);
    // tenant-b waited for the one change running when it asked, not for the flood's waiting ones.
    assert.equal(victim.created, true);
    assert.equal(victim.version, 2);
    const refused = answers.filter((answer) => answer instanceof ChangesWaitingError);
    assert.equal(refused.length, FLOOD - 1 - MAX_WAITING_CHANGES_PER_PARTY);
    assert.deepEqual(
      answers.filter((answer) => !(answer instanceof Error)).map((answer) => (answer as { version: number }).version),
      [1, 3, 4, 5, 6],
    );
    assert.deepEqual(Object.keys((await service.pipeline()).tenants).sort(), ['tenant-a', 'tenant-b']);
  });

  it('gives up with a retriable conflict when it loses the race every time', async () => {
    await service.submit('tenant-a', [], testProgram('a', []));
    let commits = 0;
    repository.beforeCommit = () => {
      commits++;
      const stored = JSON.parse(repository.stored ?? '{}') as { version: number };
      repository.stored = JSON.stringify({ ...stored, version: stored.version + 1 });
      return Promise.resolve();
    };
    await assert.rejects(
      service.submit('tenant-b', [], testProgram('b', [])),
      (error: unknown) => error instanceof ConflictError && error.retriable,
    );
    assert.equal(commits, MAX_COMMIT_ATTEMPTS);
  });
  it('after the store lost the pipeline, links its programs again in a new epoch before a change, which goes on top', async () => {
    await service.submit('tenant-a', ['vm-a1'], testProgram('hh', [r32('cms', 3000)]));
    await service.submit('tenant-b', ['vm-b1'], testProgram('fw', [r32('flows', 2000)]));
    const lost = await service.pipeline();
    assert.deepEqual(service.degradedReasons(), []);
    repository.stored = undefined; // Redis restarted empty

    await assert.rejects(service.pipeline(), NotFoundError);
    assert.match(service.degradedReasons().join(), /Redis lost the linked pipeline.*tenant-a, tenant-b/);
    const result = await service.submit('tenant-c', ['vm-c1'], testProgram('fc', [r32('hits', 100)]));
    assert.equal(result.version, 2, 'on top of the programs linked again as version 1');
    assert.deepEqual(result.pageTable, { hits: { stage: 0, offset: 3000, amount: 100 } }, 'next to their slices');
    const [restored, current] = repository.versions.slice(-2);
    assert.equal(restored.version, 1);
    assert.notEqual(restored.epoch, lost.epoch);
    assert.deepEqual(restored.tenants, lost.tenants);
    assert.equal(current.epoch, restored.epoch);
    assert.deepEqual(Object.keys(current.tenants).sort(), ['tenant-a', 'tenant-b', 'tenant-c']);
    assert.deepEqual(service.degradedReasons(), []);
  });

  it('restores nothing when the pipeline it knew held no program', async () => {
    await service.submit('tenant-a', ['vm-a1'], testProgram('hh', [r32('cms', 3000)]));
    await service.remove('tenant-a');
    repository.stored = undefined;
    await assert.rejects(service.pipeline(), NotFoundError);
    assert.deepEqual(service.degradedReasons(), []);
    assert.equal((await service.submit('tenant-b', ['vm-b1'], testProgram('fw', [r32('flows', 10)]))).version, 1);
  });
});
