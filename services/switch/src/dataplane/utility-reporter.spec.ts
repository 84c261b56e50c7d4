import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { propagation, ROOT_CONTEXT, type Span, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  extractTraceFromKafkaHeaders,
  type KafkaHeaders,
  type LinkedTenant,
  type PageTable,
  type TenantProgram,
  type UtilityReportMessage,
} from '@tenantlab/shared';
import { type CompiledProgram, compileProgram, RegisterMemory } from '../programs';
import { context, frame, recordingHooks, valid } from '../programs/testing/program-fixtures';
import type { InstalledPrograms } from './program-installer';
import { utilitySlots, UtilityReporter } from './utility-reporter';

const FLOW_TABLE = JSON.parse(
  readFileSync(join(__dirname, '..', '..', '..', '..', 'programs', 'flow-table.json'), 'utf8'),
) as Partial<TenantProgram>;
const HEAVY_HITTER = JSON.parse(
  readFileSync(join(__dirname, '..', '..', '..', '..', 'programs', 'heavy-hitter.json'), 'utf8'),
) as Partial<TenantProgram>;

const memory = new RegisterMemory(1, 8192);

function link(program: Partial<TenantProgram>, pageTable: PageTable, tenant = 'tenant-a'): LinkedTenant {
  return { program: valid(program, tenant), pageTable };
}

function installed(version: number, tenants: [LinkedTenant, CompiledProgram][]): InstalledPrograms {
  return {
    version,
    epoch: 'e',
    byTenant: new Map(tenants.map(([linked, program]) => [linked.program.tenant, program])),
    linked: new Map(tenants.map(([linked]) => [linked.program.tenant, linked])),
    installedAtMs: 1000 + version,
  };
}

function flowTable(slots: number, offset = 0): [LinkedTenant, CompiledProgram] {
  const linked = link(FLOW_TABLE, {
    keys: { stage: 0, offset, amount: slots },
    counts: { stage: 0, offset: offset + slots, amount: slots },
  });
  return [linked, compileProgram(linked.program, linked.pageTable, memory, recordingHooks())];
}

/** Sends `packets` frames from `sources` distinct sources, round robin. */
function send(program: CompiledProgram, sources: number, packets: number): void {
  for (let n = 0; n < packets; n++)
    program.run(context(frame({ src: `10.1.${(n % sources) >> 8}.${(n % sources) & 255}` })));
}

function recorder(): {
  published: { key: string; value: UtilityReportMessage; headers?: KafkaHeaders }[];
  publish: (key: string, value: UtilityReportMessage, headers?: KafkaHeaders) => void;
} {
  const published: { key: string; value: UtilityReportMessage; headers?: KafkaHeaders }[] = [];
  return { published, publish: (key, value, headers) => published.push({ key, value, headers }) };
}

describe('UtilityReporter: seed 004 utility per window from the switch', () => {
  it('reports a flow-table program once per window: its slots, the window’s packets and misses, the hit ratio', () => {
    const sink = recorder();
    let now = 50_000;
    const reporter = new UtilityReporter(sink, trace.getTracer('test'), 2000, () => now);
    const tenant = flowTable(64);
    const programs = installed(3, [tenant]);
    send(tenant[1], 300, 900);
    const [first] = reporter.closeWindow(programs);
    const misses = tenant[1].counter('misses', 0).packets;
    assert.ok(misses > 0 && misses < 900, `300 sources in 64 slots miss some: ${misses}`);
    assert.deepEqual(first, {
      tenant: 'tenant-a',
      program: 'flow_table',
      window: 1,
      windowEndMs: 50_000,
      windowMs: 2000,
      slots: 64,
      packets: 900,
      misses,
      utility: 1 - misses / 900,
      pipelineVersion: 3,
      installedAtMs: 1003,
    });
    assert.equal(sink.published.length, 1);
    assert.equal(sink.published[0].key, 'tenant-a');
    // The next window counts only its own packets: the few sources that own their slots hit every time.
    now += 2000;
    const ownersOnly = tenant[1].memory.read('keys', 0);
    assert.notEqual(ownersOnly, 0n);
    send(tenant[1], 1, 10);
    const [second] = reporter.closeWindow(programs);
    assert.equal(second.window, 2);
    assert.equal(second.packets, 10);
    assert.equal(second.windowEndMs, 52_000);
  });

  it('reports a re-linked program from zero: the new instance’s counters, its new slots, the new version', () => {
    const sink = recorder();
    const reporter = new UtilityReporter(sink, trace.getTracer('test'), 2000);
    const before = flowTable(32);
    send(before[1], 100, 500);
    reporter.closeWindow(installed(1, [before]));
    send(before[1], 100, 77);
    const after = flowTable(256, 1024);
    send(after[1], 100, 40);
    const [report] = reporter.closeWindow(installed(2, [after]));
    assert.equal(report.packets, 40, 'only what ran under the new linking');
    assert.equal(report.slots, 256);
    assert.equal(report.pipelineVersion, 2);
    assert.equal(report.misses, 0, '100 sources mostly fit 256 slots: at most a collision or two, here none');
  });

  it('reports no program without packets and misses counters (the count-min heavy hitter), and a quiet window as 1', () => {
    const sink = recorder();
    const reporter = new UtilityReporter(sink, trace.getTracer('test'), 2000);
    const hh = link(
      HEAVY_HITTER,
      {
        row0: { stage: 0, offset: 0, amount: 1024 },
        row1: { stage: 0, offset: 1024, amount: 1024 },
        row2: { stage: 0, offset: 2048, amount: 1024 },
        reported: { stage: 0, offset: 3072, amount: 1024 },
      },
      'tenant-b',
    );
    assert.equal(utilitySlots(hh), undefined);
    const quiet = flowTable(16, 4096);
    const reports = reporter.closeWindow(
      installed(1, [quiet, [hh, compileProgram(hh.program, hh.pageTable, memory, recordingHooks())]]),
    );
    assert.deepEqual(
      reports.map((r) => [r.tenant, r.packets, r.utility]),
      [['tenant-a', 0, 1]],
    );
  });

  it('with a window reset, clears a reported program’s registers once its window is reported', () => {
    const sink = recorder();
    const cleared: string[] = [];
    const reporter = new UtilityReporter(sink, trace.getTracer('test'), 2000, Date.now, (linked) => {
      cleared.push(linked.program.tenant);
      for (const entry of Object.values(linked.pageTable)) memory.clear(entry);
    });
    const tenant = flowTable(32, 6000);
    send(tenant[1], 5, 50);
    const used = Array.from({ length: 32 }, (_, i) => tenant[1].memory.read('keys', i)).filter((key) => key !== 0n);
    assert.equal(used.length, 5, 'five sources hold five slots');
    reporter.closeWindow(installed(1, [tenant]));
    assert.deepEqual(cleared, ['tenant-a']);
    assert.deepEqual(
      Array.from({ length: 32 }, (_, i) => tenant[1].memory.read('keys', i)).filter((key) => key !== 0n),
      [],
    );
  });

  it('reads slots back from a page table the allocator resized in proportion to the declared sizes', () => {
    const program: Partial<TenantProgram> = {
      ...FLOW_TABLE,
      registers: [
        { name: 'keys', width: 32, size: 4096 },
        { name: 'counts', width: 128, size: 1024 },
      ],
    };
    // 300 slots: keys 300 entries, counts 75 entries of two cells.
    const linked = link(program, {
      keys: { stage: 0, offset: 0, amount: 300 },
      counts: { stage: 0, offset: 300, amount: 150 },
    });
    assert.equal(utilitySlots(linked), 300);
  });

  it('puts each report’s own span context in its headers, for the decision to link to', () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const started: string[] = [];
    // A tracer whose spans carry valid contexts (the switch's SDK does that in the lab), one per report.
    const tracer = {
      startSpan: (name: string): Span => {
        started.push(name);
        const spanId = started.length.toString(16).padStart(16, '0');
        return trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId, traceFlags: TraceFlags.SAMPLED });
      },
    } as unknown as Tracer;
    const sink = recorder();
    const reporter = new UtilityReporter(sink, tracer, 2000);
    const [a, b] = [flowTable(16), flowTable(16, 64)];
    const other = link(FLOW_TABLE, b[0].pageTable, 'tenant-b');
    reporter.closeWindow(
      installed(1, [a, [other, compileProgram(other.program, other.pageTable, memory, recordingHooks())]]),
    );
    assert.deepEqual(started, ['switch.utility-report', 'switch.utility-report']);
    const ids = sink.published.map(
      ({ headers }) => trace.getSpanContext(extractTraceFromKafkaHeaders(headers, ROOT_CONTEXT))?.spanId,
    );
    assert.deepEqual(ids, ['0000000000000001', '0000000000000002']);
  });
});
