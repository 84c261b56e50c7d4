import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import {
  type Link,
  propagation,
  type Span,
  type SpanOptions,
  trace,
  TraceFlags,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  extractTraceFromKafkaHeaders,
  JsonLogger,
  type KafkaHeaders,
  parseEnv,
  type ReallocationDecisionMessage,
  type UtilityReportMessage,
} from '@tenantlab/shared';
import { allocatorEnv } from '../config/allocator.config';
import type { PipelineRepository } from '../pipeline/pipeline.repository';
import { PipelineService, resizedRegisters } from '../pipeline/pipeline.service';
import { InMemoryPipelineRepository } from '../testing/in-memory-pipeline.repository';
import { testProgram } from '../testing/test-programs';
import { PACKING_SLACK } from './fit-policy';
import { ReallocationLoop } from './reallocation-loop';

/** A switch of 2 stages of 4096 cells: 8192 cells, 2 per flow-table slot. */
const config = parseEnv(allocatorEnv, {
  CALLER_TOKENS: `admin=${'b'.repeat(64)}`,
  SWITCH_STAGES: '2',
  REGISTER_CELLS_PER_STAGE: '4096',
});

function flowTable(slots: number): Record<string, unknown> {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'programs', 'flow-table.json');
    if (existsSync(file)) {
      const program = JSON.parse(readFileSync(file, 'utf8')) as { registers: { size: number }[] };
      for (const register of program.registers) register.size = slots;
      return program;
    }
  }
  throw new Error('programs/flow-table.json not found');
}

/** The flow table's registers at one slot each. */
function testFlowTableRegisters(): { name: string; width: number; size: number }[] {
  return (flowTable(1) as { registers: { name: string; width: number; size: number }[] }).registers;
}

/** Records every span it starts (with its links), each with a valid context of its own. */
class RecordingTracer {
  readonly spans: { name: string; links: Link[]; context: ReturnType<Span['spanContext']> }[] = [];
  startSpan(name: string, options: SpanOptions = {}): Span {
    const spanId = (this.spans.length + 1).toString(16).padStart(16, '0');
    const span = trace.wrapSpanContext({ traceId: 'd'.repeat(32), spanId, traceFlags: TraceFlags.SAMPLED });
    this.spans.push({ name, links: options.links ?? [], context: span.spanContext() });
    return span;
  }
}

const reportLink = (n: number): Link['context'] => ({
  traceId: n.toString(16).padStart(32, '0'),
  spanId: n.toString(16).padStart(16, '0'),
  traceFlags: TraceFlags.SAMPLED,
});

describe('ReallocationLoop: seed 004 utility reports in, decisions out, the pipeline re-linked', () => {
  let repository: InMemoryPipelineRepository;
  let pipelines: PipelineService;
  let tracer: RecordingTracer;
  let published: { decision: ReallocationDecisionMessage; headers: KafkaHeaders }[];
  let now: number;

  const loop = (mode: 'live' | 'static'): ReallocationLoop =>
    new ReallocationLoop(
      pipelines,
      { publish: (decision, headers) => Promise.resolve(void published.push({ decision, headers })) },
      tracer as unknown as Tracer,
      { mode, stages: 2, cellsPerStage: 4096, quotaRegisterBits: config.TENANT_QUOTA_REGISTER_BITS },
      new JsonLogger('allocator', 'error', () => undefined),
      () => now,
    );

  const report = (
    tenant: string,
    window: number,
    slots: number,
    utility: number,
    version: number,
  ): UtilityReportMessage => ({
    tenant,
    program: 'flow_table',
    window,
    windowEndMs: 1000 * window,
    windowMs: 1000,
    slots,
    packets: 1000,
    misses: Math.round(1000 * (1 - utility)),
    utility,
    pipelineVersion: version,
    installedAtMs: 0,
  });

  beforeEach(async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    repository = new InMemoryPipelineRepository();
    pipelines = new PipelineService(repository as unknown as PipelineRepository, config, () => now);
    tracer = new RecordingTracer();
    published = [];
    now = 1_000_000;
    // Two tenants on an equal split of 1024 slots each, and one tenant whose program reports nothing.
    await pipelines.submit('tenant-a', ['vm-a1'], flowTable(1024));
    await pipelines.submit('tenant-b', ['vm-b1'], flowTable(1024));
    await pipelines.submit('tenant-c', ['vm-c1'], testProgram('other', [{ name: 'r', width: 64, size: 1000 }]));
  });

  it('live: gives a tenant below the target more slots, re-links the pipeline and publishes a linked decision', async () => {
    const live = loop('live');
    live.take(report('tenant-a', 1, 1024, 0.6, 3), reportLink(1));
    live.take(report('tenant-b', 1, 1024, 1, 3), reportLink(2));
    now = 1_000_500;
    await live.decidePending();

    assert.equal(published.length, 1);
    const { decision, headers } = published[0];
    assert.equal(decision.mode, 'live');
    assert.equal(decision.window, 1);
    assert.equal(decision.pipelineVersion, 4, 'a new pipeline version carries the new linking');
    assert.equal(decision.decidedAtMs, 1_000_500);
    // 8192 cells, 1000 held by tenant-c; the rest at 2 cells per slot, less the packing slack.
    assert.equal(decision.capacitySlots, Math.floor(((8192 - 1000) * PACKING_SLACK) / 2));
    const after = Object.fromEntries(decision.shares.map((s) => [s.tenant, s.slotsAfter]));
    assert.ok(after['tenant-a'] > 1024, `tenant-a grows: ${after['tenant-a']}`);
    assert.ok(after['tenant-b'] < after['tenant-a'], `tenant-b, satisfied, gets less: ${after['tenant-b']}`);

    const pipeline = await pipelines.pipeline();
    assert.equal(pipeline.version, 4);
    assert.deepEqual(
      Object.values(pipeline.tenants['tenant-a'].pageTable).map((entry) => entry.amount),
      [after['tenant-a'], after['tenant-a']],
    );
    assert.deepEqual(pipeline.tenants['tenant-c'], repository.versions[2].tenants['tenant-c'], 'others stay put');

    // The decision is one span linked to both reports' spans, and its context is what the record carries.
    const span = tracer.spans.find((s) => s.name === 'allocator.reallocate');
    assert.ok(span);
    assert.deepEqual(
      span.links.map((l) => l.context.spanId),
      [reportLink(1).spanId, reportLink(2).spanId],
    );
    assert.equal(trace.getSpanContext(extractTraceFromKafkaHeaders(headers))?.spanId, span.context.spanId);
  });

  it('measures decision-to-installed from the install time the next reports carry', async () => {
    const live = loop('live');
    live.take(report('tenant-a', 1, 1024, 0.6, 3), undefined);
    live.take(report('tenant-b', 1, 1024, 1, 3), undefined);
    now = 2_000_000;
    await live.decidePending();
    assert.deepEqual(live.status().decisionToInstalledMs, { count: 0, p50: null, p99: null, max: null, pending: 1 });
    const installed = { ...report('tenant-a', 2, 1500, 0.95, 4), installedAtMs: 2_000_042 };
    live.take(installed, undefined);
    assert.deepEqual(live.status().decisionToInstalledMs, { count: 1, p50: 42, p99: 42, max: 42, pending: 0 });
  });

  it('does not decide twice on a window counted under the linking its last re-link replaced', async () => {
    const live = loop('live');
    live.take(report('tenant-a', 1, 1024, 0.6, 3), undefined);
    live.take(report('tenant-b', 1, 1024, 1, 3), undefined);
    await live.decidePending();
    // Window 2 closed before the switch installed version 4: its reports still say version 3.
    live.take(report('tenant-a', 2, 1024, 0.6, 3), undefined);
    live.take(report('tenant-b', 2, 1024, 1, 3), undefined);
    await live.decidePending();
    assert.equal(published.length, 1);
    assert.equal(live.status().staleWindows, 1);
    assert.equal((await pipelines.pipeline()).version, 4);
  });

  it('ignores a late report of a window it decided, but follows a restarted switch that counts windows again', async () => {
    const fixed = loop('static');
    fixed.take(report('tenant-a', 5, 1024, 0.6, 3), undefined);
    await fixed.decidePending();
    fixed.take({ ...report('tenant-b', 5, 1024, 1, 3), windowEndMs: 5000 }, undefined);
    await fixed.decidePending();
    assert.equal(published.length, 1, 'window 5 was decided once');
    // Restarted: window 1 again, closed after window 5.
    fixed.take({ ...report('tenant-a', 1, 1024, 0.6, 3), windowEndMs: 9000 }, undefined);
    await fixed.decidePending();
    assert.deepEqual(
      published.map((p) => p.decision.window),
      [5, 1],
    );
  });

  it('static: publishes a decision each window that keeps every share, and never re-links', async () => {
    const fixed = loop('static');
    fixed.take(report('tenant-a', 1, 1024, 0.6, 3), undefined);
    fixed.take(report('tenant-b', 1, 1024, 1, 3), undefined);
    await fixed.decidePending();
    assert.equal(published.length, 1);
    assert.equal(published[0].decision.mode, 'static');
    assert.equal(published[0].decision.pipelineVersion, null);
    assert.deepEqual(
      published[0].decision.shares.map((s) => [s.tenant, s.slotsBefore, s.slotsAfter]),
      [
        ['tenant-a', 1024, 1024],
        ['tenant-b', 1024, 1024],
      ],
    );
    assert.equal((await pipelines.pipeline()).version, 3);
    assert.equal(fixed.status().relinks, 0);
  });

  it("caps a tenant's growth at its register quota (TENANT_QUOTA_REGISTER_BITS)", async () => {
    // The flow table's bits per slot (every register resized with it); a quota of 1500 slots' worth.
    const bitsPerSlot = resizedRegisters(testFlowTableRegisters(), 1).reduce((bits, r) => bits + r.width * r.size, 0);
    const quotaSlots = 1500;
    const capped = new ReallocationLoop(
      pipelines,
      { publish: (decision, headers) => Promise.resolve(void published.push({ decision, headers })) },
      tracer as unknown as Tracer,
      { mode: 'live', stages: 2, cellsPerStage: 4096, quotaRegisterBits: quotaSlots * bitsPerSlot },
      new JsonLogger('allocator', 'error', () => undefined),
      () => now,
    );
    // At utility 0.1 the policy would give tenant-a up to 4x its 1024 slots, and the capacity has room for more than
    // the quota (the uncapped case: the first test's tenant-a at 0.6 already grows past 1500).
    capped.take(report('tenant-a', 1, 1024, 0.1, 3), undefined);
    capped.take(report('tenant-b', 1, 1024, 1, 3), undefined);
    await capped.decidePending();
    const after = Object.fromEntries(published[0].decision.shares.map((s) => [s.tenant, s.slotsAfter]));
    assert.ok(after['tenant-a'] > 1024, `tenant-a grows: ${after['tenant-a']}`);
    assert.ok(after['tenant-a'] <= quotaSlots, `within its quota of ${quotaSlots} slots: ${after['tenant-a']}`);
    const pipeline = await pipelines.pipeline();
    assert.ok(
      pipeline.tenants['tenant-a'].program.program.registers.every((r) => r.size <= quotaSlots),
      'the re-linked registers fit the quota',
    );
  });

  it('leaves a tenant whose window had no packet out of the decision: it keeps what it holds', async () => {
    const live = loop('live');
    live.take({ ...report('tenant-a', 1, 1024, 1, 3), packets: 0, misses: 0 }, undefined);
    await live.decidePending();
    assert.equal(published.length, 0, 'a window in which nothing ran is not decided');
    assert.equal(live.status().quietWindows, 1);
    live.take({ ...report('tenant-a', 2, 1024, 1, 3), packets: 0, misses: 0 }, undefined);
    live.take(report('tenant-b', 2, 1024, 0.5, 3), undefined);
    await live.decidePending();
    assert.deepEqual(
      published[0].decision.shares.map((s) => s.tenant),
      ['tenant-b'],
    );
    const pipeline = await pipelines.pipeline();
    assert.deepEqual(pipeline.tenants['tenant-a'], repository.versions[2].tenants['tenant-a']);
    // Its cells are not shared out: the capacity is what tenants a and c leave.
    assert.equal(published[0].decision.capacitySlots, Math.floor(((8192 - 1000 - 2048) * PACKING_SLACK) / 2));
  });

  it('counts refused messages and reports of tenants it does not know, and keeps deciding', async () => {
    const live = loop('live');
    live.reject(0, '17', 'message is not valid JSON');
    live.take(report('tenant-zz', 1, 64, 0.1, 3), undefined);
    live.take(report('tenant-a', 1, 1024, 0.6, 3), undefined);
    await live.decidePending();
    const status = live.status();
    assert.deepEqual(status.rejected, {
      count: 1,
      last: [{ partition: 0, offset: '17', reason: 'message is not valid JSON' }],
    });
    assert.deepEqual(
      published[0].decision.shares.map((s) => s.tenant),
      ['tenant-a'],
    );
    assert.equal(status.windowsDecided, 1);
    assert.equal(status.tenants['tenant-zz'].windows, 1);
  });
});

describe('PipelineService.relink', () => {
  it('resizes registers in proportion to the declared sizes', () => {
    assert.deepEqual(
      resizedRegisters(
        [
          { name: 'keys', width: 32, size: 4096 },
          { name: 'aux', width: 128, size: 1024 },
        ],
        300,
      ),
      [
        { name: 'keys', width: 32, size: 300 },
        { name: 'aux', width: 128, size: 75 },
      ],
    );
  });

  it('writes nothing for the shares in force, and refuses shares that do not fit', async () => {
    const repository = new InMemoryPipelineRepository();
    const pipelines = new PipelineService(repository as unknown as PipelineRepository, config, () => 0);
    await pipelines.submit('tenant-a', ['vm-a1'], flowTable(1024));
    assert.equal(await pipelines.relink(new Map([['tenant-a', 1024]])), undefined);
    assert.equal(repository.versions.length, 1);
    await assert.rejects(pipelines.relink(new Map([['tenant-a', 5000]])), /needs 5000 contiguous cells/);
    const grown = await pipelines.relink(new Map([['tenant-a', 2000]]));
    assert.equal(grown?.version, 2);
    assert.deepEqual(grown?.tenants['tenant-a'].pageTable, {
      keys: { stage: 0, offset: 0, amount: 2000 },
      counts: { stage: 0, offset: 2000, amount: 2000 },
    });
  });
});
