import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { JsonLogger, parseEnv } from '@tenantlab/shared';
import type { Response } from 'express';
import { ComponentsService } from '../components/components.service';
import { telemetryEnv } from '../config/telemetry.config';
import { EventsService } from '../events/events.service';
import { TracesService } from '../traces/traces.service';
import { DashboardCollector, type DashboardSnapshot } from './dashboard-collector';
import type { DataplaneEntry, LabSources, MemoryEntry } from './lab-sources';
import { SseHub } from './sse-hub';

/** Telemetry's config as the lab starts it for the dashboard: only the credentials set, every default as parsed. */
const config = parseEnv(telemetryEnv, {
  CALLER_TOKENS: `operator=${'a'.repeat(64)},admin=${'b'.repeat(64)}`,
  DASHBOARD_TOKEN: 'd'.repeat(64),
  SERVICE_TOKEN: 't'.repeat(64),
});

/** An open dashboard page as the hub sees it: the SSE events written to its response. */
function watcher(): { response: Response; snapshots: () => DashboardSnapshot[] } {
  const written: string[] = [];
  const response = {
    status: () => response,
    setHeader: () => response,
    flushHeaders: () => undefined,
    write: (text: string) => written.push(text) > 0,
    on: () => response,
    destroy: () => undefined,
    writableLength: 0,
  } as unknown as Response;
  const snapshots = (): DashboardSnapshot[] =>
    written
      .filter((text) => text.startsWith('event: snapshot\n'))
      .map((text) => JSON.parse(text.slice(text.indexOf('data: ') + 6)) as DashboardSnapshot);
  return { response, snapshots };
}

const DATAPLANE = {
  ports: [{ vm: 'vm-a1', port: 1, tenant: 'tenant-a', vlan: 100 }],
  macs: 1,
  lookups: 'hit:0 missed:0 lost:0',
  counters: { tenants: { 'tenant-a': { rxFrames: 10, txFrames: 10, drops: {} } } },
  sampling: {},
  programs: { version: 1, tenants: [] },
} as unknown as DataplaneEntry;

/** The operator and the switch answer; the allocator does not (its connection refused). */
const sources = {
  vms: () => Promise.resolve({ vms: [{ id: 'vm-a1', tenant: 'tenant-a', alive: true, vlan: 100 }] }),
  circuits: () => Promise.resolve({ circuits: [] }),
  dataplane: () => Promise.resolve(DATAPLANE),
  memory: (): Promise<MemoryEntry> => Promise.reject(new Error('allocator: connect ECONNREFUSED 127.0.0.1:3002')),
} as unknown as LabSources;

/** Lets the collector's pending promises (its sources' answers) settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('DashboardCollector (README: once per DASHBOARD_POLL_MS, a source that does not answer shown as such)', () => {
  let hub: SseHub;
  let collector: DashboardCollector;

  beforeEach(() => {
    mock.timers.enable({ apis: ['setInterval'] });
    hub = new SseHub();
    collector = new DashboardCollector(
      config,
      sources,
      hub,
      new TracesService(config),
      new EventsService(config),
      new ComponentsService(),
      new JsonLogger('telemetry', 'error'),
    );
    collector.onApplicationBootstrap();
  });

  afterEach(() => {
    collector.onModuleDestroy();
    hub.onModuleDestroy();
    mock.timers.reset();
  });

  it('polls every 1000 ms by default and sends every open page a snapshot on each poll', async () => {
    assert.equal(config.DASHBOARD_POLL_MS, 1000);
    const page = watcher();
    hub.add(page.response);
    for (let poll = 1; poll <= 3; poll++) {
      mock.timers.tick(999);
      await settle();
      assert.equal(page.snapshots().length, poll - 1, `nothing before ${poll * 1000} ms`);
      mock.timers.tick(1);
      await settle();
      assert.equal(page.snapshots().length, poll, `a snapshot at ${poll * 1000} ms`);
    }
    assert.equal(page.snapshots()[0]?.pollMs, 1000);
  });

  it('shows a source that does not answer as such, and the rest of the snapshot as usual', async () => {
    const page = watcher();
    hub.add(page.response);
    mock.timers.tick(config.DASHBOARD_POLL_MS);
    await settle();
    const [snapshot] = page.snapshots();
    assert.ok(snapshot, 'a snapshot was sent');
    assert.deepEqual(snapshot.sources, {
      operator: { ok: true },
      switch: { ok: true },
      allocator: { ok: false, error: 'allocator: connect ECONNREFUSED 127.0.0.1:3002' },
    });
    assert.equal(snapshot.memory, null, 'no memory map from an allocator that did not answer');
    assert.deepEqual(
      snapshot.tenants.map((tenant) => [tenant.id, tenant.vms.map((vm) => [vm.id, vm.port]), tenant.rxFrames]),
      [['tenant-a', [['vm-a1', 1]], 10]],
      'the topology and counters from the operator and the switch',
    );
    assert.equal(snapshot.switch?.ports, 1);
  });
});
