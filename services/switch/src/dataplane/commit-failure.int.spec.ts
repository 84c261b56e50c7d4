import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis, waitFor } from '@tenantlab/lab';
import {
  buildFrame,
  createRedisClient,
  JsonLogger,
  type LogLevel,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  portEntryContent,
  REDIS_KEYS,
  SWITCH_CONSUMER_GROUP,
  vmMacAddress,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import type { TrafficCounters } from '../pipeline/switch-counters';
import { startTestDataplane } from '../testing/test-dataplane';
import type { DataplaneService } from './dataplane.service';

/** A VM sending frames (see `sender`), and how many it has sent. */
interface Sender {
  send(frames: number): Promise<void>;
  sent(): number;
}

/** The switch's log, kept: the test waits for the data path to report its failed commits. */
class KeptLogger extends JsonLogger {
  readonly warnings: string[] = [];

  override record(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (level === 'warn') this.warnings.push(msg);
    super.record(level, msg, fields);
  }
}

/**
 * Commits that fail for real (issue 10): the switch's own Redis user loses XADD for a while, so each batch's MULTI is
 * refused whole (EXECABORT: nothing applied, its entries stay pending and are read again). Every frame sent must
 * still be counted once: rx equals what was sent, and rx = delivered + drops exactly.
 */
describe('the switch counts each frame once across commits that fail', () => {
  let redis: TestRedis;
  let admin: Redis;
  let switchConnection: Redis;
  let dataplane: DataplaneService;
  const logger = new KeptLogger('switch', 'error');
  const name = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;
  const switchUser = `switch-${randomBytes(3).toString('hex')}`;
  const password = randomBytes(16).toString('hex');

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url, { maxRetriesPerRequest: null });
      admin.on('error', () => undefined);
      await admin.call('ACL', 'SETUSER', switchUser, 'on', `>${password}`, '~*', '&*', '+@all');
      // As the switch connects in a lab (createRedisClient), as a user of its own whose rights the test takes away.
      switchConnection = createRedisClient(
        `redis://${switchUser}:${password}@127.0.0.1:${redis.port}`,
        'switch',
        logger,
      );
      dataplane = startTestDataplane(switchConnection, logger, 'commit-test');
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await dataplane?.onApplicationShutdown();
    switchConnection?.disconnect();
    admin?.disconnect();
    await redis?.stop();
  });

  /** What the operator does at registration, in the part the switch reads: a tenant of two VMs, with their streams. */
  async function tenantOfTwo(vlan: number): Promise<[string, string]> {
    const tenant = name('t');
    const vms: [string, string] = [name('vm-1'), name('vm-2')];
    for (const vm of vms) {
      await admin
        .multi()
        .hset(REDIS_KEYS.tenantVlans, tenant, vlan)
        .hset(REDIS_KEYS.vm(vm), 'tenant', tenant)
        .zadd(REDIS_KEYS.vmIndex, Date.now(), vm)
        .exec();
      await admin.xgroup('CREATE', PORT_KEYS.tx(vm), SWITCH_CONSUMER_GROUP, '0', 'MKSTREAM');
      await admin.xadd(PORT_KEYS.rx(vm), '0-1', 'init', '1');
      await admin.xdel(PORT_KEYS.rx(vm), '0-1');
    }
    const attached = (): boolean => vms.every((vm) => dataplane.ports().some((port) => port.vm === vm));
    await waitFor('the switch to attach both ports', 10_000, () => (attached() ? true : undefined));
    return vms;
  }

  /**
   * `from` sends frames as its VM does, in pipelines of 16: even ones to `to` (delivered), odd ones to itself
   * (dropped: `same-port`, once the first frame has taught the switch its MAC).
   */
  function sender(from: string, to: string): Sender {
    let sent = 0;
    const frame = (seq: number): Buffer => {
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(seq, 4);
      const dstMac = vmMacAddress(seq % 2 === 0 ? to : from);
      return buildFrame({ dstMac, srcMac: vmMacAddress(from), etherType: 0x88b5, payload });
    };
    return {
      sent: () => sent,
      async send(frames: number): Promise<void> {
        for (let done = 0; done < frames; done += 16) {
          const pipeline = admin.pipeline();
          for (let i = 0; i < 16; i++) pipeline.xadd(PORT_KEYS.tx(from), '*', PORT_ENTRY_FIELDS.frame, frame(sent + i));
          const replies = (await pipeline.exec()) ?? [];
          assert.ok(
            replies.every(([error]) => !error),
            'the VM side writes',
          );
          sent += 16;
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
    };
  }

  /** A tenant of two VMs, the first sending `frames` to the second to begin with: the two VMs and the sender. */
  async function pairSending(vlan: number, frames: number): Promise<[string, string, Sender]> {
    const [from, to] = await tenantOfTwo(vlan);
    const frameSender = sender(from, to);
    await frameSender.send(frames);
    return [from, to, frameSender];
  }

  const counters = (): Record<string, TrafficCounters | undefined> =>
    (dataplane.show().counters as { ports: Record<string, TrafficCounters> }).ports;

  /** Waits until every frame `from` sent is counted, then checks each is counted once and delivered at most once. */
  async function balances(from: string, to: string, sent: number): Promise<void> {
    const settled = await waitFor('every frame sent to be counted', 30_000, () => {
      const { [from]: a, [to]: b } = counters();
      if (!a || !b) return undefined;
      const drops = Object.values(a.drops).reduce((sum, n) => sum + (n ?? 0), 0);
      return a.rxFrames >= sent && b.txFrames + drops >= sent ? { a, b, drops } : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}: sent ${sent}, ${JSON.stringify(dataplane.show())}`);
    });
    assert.equal(settled.a.rxFrames, sent, 'every frame sent is received once');
    assert.equal(settled.b.txFrames + settled.drops, sent, 'delivered + dropped = sent');
    // A lossy impairment at `to` drops some of the frames for it, each counted once.
    const lost = settled.a.drops['impaired-loss'] ?? 0;
    assert.deepEqual(settled.a.drops, { 'same-port': sent / 2, ...(lost > 0 ? { 'impaired-loss': lost } : {}) });
    const entries = await admin.xrangeBuffer(PORT_KEYS.rx(to), '-', '+');
    // An rx entry may carry many frames (issue 11): each frame's sequence number, whatever entry carried it.
    const seqs = entries.flatMap(([, fields]) =>
      portEntryContent(fields).frames.map(({ frame }) => frame.readUInt32BE(frame.length - 4)),
    );
    assert.equal(new Set(seqs).size, seqs.length, `${to} received no frame twice`);
    assert.equal(seqs.length, sent / 2 - lost, `${to}'s rx holds each frame for it`);
  }

  const failedCommits = (): number => logger.warnings.filter((warning) => warning.includes('EXECABORT')).length;
  const batches = (): number => dataplane.show().batches as number;

  it(
    'rx = frames sent = delivered + dropped, with batches refused whole and read again, their counts shown as awaitingCommitOutcome meanwhile',
    { timeout: 120_000 },
    async () => {
      const [a1, a2, a] = await pairSending(100, 1024);
      await waitFor('the first frames through', 20_000, () => ((counters()[a1]?.rxFrames ?? 0) > 0 ? true : undefined));

      await admin.call('ACL', 'SETUSER', switchUser, '-xadd');
      const failed = failedCommits;
      await a.send(2048);
      await waitFor('a commit to fail', 30_000, () => (failed() >= 1 ? true : undefined));
      // GET /dataplane shows the entries whose counts wait for their commit's outcome, per VM (README).
      const awaiting = (): Record<string, number> | undefined =>
        dataplane.show().awaitingCommitOutcome as Record<string, number> | undefined;
      const waiting = await waitFor('awaitingCommitOutcome in GET /dataplane', 30_000, () => awaiting());
      assert.deepEqual(Object.keys(waiting), [a1], 'per VM, the sender only');
      assert.ok((waiting[a1] ?? 0) > 0 && (waiting[a1] ?? 0) <= a.sent(), `entries of ${a1}: ${waiting[a1]}`);
      // Each batch after that reads the failed ones' entries again, decides them and fails in turn: let a few do so.
      const after = batches();
      await waitFor('batches to be retried', 30_000, () => (batches() >= after + 3 ? true : undefined));
      await admin.call('ACL', 'SETUSER', switchUser, '+xadd');
      await a.send(1024);
      await balances(a1, a2, a.sent());
      assert.ok(failed() >= 1, 'commits failed meanwhile');
      assert.equal(awaiting(), undefined, 'nothing awaits an outcome once every frame is counted');
    },
  );

  it(
    'a port impairment holds (and loses) each frame once, and it is delivered once, across batches refused whole',
    { timeout: 120_000 },
    async () => {
      const [c1, c2] = await tenantOfTwo(102);
      // Frames for c2 wait 300 ms in its impairment, and a fifth are lost, counted.
      dataplane.impairments.set(c2, { delayMs: 300, lossRate: 0.2 });
      const c = sender(c1, c2);
      await c.send(256);
      await balances(c1, c2, c.sent());
      const failedBefore = failedCommits();
      // Without XACK every commit that acknowledges entries is refused whole, those whose deliveries the impairment
      // holds included (without XADD, they would apply: they write nothing to an rx).
      await admin.call('ACL', 'SETUSER', switchUser, '-xack');
      // Held by a batch whose commit is refused, a frame's entry is read again, decided again and held again.
      await c.send(512);
      await waitFor('a commit to fail', 30_000, () => (failedCommits() > failedBefore ? true : undefined));
      const after = batches();
      await waitFor('batches to be retried', 30_000, () => (batches() >= after + 3 ? true : undefined));
      await admin.call('ACL', 'SETUSER', switchUser, '+xack');
      await balances(c1, c2, c.sent());
      assert.deepEqual(dataplane.impairments.view(c2).held, { frames: 0, bytes: 0 }, 'nothing left held');
    },
  );

  it(
    'rx = frames sent = delivered + dropped, each delivered once, with the connection killed mid-traffic',
    { timeout: 180_000 },
    async () => {
      const [b1, b2, b] = await pairSending(101, 512);
      let kills = 0;
      // The data path's connection killed again and again while frames flow: some commits and reads are cut off mid-way.
      while (kills < 30) {
        // After a kill, ioredis reconnects after a delay of its own, and frames a read took just before the kill can
        // still be counted meanwhile: the next kill waits for the connection to be back, not only for frames.
        let clients = '';
        const id = await waitFor("the switch's data path connection to be listed", 30_000, async () => {
          clients = String(await admin.call('CLIENT', 'LIST'));
          return /(?:^|\n)id=(\d+) [^\n]* name=switch:ports /.exec(clients)?.[1];
        }).catch((error: Error) => {
          throw new Error(`${error.message}: ${clients}`);
        });
        await admin.call('CLIENT', 'KILL', 'ID', id);
        kills += 1;
        const before = counters()[b1]?.rxFrames ?? 0;
        await b.send(256);
        // The next kill once the switch has reconnected and carried frames again.
        await waitFor('frames after the kill', 30_000, () =>
          (counters()[b1]?.rxFrames ?? 0) > before ? true : undefined,
        );
      }
      await balances(b1, b2, b.sent());
    },
  );
});
