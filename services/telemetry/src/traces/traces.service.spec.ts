import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundError, type PacketTraceMessage } from '@tenantlab/shared';
import type { TelemetryConfig } from '../config/telemetry.config';
import { TracesService } from './traces.service';

function service(kept = 3, tenants = 2): TracesService {
  return new TracesService({ TRACES_KEPT_PER_TENANT: kept, TRACE_TENANTS_MAX: tenants } as TelemetryConfig);
}

function trace(tenant: string, seq: number, extra: Partial<PacketTraceMessage> = {}): PacketTraceMessage {
  return {
    tenant,
    vlan: 1,
    inPort: `${tenant}-vm`,
    outPorts: [],
    verdict: 'forward',
    timestampUs: 1_000_000 * seq,
    length: 100,
    headers: { srcMac: '', dstMac: '', etherType: 2048 },
    firstBytes: Buffer.from([seq]).toString('base64'),
    ...extra,
  };
}

describe('TracesService', () => {
  it("keeps each tenant's newest traces apart, and counts all of them", () => {
    const traces = service(3);
    for (let seq = 1; seq <= 5; seq++) traces.record(trace('tenant-a', seq));
    traces.record(trace('tenant-b', 9, { verdict: 'drop', dropReason: 'no-destination' }));
    assert.deepEqual(
      traces.latest('tenant-a', 10).map((t) => t.message.timestampUs),
      [3e6, 4e6, 5e6],
      'the newest 3, oldest first',
    );
    assert.deepEqual(
      traces.latest('tenant-a', 2).map((t) => t.message.timestampUs),
      [4e6, 5e6],
    );
    const { tenants } = traces.summary();
    assert.equal(tenants['tenant-a']?.traces, 5);
    assert.equal(tenants['tenant-a']?.kept, 3);
    assert.equal(tenants['tenant-a']?.bytes, 500);
    assert.deepEqual(tenants['tenant-b']?.dropReasons, { 'no-destination': 1 });
    assert.deepEqual(
      traces.latest('tenant-b', 10).map((t) => t.message.tenant),
      ['tenant-b'],
      "B's view holds B's traces only",
    );
  });

  it("writes a tenant's kept frames, and only its own, as a pcap", () => {
    const traces = service(10);
    traces.record(trace('tenant-a', 1));
    traces.record(trace('tenant-b', 2));
    traces.record(trace('tenant-a', 3, { firstBytes: undefined }));
    const { file, frames, withoutBytes } = traces.pcap('tenant-a');
    assert.deepEqual([frames, withoutBytes], [1, 1]);
    assert.equal(file.length, 24 + 16 + 1);
    assert.equal(file[40], 1, "tenant A's frame byte, not B's");
  });

  it('says why there is nothing to show', () => {
    const traces = service();
    assert.throws(
      () => traces.latest('tenant-x', 10),
      (e: unknown) => e instanceof NotFoundError && /sampling/.test(e.message),
    );
    traces.record(trace('tenant-a', 1, { firstBytes: undefined }));
    assert.throws(() => traces.pcap('tenant-a'), /TRACE_SNAP_BYTES is 0/);
  });

  it('tracks at most TRACE_TENANTS_MAX tenants, and counts the traces of the rest', () => {
    const traces = service(3, 2);
    for (const tenant of ['t-1', 't-2', 't-3', 't-3']) traces.record(trace(tenant, 1));
    const summary = traces.summary();
    assert.deepEqual(Object.keys(summary.tenants), ['t-1', 't-2']);
    assert.equal(summary.untrackedTraces, 2);
  });
});
