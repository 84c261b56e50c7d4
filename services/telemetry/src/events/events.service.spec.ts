import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundError, type ProgramEventMessage } from '@tenantlab/shared';
import type { TelemetryConfig } from '../config/telemetry.config';
import { EventsService } from './events.service';

const config = { EVENTS_KEPT_PER_TENANT: 2, TRACE_TENANTS_MAX: 2 } as TelemetryConfig;

function event(tenant: string, name: string, at: number): ProgramEventMessage {
  return { tenant, event: name, fields: { 'ipv4.src': at }, timestampUs: at };
}

describe('EventsService', () => {
  it("keeps each tenant's newest events apart, counts them all by name, and filters by name", () => {
    const events = new EventsService(config);
    events.record(event('tenant-a', 'heavy_hitter', 1));
    events.record(event('tenant-a', 'heavy_hitter', 2));
    events.record(event('tenant-a', 'port_scan', 3));
    events.record(event('tenant-b', 'heavy_hitter', 4));
    assert.deepEqual(events.summary().tenants, {
      'tenant-a': { heavy_hitter: 2, port_scan: 1 },
      'tenant-b': { heavy_hitter: 1 },
    });
    assert.deepEqual(
      events.latest('tenant-a', 10).map((e) => e.timestampUs),
      [2, 3],
      'the newest 2',
    );
    assert.deepEqual(
      events.latest('tenant-a', 10, 'heavy_hitter').map((e) => e.timestampUs),
      [2],
    );
    assert.deepEqual(
      events.latest('tenant-b', 10).map((e) => e.tenant),
      ['tenant-b'],
    );
  });

  it('tracks at most TRACE_TENANTS_MAX tenants and says when a tenant has no events', () => {
    const events = new EventsService(config);
    for (const tenant of ['t-1', 't-2', 't-3']) events.record(event(tenant, 'x', 1));
    assert.equal(events.summary().untrackedEvents, 1);
    assert.throws(
      () => events.latest('t-3', 5),
      (e: unknown) => e instanceof NotFoundError && /report/.test(e.message),
    );
  });
});
