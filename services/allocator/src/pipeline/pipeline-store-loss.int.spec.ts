import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis, testAdminHeaders, waitFor } from '@tenantlab/lab';
import {
  fieldsFromFlatList,
  REDIS_KEYS,
  requestJson,
  type JsonResponse,
  type ReadinessReport,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import type { MemoryView } from '../memory/memory-map';
import { type AllocatorUnderTest, type ErrorReply, startAllocator } from '../testing/allocator-harness';
import { testProgram, uniqueId } from '../testing/test-programs';
import type { LinkedPipeline } from './linked-pipeline';
import type { SubmitReply } from './pipeline.controller';

/**
 * The allocator across a Redis that restarts empty (issue 10): it notices the pipeline it linked is gone, says
 * `degraded` while it cannot link it again (here: the new Redis refuses every write until its maxmemory is raised),
 * then links the same programs and page tables as version 1 of a new epoch and is ready again.
 */
describe('the allocator after Redis restarts empty', () => {
  let redis: TestRedis;
  let admin: Redis;
  let allocator: AllocatorUnderTest;

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url, { maxRetriesPerRequest: null });
      admin.on('error', () => undefined);
      allocator = await startAllocator(redis.url, { SWITCH_STAGES: '2', REGISTER_CELLS_PER_STAGE: '8192' });
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await allocator?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  function call<T>(method: 'GET' | 'PUT', route: string, body?: unknown): Promise<JsonResponse<T>> {
    return requestJson<T>(method, `${allocator.url}${route}`, body, 5000, testAdminHeaders());
  }

  const readiness = (): Promise<JsonResponse<ReadinessReport>> => call<ReadinessReport>('GET', '/ready');

  it('says degraded until it has linked the lost programs again, with the same page tables, in a new epoch', async () => {
    const [a, b] = [uniqueId('tenant-a'), uniqueId('tenant-b')];
    for (const [tenant, cells] of [
      [a, 1024],
      [b, 2048],
    ] as const) {
      const submitted = await call<SubmitReply & ErrorReply>('PUT', `/tenants/${tenant}/program`, {
        vms: [uniqueId('vm')],
        program: testProgram(`prog_${tenant.slice(-4)}`, [{ name: 'hits', width: 32, size: cells }]),
      });
      assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    }
    const before = (await call<LinkedPipeline>('GET', '/pipeline')).body;
    const memoryBefore = (await call<MemoryView & { version: number }>('GET', '/memory')).body;
    assert.equal(before.version, 2);
    assert.equal((await readiness()).body.status, 'ready');

    await redis.restartEmpty({ maxMemory: '1' });

    // Degraded at once; the reason names Redis's refusal once a restore has been tried (every second), not before.
    const degraded = await waitFor('the allocator to say degraded, with the refused restore', 15_000, async () => {
      const { status, body } = await readiness();
      return status === 503 && body.status === 'degraded' && /OOM/.test(body.reasons?.[0] ?? '') ? body : undefined;
    });
    const [reason] = degraded.reasons ?? [];
    assert.match(reason, /Redis lost the linked pipeline/);
    assert.match(reason, new RegExp(`${a}, ${b}|${b}, ${a}`));
    assert.match(reason, /OOM/, 'says why it is not linked again yet');
    assert.equal(degraded.checks['redis']?.ok, true, 'Redis itself answers');
    // Meanwhile a submission does not land alone in the empty store (it would drop the other tenants' programs).
    const meanwhile = await call<ErrorReply>('PUT', `/tenants/${uniqueId('tenant-c')}/program`, {
      vms: [],
      program: testProgram('prog_c', [{ name: 'hits', width: 32, size: 16 }]),
    });
    assert.equal(meanwhile.status, 503, JSON.stringify(meanwhile.body));
    assert.equal(meanwhile.body.error.retriable, true);
    assert.equal((await call('GET', '/pipeline')).status, 404, 'nothing was linked');

    await admin.config('SET', 'maxmemory', '3gb');
    await waitFor('the allocator to be ready again', 15_000, async () => {
      const { status, body } = await readiness();
      return status === 200 && body.status === 'ready' ? body : undefined;
    });
    const restored = (await call<LinkedPipeline>('GET', '/pipeline')).body;
    assert.equal(restored.version, 1, 'a new history starts at version 1');
    assert.notEqual(restored.epoch, before.epoch, 'in a new epoch, so the switch installs it');
    assert.deepEqual(restored.tenants, before.tenants, 'the same programs and page tables');
    const memoryAfter = (await call<MemoryView & { version: number }>('GET', '/memory')).body;
    assert.deepEqual({ ...memoryAfter, version: 0 }, { ...memoryBefore, version: 0 }, 'the same memory map');
    // Announced on the stream the switch follows.
    const announced = (await admin.xrange(REDIS_KEYS.pipelineVersions, '-', '+')).map(
      ([, flat]) => JSON.parse(fieldsFromFlatList(flat)['pipeline'] ?? '{}') as LinkedPipeline,
    );
    assert.deepEqual(
      announced.map((p) => [p.version, p.epoch]),
      [[1, restored.epoch]],
    );
  });
});
