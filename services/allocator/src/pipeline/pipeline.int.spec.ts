import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { suiteRedis, testAdminHeaders } from '@tenantlab/lab';
import { fieldsFromFlatList, REDIS_KEYS, requestJson, type JsonResponse } from '@tenantlab/shared';
import type { MemoryView, StageView } from '../memory/memory-map';
import { type AllocatorUnderTest, type ErrorReply, startAllocator } from '../testing/allocator-harness';
import { testProgram, uniqueId } from '../testing/test-programs';
import type { SubmitReply } from './pipeline.controller';
import type { LinkedPipeline } from './linked-pipeline';

/** A small switch, so the example programs fill it: 2 stages of 8192 cells. */
const SWITCH = { SWITCH_STAGES: '2', REGISTER_CELLS_PER_STAGE: '8192' };

/** The example programs at the repository root (programs/*.json). */
function exampleProgram(name: string): Record<string, unknown> {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'programs', `${name}.json`);
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  }
  throw new Error(`example program ${name} not found in a programs folder above ${__dirname}`);
}

/** Fails unless no two slices of any stage overlap. */
function assertDisjoint(stages: readonly StageView[]): void {
  for (const stage of stages) {
    const slices = [...stage.slices].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < slices.length; i++) {
      const [left, right] = [slices[i - 1], slices[i]];
      assert.ok(
        left.offset + left.amount <= right.offset,
        `stage ${stage.stage}: ${left.tenant}/${left.register} overlaps ${right.tenant}/${right.register}`,
      );
    }
  }
}

describe('allocator HTTP API on a real Redis', () => {
  const suite = suiteRedis();
  let allocator: AllocatorUnderTest;

  // The pipeline is one for the whole switch: each test starts from none, with an allocator that has seen none.
  beforeEach(async () => {
    await suite.admin.del(REDIS_KEYS.pipelineCurrent, REDIS_KEYS.pipelineVersions);
    allocator = await startAllocator(suite.redis.url, SWITCH);
  });

  afterEach(async () => {
    await allocator?.close();
  });

  function call<T>(method: 'GET' | 'PUT' | 'DELETE', route: string, body?: unknown): Promise<JsonResponse<T>> {
    return requestJson<T>(method, `${allocator.url}${route}`, body, 5000, testAdminHeaders());
  }

  function submit(
    tenant: string,
    program: unknown,
    vms: string[] = [],
  ): Promise<JsonResponse<SubmitReply & ErrorReply>> {
    return call<SubmitReply & ErrorReply>('PUT', `/tenants/${tenant}/program`, { vms, program });
  }

  async function state(): Promise<{ pipeline: LinkedPipeline; memory: MemoryView & { version: number } }> {
    const [pipeline, memory] = [
      await call<LinkedPipeline>('GET', '/pipeline'),
      await call<MemoryView & { version: number }>('GET', '/memory'),
    ];
    assert.equal(pipeline.status, 200);
    assert.equal(memory.status, 200);
    return { pipeline: pipeline.body, memory: memory.body };
  }

  async function streamVersions(): Promise<{ version: number; pipeline: LinkedPipeline }[]> {
    const entries = await suite.admin.xrange(REDIS_KEYS.pipelineVersions, '-', '+');
    return entries.map(([, flat]) => {
      const fields = fieldsFromFlatList(flat);
      return { version: Number(fields['version']), pipeline: JSON.parse(fields['pipeline'] ?? '{}') as LinkedPipeline };
    });
  }

  it('links the example programs of three tenants; their registers get disjoint slices', async () => {
    const [hh, fw, fc] = [uniqueId('tenant-hh'), uniqueId('tenant-fw'), uniqueId('tenant-fc')];
    const first = await submit(hh, exampleProgram('heavy-hitter'), [uniqueId('vm')]);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.version, 1);
    assert.deepEqual(first.body.pageTable, {
      row0: { stage: 0, offset: 0, amount: 1024 },
      row1: { stage: 0, offset: 1024, amount: 1024 },
      row2: { stage: 0, offset: 2048, amount: 1024 },
      reported: { stage: 0, offset: 3072, amount: 1024 },
    });
    assert.equal(first.body.resources.registerBits, 3 * 32 * 1024 + 8 * 1024);
    const second = await submit(fw, exampleProgram('stateful-firewall'), [uniqueId('vm'), uniqueId('vm')]);
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.deepEqual(second.body.pageTable, { flows: { stage: 0, offset: 4096, amount: 4096 } });
    const third = await submit(fc, exampleProgram('flow-counters'), [uniqueId('vm')]);
    assert.equal(third.status, 201, JSON.stringify(third.body));
    assert.deepEqual(third.body.pageTable, {});

    const { pipeline, memory } = await state();
    assert.equal(pipeline.version, 3);
    assert.deepEqual(Object.keys(pipeline.tenants).sort(), [fc, fw, hh].sort());
    assert.deepEqual(pipeline.tenants[hh].pageTable, first.body.pageTable);
    assert.equal(pipeline.tenants[fw].program.program.name, 'stateful_firewall');
    assert.equal(memory.version, 3);
    assertDisjoint(memory.stages);
    assert.deepEqual(
      memory.stages[0].slices.map((s) => [s.tenant, s.register]),
      [
        [hh, 'row0'],
        [hh, 'row1'],
        [hh, 'row2'],
        [hh, 'reported'],
        [fw, 'flows'],
      ],
    );
    assert.equal(memory.stages[0].freeCells, 0);
    assert.equal(memory.stages[1].freeCells, 8192);
    // Each version is on the stream the switch follows, the last one equal to the current pipeline.
    const versions = await streamVersions();
    assert.deepEqual(
      versions.map((v) => v.version),
      [1, 2, 3],
    );
    assert.deepEqual(versions[2].pipeline, pipeline);
  });

  it('refuses an oversize program with 409 INSUFFICIENT_CAPACITY; the pipeline version and the map are unchanged', async () => {
    const [a, b] = [uniqueId('tenant-a'), uniqueId('tenant-b')];
    assert.equal((await submit(a, exampleProgram('heavy-hitter'))).status, 201);
    assert.equal((await submit(b, exampleProgram('stateful-firewall'))).status, 201);
    const before = await state();
    // The first register would fit in stage 1, the second no longer: all or nothing.
    const hog = testProgram('hog', [
      { name: 'left', width: 32, size: 6000 },
      { name: 'right', width: 32, size: 6000 },
    ]);
    const refused = await submit(uniqueId('tenant-hog'), hog);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'INSUFFICIENT_CAPACITY');
    assert.equal(refused.body.error.retriable, false);
    assert.match(
      refused.body.error.message,
      /register hog\.right needs 6000 contiguous cells; the largest free range is 2192 \(stage 1\)/,
    );
    assert.deepEqual(await state(), before);
    assert.equal((await streamVersions()).length, 2);
  });

  it('answers 400 VALIDATION_FAILED with path-qualified details for an invalid program or request', async () => {
    const tenant = uniqueId('tenant-bad');
    const program = exampleProgram('stateful-firewall');
    const invalid = await submit(tenant, { ...program, registers: [{ name: 'flows', width: 12, size: 4096 }] });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, 'VALIDATION_FAILED');
    assert.ok(
      invalid.body.error.details?.some((d) => d.startsWith('registers[0].width:')),
      JSON.stringify(invalid.body.error.details),
    );
    const noVms = await call<ErrorReply>('PUT', `/tenants/${tenant}/program`, { program });
    assert.equal(noVms.status, 400);
    assert.ok(noVms.body.error.details?.some((d) => d.startsWith('vms:')));
    const badTenant = await call<ErrorReply>('PUT', '/tenants/Not_A_Tenant/program', { vms: [], program });
    assert.equal(badTenant.status, 400);
    assert.equal((await call('GET', '/pipeline')).status, 404);
  });

  it('replaces a program (200), removes it (204, then 404), each a new version', async () => {
    const tenant = uniqueId('tenant-r');
    assert.equal((await submit(tenant, exampleProgram('heavy-hitter'))).status, 201);
    const replaced = await submit(tenant, exampleProgram('stateful-firewall'));
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.version, 2);
    // The firewall's 4096 cells reuse the heavy hitter's, which are free again.
    assert.deepEqual(replaced.body.pageTable, { flows: { stage: 0, offset: 0, amount: 4096 } });
    const removed = await call('DELETE', `/tenants/${tenant}/program`);
    assert.equal(removed.status, 204);
    const { pipeline, memory } = await state();
    assert.equal(pipeline.version, 3);
    assert.deepEqual(pipeline.tenants, {});
    assert.deepEqual(
      memory.stages.map((s) => s.freeCells),
      [8192, 8192],
    );
    const again = await call<ErrorReply>('DELETE', `/tenants/${tenant}/program`);
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'NOT_FOUND');
  });

  it('links concurrent submissions one after the other: consecutive versions, disjoint slices', async () => {
    const tenants = Array.from({ length: 10 }, () => uniqueId('tenant-c'));
    const answers = await Promise.all(
      tenants.map((tenant, i) => submit(tenant, testProgram(`p${i}`, [{ name: 'r', width: 64, size: 700 + i }]))),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      tenants.map(() => 201),
    );
    assert.deepEqual(
      answers.map((a) => a.body.version).sort((x, y) => x - y),
      tenants.map((_, i) => i + 1),
    );
    const { pipeline, memory } = await state();
    assert.equal(pipeline.version, 10);
    assert.deepEqual(Object.keys(pipeline.tenants).sort(), [...tenants].sort());
    assertDisjoint(memory.stages);
    assert.equal(
      memory.stages.reduce((total, s) => total + s.usedCells, 0),
      tenants.reduce((total, _, i) => total + 700 + i, 0),
    );
    assert.deepEqual(
      (await streamVersions()).map((v) => v.version),
      tenants.map((_, i) => i + 1),
    );
  });

  it('rebuilds the same memory map from Redis after a restart, and keeps allocating around it', async () => {
    const [a, b, c] = [uniqueId('tenant-a'), uniqueId('tenant-b'), uniqueId('tenant-c')];
    assert.equal((await submit(a, exampleProgram('heavy-hitter'))).status, 201);
    assert.equal((await submit(b, exampleProgram('stateful-firewall'))).status, 201);
    assert.equal((await call('DELETE', `/tenants/${a}/program`)).status, 204);
    assert.equal((await submit(c, testProgram('c', [{ name: 'x', width: 128, size: 1000 }]))).status, 201);
    const before = await state();
    assert.equal(before.memory.stages[0].fragmentation, 1 - 2096 / 2096);

    await allocator.close();
    allocator = await startAllocator(suite.redis.url, SWITCH);
    assert.deepEqual(await state(), before);
    const next = await submit(uniqueId('tenant-d'), testProgram('d', [{ name: 'y', width: 32, size: 2000 }]));
    assert.equal(next.status, 201);
    assert.equal(next.body.version, before.pipeline.version + 1);
    assert.deepEqual(next.body.pageTable, { y: { stage: 0, offset: 2000, amount: 2000 } });
  });
});
