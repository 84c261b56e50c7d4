import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, seedVmRegistry, startTestRedis, type TestRedis } from '@tenantlab/lab';
import { packPortFrames, PORT_CAPACITY_FRAMES, PORT_ENTRY_FIELDS, PORT_KEYS } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { eventually } from '../lab-process';
import { adminRequest, ServiceProcess } from '../service-process';
import { receivedSequences, rxFrameCount, sendFrames, sequencedFrame } from './port-traffic';

/**
 * vm-bad is registered first, so the switch's port scan meets its tx key (a string) before any other VM's: the scan
 * used to stop there, for every VM after it.
 */
const VMS = {
  'vm-bad': 'tenant-a',
  'vm-a1': 'tenant-a',
  'vm-a2': 'tenant-a',
  'vm-a3': 'tenant-a',
  'vm-b1': 'tenant-b',
  'vm-b2': 'tenant-b',
} as const;
type Vm = keyof typeof VMS;

interface PortCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  drops: Record<string, number>;
}

interface Dataplane {
  counters: { ports: Record<string, PortCounters | undefined> };
  ports: { vm: string }[];
  faults: Record<string, number>;
  quarantined: Record<string, { reason: string }>;
}

const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/**
 * What a VM can do to its own keys, against the switch as a process on a real Redis (Kafka absent on purpose): keys
 * of the wrong type, oversized entries, writing past its tx bound. Each time the misbehaving port is contained and
 * counted, and the others' frames are delivered and counted from what Redis applied.
 */
describe('the switch against what a VM can do to its own keys, on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let sw: ServiceProcess;

  const dataplane = async (): Promise<Dataplane> => (await adminRequest<Dataplane>('GET', `${sw.url}/dataplane`)).body;
  const countersOf = async (vm: Vm): Promise<PortCounters> =>
    (await dataplane()).counters.ports[vm] ?? { rxFrames: 0, rxBytes: 0, txFrames: 0, drops: {} };
  const frames = (from: Vm, to: string, first: number, count: number): Buffer[] =>
    Array.from({ length: count }, (_, i) => sequencedFrame(from, to, first + i));

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
    await seedVmRegistry(admin, VMS);
    await admin.set(PORT_KEYS.tx('vm-bad'), 'not a stream');
    sw = await ServiceProcess.create('switch', 'switch', {
      REDIS_URL: redis.url,
      KAFKA_BROKERS: `127.0.0.1:${await freeLoopbackPort()}`,
      PORT_SCAN_INTERVAL_MS: '100',
      TRACE_SAMPLING_RATE: '0',
    });
    await sw.start(30_000, '/health');
  });

  after(async () => {
    await sw?.stop();
    admin?.disconnect();
    await redis?.stop();
  });

  it('quarantines a port whose tx key is of another type, and attaches and serves every VM after it', async () => {
    const state = await eventually('all six ports attached', 10_000, async () => {
      const shown = await dataplane();
      return shown.ports.length === 6 ? shown : undefined;
    });
    assert.match(state.quarantined['vm-bad']?.reason ?? '', /WRONGTYPE|string/);
    assert.ok((state.faults['vm-bad'] ?? 0) >= 1);

    // vm-a1 broadcasts: vm-a2 and vm-a3 get every frame; the copy for quarantined vm-bad is dropped and counted.
    await sendFrames(admin, 'vm-a1', frames('vm-a1', BROADCAST, 0, 20));
    await eventually('20 frames at vm-a2 and vm-a3', 10_000, async () =>
      (await rxFrameCount(admin, 'vm-a2')) === 20 && (await rxFrameCount(admin, 'vm-a3')) === 20 ? true : undefined,
    );
    assert.deepEqual(await receivedSequences(admin, 'vm-a2'), [...Array(20).keys()]);
    await eventually('the deliveries counted', 5_000, async () =>
      (await countersOf('vm-a2')).txFrames === 20 ? true : undefined,
    );
    const sender = await countersOf('vm-a1');
    assert.equal(sender.rxFrames, 20);
    assert.equal(sender.drops['port-quarantined'], 20);
    assert.equal((await countersOf('vm-a3')).txFrames, 20);
    assert.equal(await admin.exists(PORT_KEYS.rx('vm-bad')), 0, 'nothing written for the quarantined port');
  });

  it("delivers and counts a tenant-mate's copies when one destination's rx is of another type", async () => {
    await admin.del(PORT_KEYS.rx('vm-a2'), PORT_KEYS.rx('vm-a3'));
    await admin.set(PORT_KEYS.rx('vm-a3'), 'not a stream');
    const before = await countersOf('vm-a2');
    const sent = frames('vm-a1', BROADCAST, 100, 20);
    await sendFrames(admin, 'vm-a1', sent);
    await eventually('vm-a3 quarantined', 10_000, async () =>
      (await dataplane()).quarantined['vm-a3'] ? true : undefined,
    );
    await eventually('20 frames at vm-a2, counted', 10_000, async () =>
      (await countersOf('vm-a2')).txFrames === before.txFrames + 20 ? true : undefined,
    );
    // Exactly once: the batch was not read and delivered again because vm-a3's write failed.
    assert.deepEqual(
      await receivedSequences(admin, 'vm-a2'),
      Array.from({ length: 20 }, (_, i) => 100 + i),
    );
    assert.equal(await admin.xlen(PORT_KEYS.tx('vm-a1')), 0, "vm-a1's frames are all acknowledged and gone");
    const sender = await countersOf('vm-a1');
    const refused = (sender.drops['port-fault'] ?? 0) + (sender.drops['port-quarantined'] ?? 0) - 40;
    assert.equal(refused, 20, "every copy for vm-a3 counted as dropped (vm-bad's 40 under port-quarantined)");
    await admin.del(PORT_KEYS.rx('vm-a3'));
  });

  it('drops an oversized entry with a reason, without it ever leaving Redis, and forwards what follows', async () => {
    // Under Redis's proto-max-bulk-len (1 MiB, which refuses anything bigger outright), far over the switch's limit.
    const huge = Buffer.alloc(900 * 1024, 7);
    const before = await countersOf('vm-b1');
    const sentBefore = await netOutputBytes(admin);
    await admin.xadd(PORT_KEYS.tx('vm-b1'), '*', PORT_ENTRY_FIELDS.frame, huge);
    await sendFrames(admin, 'vm-b1', frames('vm-b1', 'vm-b2', 500, 1));
    await eventually('the oversized entry counted', 10_000, async () =>
      (await countersOf('vm-b1')).drops['oversized-entry'] === (before.drops['oversized-entry'] ?? 0) + 1
        ? true
        : undefined,
    );
    // Everything Redis sent anyone meanwhile (the switch's reads, this test's few replies) is far below the entry.
    const sent = (await netOutputBytes(admin)) - sentBefore;
    assert.ok(sent < huge.length / 2, `Redis sent ${sent} bytes while the switch handled a 900 KiB entry`);
    await eventually('the frame after it delivered', 10_000, async () =>
      (await receivedSequences(admin, 'vm-b2')).includes(500) ? true : undefined,
    );
    const after = await countersOf('vm-b1');
    assert.equal(after.rxFrames, before.rxFrames + 2);
    assert.equal(after.rxBytes - before.rxBytes >= huge.length, true, 'its bytes are counted as received');
    assert.equal(after.drops['malformed'] ?? 0, before.drops['malformed'] ?? 0, 'never parsed as a frame');
  });

  it('drops and counts what a VM writes beyond its tx bound, the newest entries, unread, each frame', async () => {
    await admin.del(PORT_KEYS.rx('vm-b2'));
    const before = await countersOf('vm-b1');
    const deliveredBefore = (await countersOf('vm-b2')).txFrames;
    const beyond = 1000;
    const burstFrames = frames('vm-b1', 'vm-b2', 0, PORT_CAPACITY_FRAMES + beyond);
    // One MULTI: the whole burst lands between two of the switch's reads, PORT_CAPACITY_FRAMES entries of a frame
    // each, then 20 packed entries of 50 frames (issue 11): the 20 beyond the bound count as their 1000 frames.
    const burst = admin.multi();
    for (const frame of burstFrames.slice(0, PORT_CAPACITY_FRAMES)) {
      burst.xadd(PORT_KEYS.tx('vm-b1'), '*', PORT_ENTRY_FIELDS.frame, frame);
    }
    for (let at = PORT_CAPACITY_FRAMES; at < burstFrames.length; at += 50) {
      const packed = packPortFrames(burstFrames.slice(at, at + 50).map((frame) => ({ frame })));
      burst.xadd(PORT_KEYS.tx('vm-b1'), '*', PORT_ENTRY_FIELDS.frames, packed);
    }
    await burst.exec();
    await eventually("vm-b1's tx emptied", 20_000, async () =>
      (await admin.xlen(PORT_KEYS.tx('vm-b1'))) === 0 ? true : undefined,
    );
    const after = await eventually('every entry counted', 10_000, async () => {
      const counters = await countersOf('vm-b1');
      return counters.rxFrames === before.rxFrames + PORT_CAPACITY_FRAMES + beyond ? counters : undefined;
    });
    assert.equal(after.drops['tx-over-bound'] ?? 0, (before.drops['tx-over-bound'] ?? 0) + beyond);
    // The entries within the bound went on (as far as vm-b2's rx had room); none of those beyond it.
    const received = await receivedSequences(admin, 'vm-b2');
    assert.ok(received.length > 0);
    assert.ok(
      received.every((seq) => seq < PORT_CAPACITY_FRAMES),
      'only entries within the bound were forwarded',
    );
    const delivered = (await countersOf('vm-b2')).txFrames - deliveredBefore;
    const rxFull = (after.drops['rx-full'] ?? 0) - (before.drops['rx-full'] ?? 0);
    assert.equal(delivered + rxFull, PORT_CAPACITY_FRAMES, 'each entry within the bound delivered or dropped once');
    assert.equal(delivered, received.length);
  });
});

/** Bytes Redis has sent to all its clients so far. */
async function netOutputBytes(admin: Redis): Promise<number> {
  const info = await admin.info('stats');
  const match = /^total_net_output_bytes:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO stats has no total_net_output_bytes');
  return Number(match[1]);
}
