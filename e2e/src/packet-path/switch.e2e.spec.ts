import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, seedVmRegistry, startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  PORT_CAPACITY_BYTES,
  PORT_CAPACITY_FRAMES,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  TENANT_PORT_BUDGETS,
  withVlanTag,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { eventually } from '../lab-process';
import { adminRequest, ServiceProcess } from '../service-process';
import { receivedSequences, rxFrameBytes, rxFrameCount, sendFrames, sequencedFrame } from './port-traffic';

const VMS = { 'vm-a1': 'tenant-a', 'vm-a2': 'tenant-a', 'vm-a3': 'tenant-a', 'vm-b1': 'tenant-b' } as const;
type Vm = keyof typeof VMS;

/** A UDP frame from one VM to another (or to a given MAC), its payload a sequence number for exactly-once checks. */
function frame(from: Vm, to: string, seq: number): Buffer {
  return sequencedFrame(from, to, seq, { payloadBytes: 32 });
}

interface Dataplane {
  counters: { ports: Record<string, { rxFrames: number; txFrames: number; drops: Record<string, number> }> };
  traces: { published: number; dropped: number };
  ports: { vm: string }[];
  sampling: Record<string, number>;
}

/**
 * The switch as a process on a real Redis, fed through the VMs' port streams. Kafka is deliberately absent (nothing
 * listens on its port): forwarding must not depend on it, and the traces it cannot publish are counted.
 */
describe('the switch data path on a real Redis, with Kafka down', () => {
  let redis: TestRedis;
  let admin: Redis;
  let sw: ServiceProcess;
  let kafkaPort: number;

  const startSwitch = async (port?: number): Promise<ServiceProcess> => {
    const process = await ServiceProcess.create('switch', 'switch', {
      REDIS_URL: redis.url,
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      PORT_SCAN_INTERVAL_MS: '100',
      TRACE_SAMPLING_RATE: '1',
      COUNTERS_INTERVAL_MS: '200',
      ...(port ? { PORT: String(port) } : {}),
    });
    if (port) Object.assign(process, { port });
    return process.start(30_000, '/health');
  };

  const dataplane = async (): Promise<Dataplane> => (await adminRequest<Dataplane>('GET', `${sw.url}/dataplane`)).body;

  const send = (from: Vm, frames: Buffer[]): Promise<void> => sendFrames(admin, from, frames);
  const received = (vm: Vm): Promise<number[]> => receivedSequences(admin, vm);

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
    kafkaPort = await freeLoopbackPort();
    // The operator's registry, as it would be after the four VMs registered.
    await seedVmRegistry(admin, VMS);
    sw = await startSwitch();
    await eventually('the switch to attach all four ports', 10_000, async () =>
      (await dataplane()).ports.length === 4 ? true : undefined,
    );
  });

  after(async () => {
    await sw?.stop();
    admin?.disconnect();
    await redis?.stop();
  });

  it('forwards within a tenant, to a VM known from its attach, floods only inside it, never to the other tenant', async () => {
    // a2 has sent nothing yet, and its address is known all the same (from its port's attach): unicast, never flooded
    // to a3, its tenant-mate.
    await send('vm-a1', [frame('vm-a1', 'vm-a2', 1)]);
    await eventually('frame 1 at a2', 5_000, async () => ((await received('vm-a2')).includes(1) ? true : undefined));
    await send('vm-a2', [frame('vm-a2', 'vm-a1', 2)]);
    await eventually('frame 2 at a1', 5_000, async () => ((await received('vm-a1')).includes(2) ? true : undefined));
    await send('vm-a1', [frame('vm-a1', 'vm-a2', 3)]);
    // Attacks from tenant A: tenant B's MAC, broadcast, and B's VLAN tag of its own.
    await send('vm-a1', [
      frame('vm-a1', 'vm-b1', 4),
      frame('vm-a1', 'ff:ff:ff:ff:ff:ff', 5),
      withVlanTag(frame('vm-a1', 'vm-b1', 6), 2),
    ]);
    await eventually('the broadcast inside tenant A', 5_000, async () =>
      (await received('vm-a2')).includes(5) ? true : undefined,
    );
    assert.deepEqual(await received('vm-a2'), [1, 3, 4, 5]);
    assert.deepEqual(await received('vm-a1'), [2]);
    assert.deepEqual(await received('vm-a3'), [4, 5], 'a3 gets the floods only, none of the unicast to a2');
    assert.deepEqual(await received('vm-b1'), [], 'nothing from tenant A reaches tenant B');
    const counters = (await dataplane()).counters.ports['vm-a1'];
    assert.equal(counters?.drops['tenant-vlan-tag'], 1);
  });

  it('keeps forwarding while Kafka is down, counting the traces it could not publish', async () => {
    await eventually('traces dropped for want of Kafka', 30_000, async () => {
      const { traces } = await dataplane();
      return traces.dropped > 0 ? traces : undefined;
    });
    const before = (await received('vm-a1')).length;
    await send('vm-a2', [frame('vm-a2', 'vm-a1', 7)]);
    await eventually('a frame forwarded with Kafka down', 5_000, async () =>
      (await received('vm-a1')).length > before ? true : undefined,
    );
    assert.equal((await dataplane()).traces.published, 0);
  });

  it(
    'delivers every accepted frame exactly once across a switch killed and restarted under load',
    { timeout: 120_000 },
    async () => {
      await admin.del(PORT_KEYS.rx('vm-a2'));
      // Below PORT_CAPACITY_FRAMES: nothing reads vm-a2's rx here, and a full rx would (rightly) drop frames.
      const total = 6_000;
      const sending = (async () => {
        for (let seq = 0; seq < total; seq += 500) {
          await send(
            'vm-a1',
            Array.from({ length: 500 }, (_, i) => frame('vm-a1', 'vm-a2', 100_000 + seq + i)),
          );
        }
      })();
      await eventually('the switch forwarding part of the load', 20_000, async () =>
        (await rxFrameCount(admin, 'vm-a2')) > 1000 ? true : undefined,
      );
      const port = sw.port;
      await sw.kill();
      await sending;
      sw = await startSwitch(port);
      await eventually(`all ${total} frames in vm-a2's rx`, 60_000, async () =>
        (await rxFrameCount(admin, 'vm-a2')) >= total ? true : undefined,
      );
      const seqs = await received('vm-a2');
      assert.equal(seqs.length, total, 'no frame lost and none delivered twice');
      assert.deepEqual(
        seqs,
        Array.from({ length: total }, (_, i) => 100_000 + i),
        'in order',
      );
      assert.equal(await admin.xlen(PORT_KEYS.tx('vm-a1')), 0, 'every accepted frame was handled');
    },
  );

  it('gives a destination whose rx holds PORT_CAPACITY_FRAMES no more, counting each frame as rx-full', async () => {
    const drops = async (): Promise<number> => (await dataplane()).counters.ports['vm-a2']?.drops['rx-full'] ?? 0;
    // vm-a1's rx one short of full, as if its VM had stopped reading; vm-a2 is learned by a frame of its own.
    await admin.del(PORT_KEYS.rx('vm-a1'));
    const filler = admin.pipeline();
    for (let i = 0; i < PORT_CAPACITY_FRAMES - 1; i++) filler.xadd(PORT_KEYS.rx('vm-a1'), '*', 'frame', 'filler');
    await filler.exec();
    const dropsBefore = await drops();
    await send('vm-a2', [frame('vm-a2', 'vm-a1', 200_000)]);
    await eventually('the last frame that fits', 10_000, async () =>
      (await admin.xlen(PORT_KEYS.rx('vm-a1'))) === PORT_CAPACITY_FRAMES ? true : undefined,
    );
    await send(
      'vm-a2',
      Array.from({ length: 10 }, (_, i) => frame('vm-a2', 'vm-a1', 200_001 + i)),
    );
    await eventually('ten rx-full drops', 10_000, async () => ((await drops()) >= dropsBefore + 10 ? true : undefined));
    assert.equal(await drops(), dropsBefore + 10);
    assert.equal(await admin.xlen(PORT_KEYS.rx('vm-a1')), PORT_CAPACITY_FRAMES, 'never above its capacity');
    assert.equal(await admin.xlen(PORT_KEYS.tx('vm-a2')), 0, 'the dropped frames were handled, not left waiting');
  });

  it("reads each port's tx in consumer group `switch`, and traces the share of a tenant's frames its rate says", async () => {
    for (const vm of Object.keys(VMS)) {
      const groups = (await admin.call('XINFO', 'GROUPS', PORT_KEYS.tx(vm))) as unknown[][];
      assert.deepEqual(
        groups.map((group) => group[group.indexOf('name') + 1]),
        ['switch'],
        vm,
      );
    }
    const refused = await adminRequest<{ error: { code: string } }>('PUT', `${sw.url}/tenants/tenant-b/sampling`, {
      rate: 1.5,
    });
    assert.deepEqual([refused.status, refused.body.error.code], [400, 'VALIDATION_FAILED']);
    // A tenant the operator never declared (no VLAN in its registry) has no frames to sample: 404 naming it.
    const unknown = await adminRequest<{ error: { code: string; message: string } }>(
      'PUT',
      `${sw.url}/tenants/tenant-nobody/sampling`,
      { rate: 0.5 },
    );
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'NOT_FOUND'], JSON.stringify(unknown.body));
    assert.match(unknown.body.error.message, /tenant tenant-nobody is not declared/);
    assert.equal((await dataplane()).sampling['tenant-nobody'], undefined, 'no rate kept for it');
    // Kafka is down here, so every traced frame shows as a dropped trace: tenant B at 0 is never traced, while
    // tenant A at this suite's TRACE_SAMPLING_RATE of 1 is traced frame by frame.
    assert.equal((await adminRequest('PUT', `${sw.url}/tenants/tenant-b/sampling`, { rate: 0 })).status, 200);
    await admin.del(PORT_KEYS.rx('vm-a3'));
    const tracedBefore = (await dataplane()).traces.dropped;
    const fromB = (await dataplane()).counters.ports['vm-b1']?.rxFrames ?? 0;
    await send('vm-b1', [frame('vm-b1', 'ff:ff:ff:ff:ff:ff', 300_000), frame('vm-b1', 'ff:ff:ff:ff:ff:ff', 300_001)]);
    await eventually("tenant B's frames handled", 10_000, async () =>
      (await dataplane()).counters.ports['vm-b1']?.rxFrames === fromB + 2 ? true : undefined,
    );
    assert.equal((await dataplane()).traces.dropped, tracedBefore, 'no trace of tenant B');
    await send('vm-a1', [frame('vm-a1', 'vm-a3', 300_002), frame('vm-a1', 'vm-a3', 300_003)]);
    await eventually('two traces of tenant A', 10_000, async () =>
      (await dataplane()).traces.dropped === tracedBefore + 2 ? true : undefined,
    );
  });
});

interface TenantCounters {
  rxFrames: number;
  txFrames: number;
  drops: Record<string, number | undefined>;
}

const tenantCountersOf = async (sw: ServiceProcess, tenant: string): Promise<TenantCounters | undefined> =>
  (
    await adminRequest<{ counters: { tenants: Record<string, TenantCounters | undefined> } }>(
      'GET',
      `${sw.url}/dataplane`,
    )
  ).body.counters.tenants[tenant];

interface SeededSwitch {
  redis: TestRedis;
  admin: Redis;
  sw: ServiceProcess;
  stop(): Promise<void>;
}

/**
 * A switch process (traces off, Kafka absent, a fast port scan, `env` on top) on a fresh Redis whose registry holds
 * `vms` (VM id to tenant), once it has attached every one of their ports.
 */
async function startSeededSwitch(vms: Record<string, string>, env: Record<string, string> = {}): Promise<SeededSwitch> {
  const redis = await startTestRedis();
  const admin = new Redis(redis.url);
  let sw: ServiceProcess | undefined;
  try {
    await seedVmRegistry(admin, vms);
    const process = await ServiceProcess.create('switch', 'switch', {
      REDIS_URL: redis.url,
      KAFKA_BROKERS: `127.0.0.1:${await freeLoopbackPort()}`,
      PORT_SCAN_INTERVAL_MS: '100',
      TRACE_SAMPLING_RATE: '0',
      ...env,
    });
    const started = (sw = await process.start(30_000, '/health'));
    const count = Object.keys(vms).length;
    await eventually(`the switch to attach all ${count} ports`, 10_000, async () => {
      const { body } = await adminRequest<{ ports: unknown[] }>('GET', `${started.url}/dataplane`);
      return body.ports.length === count ? true : undefined;
    });
  } catch (error) {
    // Nothing of a start that failed is left running.
    await sw?.stop();
    admin.disconnect();
    await redis.stop();
    throw error;
  }
  const running = sw;
  return {
    redis,
    admin,
    sw: running,
    stop: async () => {
      await running.stop();
      admin.disconnect();
      await redis.stop();
    },
  };
}

/**
 * Storm control at the switch's defaults (issue 10): one tenant's 16 VMs broadcast straight into their tx streams as
 * fast as Redis takes them (emptying their rx as VMs reading their ports would), while another tenant's VM sends
 * unicast and a few broadcasts of its own.
 */
describe('a 16-VM broadcast storm against the switch, at its default storm control', () => {
  const STORM = Array.from({ length: 16 }, (_, i) => `vm-s${i}`);
  const VICTIMS = { 'vm-v1': 'tenant-v', 'vm-v2': 'tenant-v', 'vm-v3': 'tenant-v' } as const;
  let seeded: SeededSwitch;
  let admin: Redis;
  const tenantCounters = (tenant: string): Promise<TenantCounters | undefined> => tenantCountersOf(seeded.sw, tenant);

  before(async () => {
    seeded = await startSeededSwitch({ ...Object.fromEntries(STORM.map((vm) => [vm, 'tenant-s'])), ...VICTIMS });
    admin = seeded.admin;
  });

  after(() => seeded?.stop());

  it("suppresses the storm's floods as storm-control while every frame of the other tenant arrives", async () => {
    // The switch forwards before the storm starts: a frame of vm-v2 to vm-v1 (unicast: every VM's address is known
    // from its port's attach).
    await sendFrames(admin, 'vm-v2', [sequencedFrame('vm-v2', 'vm-v1', 0)]);
    await eventually('frame 0 at vm-v1', 10_000, async () =>
      (await receivedSequences(admin, 'vm-v1')).includes(0) ? true : undefined,
    );
    let storming = true;
    const stormers = STORM.map(async (vm) => {
      const client = admin.duplicate();
      const broadcast = sequencedFrame(vm, 'ff:ff:ff:ff:ff:ff', 0);
      try {
        while (storming) {
          const pipeline = client.pipeline();
          for (let i = 0; i < 64; i++) pipeline.xadd(PORT_KEYS.tx(vm), '*', PORT_ENTRY_FIELDS.frame, broadcast);
          pipeline.xtrim(PORT_KEYS.rx(vm), 'MAXLEN', 0);
          await pipeline.exec();
        }
      } finally {
        client.disconnect();
      }
    });
    try {
      await eventually('storm-control drops of the storm tenant', 30_000, async () => {
        const drops = (await tenantCounters('tenant-s'))?.drops['storm-control'] ?? 0;
        return drops > 0 ? drops : undefined;
      });
      // Under the storm, vm-v1 sends 2000 unicast frames to vm-v2 and 100 broadcasts (each copied to vm-v2 and vm-v3).
      const unicast = Array.from({ length: 2000 }, (_, i) => sequencedFrame('vm-v1', 'vm-v2', 1 + i));
      const broadcasts = Array.from({ length: 100 }, (_, i) => sequencedFrame('vm-v1', 'ff:ff:ff:ff:ff:ff', 5001 + i));
      for (let i = 0; i < 2000; i += 200) {
        await sendFrames(admin, 'vm-v1', [...unicast.slice(i, i + 200), ...broadcasts.slice(i / 20, i / 20 + 10)]);
      }
      await eventually('all of vm-v1 frames at vm-v2', 60_000, async () =>
        (await rxFrameCount(admin, 'vm-v2')) >= 2100 ? true : undefined,
      );
    } finally {
      storming = false;
      await Promise.all(stormers);
    }
    const atV2 = await receivedSequences(admin, 'vm-v2');
    assert.equal(atV2.length, 2100, 'none lost, none twice');
    assert.deepEqual(
      [...atV2].sort((a, b) => a - b),
      [...Array.from({ length: 2000 }, (_, i) => 1 + i), ...Array.from({ length: 100 }, (_, i) => 5001 + i)],
    );
    // Not frame 0: unicast to vm-v1, it was never flooded to vm-v3.
    assert.deepEqual(
      await receivedSequences(admin, 'vm-v3'),
      Array.from({ length: 100 }, (_, i) => 5001 + i),
      'every broadcast of the other tenant, in order',
    );
    const victim = await tenantCounters('tenant-v');
    assert.deepEqual(victim?.drops, {}, 'nothing of tenant-v dropped');
    const storm = await tenantCounters('tenant-s');
    console.log(`# storm tenant: ${JSON.stringify(storm)}`);
    assert.ok((storm?.drops['storm-control'] ?? 0) > 0);
  });
});

/**
 * A tenant's ports share its budget of Redis memory (issue 10: a tenant's VM count must not multiply what it holds in
 * the shared Redis). Twelve VMs of one tenant that never read their rx are flooded with jumbo frames by one of them;
 * a tenant of two VMs, which never reads either, is sent as many. Each port of the first holds at most its share of
 * TENANT_RX_BYTES (the switch's default: four ports' worth), the tenant no more than the budget; the second tenant's
 * port still holds what a port may (PORT_CAPACITY_BYTES).
 */
describe("a tenant's ports sharing its rx budget, at the switch's defaults", () => {
  const BIG = Array.from({ length: 12 }, (_, i) => `vm-r${i}`);
  const SMALL = { 'vm-q1': 'tenant-q', 'vm-q2': 'tenant-q' } as const;
  const FRAMES = 2100;
  const PAYLOAD = 8000;
  let seeded: SeededSwitch;
  let admin: Redis;
  const tenantCounters = (tenant: string): Promise<TenantCounters | undefined> => tenantCountersOf(seeded.sw, tenant);
  /** Copies delivered (tx, at the destinations) or dropped as rx-full. */
  const handled = (counters: TenantCounters | undefined): number =>
    (counters?.txFrames ?? 0) + (counters?.drops['rx-full'] ?? 0);

  before(async () => {
    // Every flood copy reaches an rx, so what bounds them is the rx budget, not storm control.
    seeded = await startSeededSwitch(
      { ...Object.fromEntries(BIG.map((vm) => [vm, 'tenant-r'])), ...SMALL },
      { SWITCH_FLOOD_COPIES_PER_SECOND: '0' },
    );
    admin = seeded.admin;
  });

  after(() => seeded?.stop());

  it('holds each port of a 12-VM tenant to its share, while a 2-VM tenant keeps its ports whole', async () => {
    const broadcasts = Array.from({ length: FRAMES }, (_, i) =>
      sequencedFrame('vm-r0', 'ff:ff:ff:ff:ff:ff', i, { payloadBytes: PAYLOAD }),
    );
    const unicast = Array.from({ length: FRAMES }, (_, i) =>
      sequencedFrame('vm-q1', 'vm-q2', i, { payloadBytes: PAYLOAD }),
    );
    for (let i = 0; i < FRAMES; i += 100) {
      await sendFrames(admin, 'vm-r0', broadcasts.slice(i, i + 100));
      await sendFrames(admin, 'vm-q1', unicast.slice(i, i + 100));
    }
    let seen: unknown;
    await eventually('every copy delivered or dropped as rx-full', 60_000, async () => {
      const counters = [await tenantCounters('tenant-r'), await tenantCounters('tenant-q')];
      seen = counters;
      // vm-r0's tx has its share of its tenant's tx budget too (some 13 MiB, under the 17 MB sent): what it wrote
      // past that before the switch read it was dropped unread as tx-over-bound, and never copied.
      const broadcast = FRAMES - (counters[0]?.drops['tx-over-bound'] ?? 0);
      return handled(counters[0]) === broadcast * (BIG.length - 1) && handled(counters[1]) === FRAMES
        ? true
        : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; last counters ${JSON.stringify(seen)}`);
    });
    const frameBytes = broadcasts[0].length;
    const share = Math.floor(TENANT_PORT_BUDGETS.rxBytes / BIG.length);
    const held: number[] = [];
    for (const vm of BIG.slice(1)) held.push(await rxFrameBytes(admin, vm));
    for (const [i, bytes] of held.entries()) {
      assert.ok(bytes <= share, `${BIG[i + 1]} holds ${bytes} bytes of frames, over its share ${share}`);
      assert.ok(bytes > share - frameBytes, `${BIG[i + 1]} holds ${bytes}: filled to its share, not short of it`);
    }
    const total = held.reduce((sum, bytes) => sum + bytes, 0);
    assert.ok(total <= TENANT_PORT_BUDGETS.rxBytes, `the tenant holds ${total}, over its budget`);
    assert.ok(((await tenantCounters('tenant-r'))?.drops['rx-full'] ?? 0) > 0, 'the rest dropped as rx-full');
    const small = await rxFrameBytes(admin, 'vm-q2');
    assert.ok(small > PORT_CAPACITY_BYTES - frameBytes, `vm-q2 holds ${small}: a small tenant's port is whole`);
    assert.ok(small <= PORT_CAPACITY_BYTES);
    console.log(`# tenant-r: ${total} bytes in 11 rx (share ${share} each); tenant-q's vm-q2: ${small}`);
  });
});
