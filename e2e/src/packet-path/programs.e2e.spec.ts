import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, seedVmRegistry, startTestRedis, type TestRedis } from '@tenantlab/lab';
import { PORT_KEYS, REDIS_KEYS } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { eventually } from '../lab-process';
import { adminRequest, ServiceProcess } from '../service-process';
import { receivedSequences, rxFrameCount, sendFrames, sequencedFrame } from './port-traffic';

const VMS = { 'vm-a1': 'tenant-a', 'vm-a2': 'tenant-a', 'vm-b1': 'tenant-b', 'vm-b2': 'tenant-b' } as const;
type Vm = keyof typeof VMS;

/** A port ACL: drops the destination ports a table entry names, counts every frame it sees. */
function portAcl(version: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'port_acl',
    version,
    counters: [{ name: 'seen', size: 1, kind: 'packets' }],
    actions: [
      { name: 'allow', ops: [{ op: 'counter.count', counter: 'seen', index: { const: 0 } }] },
      { name: 'deny', ops: [{ op: 'counter.count', counter: 'seen', index: { const: 0 } }, { op: 'drop' }] },
    ],
    tables: [
      {
        name: 'acl',
        key: [{ field: 'l4.dport', match: 'exact' }],
        actions: ['allow', 'deny'],
        defaultAction: { action: 'allow' },
        size: 16,
      },
    ],
    control: [{ table: 'acl' }],
    ...extra,
  };
}

function frame(from: Vm, to: Vm, dstPort: number, seq: number): Buffer {
  return sequencedFrame(from, to, seq, { dstPort });
}

/**
 * Tenant programs end to end with real processes: the allocator links a program into a pipeline version in Redis,
 * the switch follows the versions and runs the program on the tenant's frames only. Kafka is left out on purpose.
 */
describe('tenant programs: allocator to switch, on real processes and Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let allocator: ServiceProcess;
  let sw: ServiceProcess;

  const send = (from: Vm, frames: Buffer[]): Promise<void> => sendFrames(admin, from, frames);
  const received = (vm: Vm): Promise<number[]> => receivedSequences(admin, vm);
  const submit = (tenant: string, program: unknown): ReturnType<typeof adminRequest<{ version: number }>> =>
    adminRequest('PUT', `${allocator.url}/tenants/${tenant}/program`, {
      vms: Object.keys(VMS).filter((vm) => VMS[vm as Vm] === tenant),
      program,
    });
  const installedVersion = async (): Promise<number> =>
    (await adminRequest<{ programs: { version: number } }>('GET', `${sw.url}/dataplane`)).body.programs.version;

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
    // The last test restarts Redis: this client reconnects by itself, and its refused attempts are expected.
    admin.on('error', () => undefined);
    await seedVmRegistry(admin, VMS);
    const deadKafka = `127.0.0.1:${await freeLoopbackPort()}`;
    allocator = await (
      await ServiceProcess.create('allocator', 'allocator', { REDIS_URL: redis.url, KAFKA_BROKERS: deadKafka })
    ).start(30_000, '/health');
    sw = await (
      await ServiceProcess.create('switch', 'switch', {
        REDIS_URL: redis.url,
        KAFKA_BROKERS: deadKafka,
        PORT_SCAN_INTERVAL_MS: '100',
        TRACE_SAMPLING_RATE: '0',
      })
    ).start(30_000, '/health');
  });

  after(async () => {
    await sw?.stop();
    await allocator?.stop();
    admin?.disconnect();
    await redis?.stop();
  });

  it("runs a tenant's program on that tenant's frames only, with entries it adds at run time", async () => {
    const submitted = await submit('tenant-a', portAcl(1));
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    await eventually('the switch to install the program', 10_000, async () =>
      (await installedVersion()) === submitted.body.version ? true : undefined,
    );
    const entry = await adminRequest<{ entries: number }>('POST', `${sw.url}/tenants/tenant-a/tables/acl/entries`, {
      key: [{ value: 6666 }],
      action: 'deny',
    });
    assert.equal(entry.status, 201, JSON.stringify(entry.body));
    const bad = await adminRequest<{ error: { code: string } }>(
      'POST',
      `${sw.url}/tenants/tenant-a/tables/acl/entries`,
      {
        key: [{ value: 1 }, { value: 2 }],
        action: 'deny',
      },
    );
    assert.equal(bad.status, 400, 'an entry with the wrong key arity is refused');
    assert.equal((await adminRequest('GET', `${sw.url}/tenants/tenant-b/program`)).status, 404);

    await send('vm-a2', [frame('vm-a2', 'vm-a1', 9, 0)]); // a2 announces itself: unicast from now on
    await send('vm-a1', [
      frame('vm-a1', 'vm-a2', 6000, 1),
      frame('vm-a1', 'vm-a2', 6666, 2),
      frame('vm-a1', 'vm-a2', 6000, 3),
    ]);
    await send('vm-b1', [frame('vm-b1', 'vm-b2', 6666, 4)]); // tenant B has no program: nothing drops port 6666
    await eventually('the last frames through', 10_000, async () =>
      (await received('vm-a2')).includes(3) && (await received('vm-b2')).includes(4) ? true : undefined,
    );
    assert.deepEqual(await received('vm-a2'), [1, 3], "tenant A's program dropped port 6666");
    assert.deepEqual(await received('vm-b2'), [4], "tenant A's program never saw tenant B's frame");
    const seen = await adminRequest<{ packets: number }>('GET', `${sw.url}/tenants/tenant-a/counters/seen/0`);
    assert.equal(seen.body.packets, 4, "the counter saw all four of tenant A's frames, and only those");
  });

  it('swaps in a new version under traffic without losing a frame, and a refused program changes nothing', async () => {
    await admin.del(PORT_KEYS.rx('vm-a2'));
    const before = await installedVersion();
    const total = 3000;
    const sending = (async () => {
      for (let seq = 0; seq < total; seq += 100) {
        await send(
          'vm-a1',
          Array.from({ length: 100 }, (_, i) => frame('vm-a1', 'vm-a2', 6000, 10_000 + seq + i)),
        );
      }
    })();
    const replaced = await submit('tenant-a', portAcl(2));
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    const oversize = await submit('tenant-a', portAcl(3, { registers: [{ name: 'huge', width: 64, size: 65_536 }] }));
    assert.ok(
      [400, 409].includes(oversize.status),
      `oversize refused: ${oversize.status} ${JSON.stringify(oversize.body)}`,
    );
    await sending;
    await eventually('version 2 running', 10_000, async () => ((await installedVersion()) > before ? true : undefined));
    await eventually(`all ${total} frames`, 30_000, async () =>
      (await rxFrameCount(admin, 'vm-a2')) >= total ? true : undefined,
    );
    assert.deepEqual(
      await received('vm-a2'),
      Array.from({ length: total }, (_, i) => 10_000 + i),
    );
    assert.equal(await installedVersion(), replaced.body.version, 'the refused program left the running version');
  });

  it('keeps the running version when the stored pipeline is garbage, says why, and installs the next good one', async () => {
    const running = await installedVersion();
    const stored = await admin.get(REDIS_KEYS.pipelineCurrent);
    assert.ok(stored, 'a pipeline is stored');
    const status = async (): Promise<{ version: number; lastError?: string }> =>
      (await adminRequest<{ programs: { version: number; lastError?: string } }>('GET', `${sw.url}/dataplane`)).body
        .programs;
    for (const [garbage, reason] of [
      ['{"version": 99, "tenants": ', /not JSON/],
      [JSON.stringify({ version: 100, tenants: { 'tenant-a': { program: 5 } } }), /tenants\.tenant-a\.program/],
    ] as const) {
      await admin.set(REDIS_KEYS.pipelineCurrent, garbage);
      await admin.xadd(REDIS_KEYS.pipelineVersions, '*', 'version', 'garbage');
      const refused = await eventually('the switch to refuse it', 10_000, async () => {
        const now = await status();
        return reason.test(now.lastError ?? '') ? now : undefined;
      });
      assert.equal(refused.version, running, 'the running version stays');
    }
    // The allocator links on top of what is stored: put the good pipeline back, then submit a new program.
    await admin.set(REDIS_KEYS.pipelineCurrent, stored);
    const next = await submit('tenant-a', portAcl(4));
    assert.equal(next.status, 200, JSON.stringify(next.body));
    const installed = await eventually('the next good version', 10_000, async () => {
      const now = await status();
      return now.version === next.body.version ? now : undefined;
    });
    assert.equal(installed.lastError, undefined, 'no refusal is left showing once a good version runs');
  });

  it('zeroes the register slice a new program gets, even where an earlier program left its state', async () => {
    const tally = {
      name: 'tally',
      version: 1,
      registers: [{ name: 'frames', width: 32, size: 4 }],
      actions: [
        {
          name: 'count',
          ops: [{ op: 'register.add', register: 'frames', index: { const: 0 }, value: { const: 1 } }],
        },
      ],
      tables: [
        {
          name: 'any',
          key: [{ field: 'l4.dport', match: 'exact' }],
          actions: ['count'],
          defaultAction: { action: 'count' },
          size: 1,
        },
      ],
      control: [{ table: 'any' }],
    };
    const frames = async (): Promise<string> =>
      (await adminRequest<{ value: string }>('GET', `${sw.url}/tenants/tenant-b/registers/frames/0`)).body.value;
    const install = async (): Promise<Record<string, unknown>> => {
      const submitted = await adminRequest<{ version: number; pageTable: Record<string, unknown> }>(
        'PUT',
        `${allocator.url}/tenants/tenant-b/program`,
        { vms: ['vm-b1', 'vm-b2'], program: tally },
      );
      assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
      await eventually('the switch to run the tally', 10_000, async () =>
        (await installedVersion()) >= submitted.body.version ? true : undefined,
      );
      return submitted.body.pageTable;
    };
    const first = await install();
    await send('vm-b1', [frame('vm-b1', 'vm-b2', 7000, 500), frame('vm-b1', 'vm-b2', 7000, 501)]);
    await eventually('two frames counted', 10_000, async () => ((await frames()) === '2' ? true : undefined));

    const removed = await adminRequest<{ version: number }>('DELETE', `${allocator.url}/tenants/tenant-b/program`);
    assert.equal(removed.status, 204);
    await eventually('the switch to run the version without it', 10_000, async () =>
      (await adminRequest('GET', `${sw.url}/tenants/tenant-b/registers/frames/0`)).status === 404 ? true : undefined,
    );
    const second = await install();
    assert.deepEqual(second, first, 'the same slice again, still holding the old count in memory');
    assert.equal(await frames(), '0', 'a new program starts from zeroed registers');
  });

  // Last in this file: it restarts Redis.
  it('agrees with the allocator after Redis restarts empty: the lost programs are linked again in a new epoch', async () => {
    type Pipeline = { version: number; epoch?: string; tenants: Record<string, unknown> };
    type Installed = { version: number; epoch: string; tenants: string[] };
    const installed = async (): Promise<Installed> =>
      (await adminRequest<{ programs: Installed }>('GET', `${sw.url}/dataplane`)).body.programs;
    const linked = async (): Promise<Pipeline> =>
      (await adminRequest<Pipeline>('GET', `${allocator.url}/pipeline`)).body;
    assert.equal((await submit('tenant-a', portAcl(10))).status < 300, true);
    const before = await linked();
    assert.ok(before.version >= 2 && before.epoch, `a history of several versions: ${JSON.stringify(before)}`);
    await eventually('the switch to run the latest version', 10_000, async () =>
      (await installed()).version === before.version ? true : undefined,
    );

    await redis.restartEmpty();
    await seedVmRegistry(admin, VMS);
    // The allocator links the programs Redis lost again: version 1 of a new history, lower than what the switch
    // runs, so only the epoch says it is newer.
    const restored = await eventually('the allocator to link the lost programs again', 15_000, async () => {
      const now = await linked();
      return now.version === 1 ? now : undefined;
    });
    assert.notEqual(restored.epoch, before.epoch);
    assert.deepEqual(restored.tenants, before.tenants, 'the same programs and page tables');
    const running = await eventually('the switch to run the new epoch', 15_000, async () => {
      const now = await installed();
      return now.epoch === restored.epoch ? now : undefined;
    });
    assert.deepEqual([running.version, [...running.tenants].sort()], [1, Object.keys(before.tenants).sort()]);
    // The new history goes on from there.
    const submitted = await submit('tenant-b', portAcl(1));
    assert.ok(submitted.status < 300, JSON.stringify(submitted.body));
    const after = await linked();
    assert.deepEqual([after.version, after.epoch], [2, restored.epoch]);
  });
});
