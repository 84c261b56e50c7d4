import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  buildFrame,
  JsonLogger,
  type LogLevel,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  REDIS_KEYS,
  SWITCH_CONSUMER_GROUP,
  vmMacAddress,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { SwitchConfig } from '../config/switch.config';
import type { TrafficCounters } from '../pipeline/switch-counters';
import { DataplaneService } from './dataplane.service';

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
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
  const tenant = `t-${randomBytes(3).toString('hex')}`;
  const [a1, a2] = ['a1', 'a2'].map((n) => `vm-${n}-${randomBytes(3).toString('hex')}`);
  const switchUser = `switch-${randomBytes(3).toString('hex')}`;
  const password = randomBytes(16).toString('hex');

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url, { maxRetriesPerRequest: null });
      admin.on('error', () => undefined);
      await admin.call('ACL', 'SETUSER', switchUser, 'on', `>${password}`, '~*', '&*', '+@all');
      for (const vm of [a1, a2]) {
        await admin
          .multi()
          .hset(REDIS_KEYS.tenantVlans, tenant, 100)
          .hset(REDIS_KEYS.vm(vm), 'tenant', tenant)
          .zadd(REDIS_KEYS.vmIndex, Date.now(), vm)
          .exec();
        await admin.xgroup('CREATE', PORT_KEYS.tx(vm), SWITCH_CONSUMER_GROUP, '0', 'MKSTREAM');
        await admin.xadd(PORT_KEYS.rx(vm), '0-1', 'init', '1');
        await admin.xdel(PORT_KEYS.rx(vm), '0-1');
      }
      switchConnection = new Redis({
        host: '127.0.0.1',
        port: redis.port,
        username: switchUser,
        password,
        maxRetriesPerRequest: null,
      });
      switchConnection.on('error', () => undefined);
      const config = {
        FLOW_CACHE_SIZE: 1024,
        SWITCH_BATCH: 64,
        SWITCH_TENANT_QUANTUM: 256,
        SWITCH_CONSUMER: 'switch-1',
        PORT_SCAN_INTERVAL_MS: 100,
        TRACE_SAMPLING_RATE: 0,
        TRACE_SNAP_BYTES: 0,
        COUNTERS_INTERVAL_MS: 60_000,
        SWITCH_STAGES: 4,
        REGISTER_CELLS_PER_STAGE: 1024,
        PROGRAM_CPU_NS_PER_SECOND: 500_000_000,
        PROGRAM_CPU_BURST_NS: 20_000_000,
        PROGRAM_CPU_WAIT_FRAMES: 1024,
      } as SwitchConfig;
      // Kafka is best effort on the data path: a broker that is not there holds nothing up.
      const kafka = new Kafka({ clientId: 'commit-test', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
      dataplane = new DataplaneService(config, switchConnection, kafka, logger);
      dataplane.onApplicationBootstrap();
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await dataplane?.onApplicationShutdown();
    switchConnection?.disconnect();
    admin?.disconnect();
    await redis?.stop();
  });

  it(
    'rx = frames sent = delivered + dropped, with batches refused whole and read again',
    { timeout: 120_000 },
    async () => {
      await waitFor('the switch to attach both ports', 10_000, () =>
        dataplane.ports().length === 2 ? true : undefined,
      );
      /** Frame `seq` from a1: even ones to a2 (delivered), odd ones to a1 itself (dropped: `same-port`). */
      const frame = (seq: number): Buffer => {
        const payload = Buffer.alloc(8);
        payload.writeUInt32BE(seq, 4);
        const dstMac = vmMacAddress(seq % 2 === 0 ? a2 : a1);
        return buildFrame({ dstMac, srcMac: vmMacAddress(a1), etherType: 0x88b5, payload });
      };
      let sent = 0;
      const send = async (frames: number): Promise<void> => {
        for (let done = 0; done < frames; done += 16) {
          const pipeline = admin.pipeline();
          for (let i = 0; i < 16; i++) pipeline.xadd(PORT_KEYS.tx(a1), '*', PORT_ENTRY_FIELDS.frame, frame(sent + i));
          const replies = (await pipeline.exec()) ?? [];
          assert.ok(
            replies.every(([error]) => !error),
            'the VM side writes',
          );
          sent += 16;
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      const counters = (): { a1?: TrafficCounters; a2?: TrafficCounters } =>
        (dataplane.show().counters as { ports: Record<string, TrafficCounters> }).ports;
      // a1's frame to itself is `same-port` only once a1 is learned: the first frame (to a2) teaches it.
      await send(1024);
      await waitFor('the first frames through', 20_000, () => ((counters().a1?.rxFrames ?? 0) > 0 ? true : undefined));

      await admin.call('ACL', 'SETUSER', switchUser, '-xadd');
      const failed = (): number => logger.warnings.filter((warning) => warning.includes('EXECABORT')).length;
      await send(2048);
      await waitFor('a commit to fail', 30_000, () => (failed() >= 1 ? true : undefined));
      // Each batch after that reads the failed ones' entries again, decides them and fails in turn: let a few do so.
      const batches = (): number => dataplane.show().batches as number;
      const after = batches();
      await waitFor('batches to be retried', 30_000, () => (batches() >= after + 3 ? true : undefined));
      await admin.call('ACL', 'SETUSER', switchUser, '+xadd');
      await send(1024);

      const settled = await waitFor('every frame sent to be counted', 30_000, () => {
        const { a1: from, a2: to } = counters();
        if (!from || !to) return undefined;
        const drops = Object.values(from.drops).reduce((sum, n) => sum + (n ?? 0), 0);
        return from.rxFrames >= sent && to.txFrames + drops >= sent ? { from, to, drops } : undefined;
      }).catch((error: Error) => {
        throw new Error(`${error.message}: sent ${sent}, ${JSON.stringify(counters())}`);
      });
      assert.equal(settled.from.rxFrames, sent, 'every frame sent is received once');
      assert.equal(settled.to.txFrames + settled.drops, sent, 'delivered + dropped = sent');
      assert.deepEqual(settled.from.drops, { 'same-port': sent / 2 });
      assert.equal(await admin.xlen(PORT_KEYS.rx(a2)), sent / 2, "a2's rx holds each frame for it once");
      assert.ok(failed() >= 1, 'commits failed meanwhile');
    },
  );
});
