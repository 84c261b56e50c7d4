import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  freeLoopbackPort,
  serviceCredentialEnv,
  TEST_SERVICE_TOKENS,
  testAdminHeaders,
  type TestRedis,
} from '@tenantlab/lab';
import { PORT_CAPACITY_FRAMES, PORT_ENTRY_FIELDS, PORT_KEYS, portEntryContent, requestJson } from '@tenantlab/shared';
import type { Redis } from 'ioredis';

const REPO_ROOT = join(__dirname, '..', '..');

export interface RunningSwitch {
  pid: number;
  url: string;
}

/**
 * Runs `work` against a switch process on the benchmark's Redis, once it has attached `ports` ports, and stops it
 * afterwards. Kafka is not part of any measurement: the switch gets a broker address where nothing listens, and
 * forwards without it (traces off).
 */
export async function withSwitch<T>(
  redis: TestRedis,
  /** `env`: more of the switch's environment (e.g. PROGRAM_CPU_NS_PER_SECOND), over the defaults below. */
  options: { ports: number; batch: number; env?: Readonly<Record<string, string>> },
  work: (sw: RunningSwitch) => Promise<T>,
): Promise<T> {
  const port = await freeLoopbackPort();
  // BENCH_SWITCH_NODE_ARGS passes flags to the switch's node, to profile it: `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env['BENCH_SWITCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const main = join(REPO_ROOT, 'services', 'switch', 'dist', 'main.js');
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, main], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: String(port),
      REDIS_URL: redis.url,
      KAFKA_BROKERS: `127.0.0.1:${await freeLoopbackPort()}`,
      SWITCH_BATCH: String(options.batch),
      TRACE_SAMPLING_RATE: '0',
      PORT_SCAN_INTERVAL_MS: '100',
      LOG_LEVEL: 'error',
      OTEL_SDK_DISABLED: 'true',
      ...serviceCredentialEnv('switch', TEST_SERVICE_TOKENS),
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The last of what it wrote to stderr, to say why when it dies before it is ready (a bad node flag, say).
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  let exitCode: number | null | undefined;
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve((exitCode = code))));
  const sw = { pid: child.pid ?? 0, url: `http://127.0.0.1:${port}` };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const reply = await requestJson<{ ports?: unknown[] }>(
        'GET',
        `${sw.url}/dataplane`,
        undefined,
        1000,
        testAdminHeaders(),
      ).catch(() => undefined);
      if ((reply?.body.ports?.length ?? 0) >= options.ports) break;
      if (exitCode !== undefined) {
        const flags = nodeArgs.length > 0 ? ` (node flags from BENCH_SWITCH_NODE_ARGS: ${nodeArgs.join(' ')})` : '';
        throw new Error(`the switch exited with code ${exitCode} before it was ready${flags}:\n${stderr.trim()}`);
      }
      if (Date.now() > deadline) throw new Error(`the switch did not attach ${options.ports} ports within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      return await work(sw);
    } catch (error) {
      // A run that lost frames says where: the switch's drops by reason, per port.
      throw new Error(`${error instanceof Error ? error.message : String(error)}; ${await switchDrops(sw.url)}`, {
        cause: error,
      });
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * Frames the sender of portTransferRate may have sent and not yet seen arrive: half of tx's bound, so neither tx nor
 * rx ever holds more than PORT_CAPACITY_FRAMES, whichever stage is the slowest.
 */
const MAX_IN_FLIGHT = PORT_CAPACITY_FRAMES / 2;

/**
 * Frames per second from `from`'s tx to `to`'s rx through a running switch: the sender writes `batch` frames per
 * pipelined round trip and waits for it before the next (`frame(seq)` builds each), and never has more than
 * MAX_IN_FLIGHT frames sent and not yet arrived (a vNIC waits with tx full; the switch would delete what is written
 * past tx's bound, unread: frames lost to the sender's speed, not to the path's), a reader on `to`'s rx takes up to
 * `readBatch` entries per read (1000 when left out), trimming what it read in the same round trip as its next read (as
 * a circuit's reader does), and the clock stops when all `total` arrived. Counting starts at a marker, not at `$`, so
 * frames delivered before the first read count.
 */
export async function portTransferRate(
  admin: Redis,
  transfer: {
    from: string;
    to: string;
    total: number;
    batch: number;
    readBatch?: number;
    frame: (seq: number) => Buffer;
  },
): Promise<number> {
  const { from, to, total, batch, readBatch = 1000 } = transfer;
  const reader = admin.duplicate();
  try {
    let received = 0;
    let wake: (() => void) | undefined;
    const progressed = (): Promise<void> => new Promise((resolve) => (wake = resolve));
    const marker = (await admin.xadd(PORT_KEYS.rx(to), '*', 'marker', '1')) ?? '0-0';
    const receiving = (async () => {
      let lastId = marker;
      while (received < total) {
        const pipeline = reader.pipeline();
        if (lastId !== marker) pipeline.xtrim(PORT_KEYS.rx(to), 'MINID', lastId);
        pipeline.xreadBuffer('COUNT', readBatch, 'BLOCK', 5000, 'STREAMS', PORT_KEYS.rx(to), lastId);
        const results = (await pipeline.exec()) ?? [];
        for (const [error] of results) if (error) throw error;
        const reply = results[results.length - 1]?.[1] as [Buffer, [Buffer, Buffer[]][]][] | null;
        if (!reply) throw new Error(`${to} received ${received} of ${total} frames, then nothing for 5 s`);
        const entries = reply[0][1];
        // The switch packs a destination's frames of a batch into one entry (issue 11): count frames, not entries.
        for (const [, fields] of entries) received += portEntryContent(fields).frames.length;
        wake?.();
        lastId = entries[entries.length - 1][0].toString();
      }
      return lastId;
    })();
    // Awaited below (and raced while the sender waits): a failure before then is not an unhandled rejection.
    receiving.catch(() => undefined);
    const started = performance.now();
    for (let seq = 0; seq < total; seq += batch) {
      // As a vNIC waits with tx full: the switch deletes what a VM writes beyond tx's bound, unread.
      while (seq - received > MAX_IN_FLIGHT) await Promise.race([progressed(), receiving]);
      const pipeline = admin.pipeline();
      for (let i = seq; i < Math.min(total, seq + batch); i++) {
        pipeline.xadd(PORT_KEYS.tx(from), '*', PORT_ENTRY_FIELDS.frame, transfer.frame(i));
      }
      await pipeline.exec();
    }
    const lastId = await receiving;
    const rate = total / ((performance.now() - started) / 1000);
    await reader.xtrim(PORT_KEYS.rx(to), 'MINID', lastId);
    return rate;
  } finally {
    reader.disconnect();
  }
}

type PortCounters = { rxFrames: number; txFrames: number; drops: Record<string, number> };

/** The switch's per-port frame counters (GET /dataplane), by VM. */
async function portCounters(url: string): Promise<Record<string, PortCounters>> {
  const reply = await requestJson<{ counters?: { ports?: Record<string, PortCounters> } }>(
    'GET',
    `${url}/dataplane`,
    undefined,
    5000,
    testAdminHeaders(),
  );
  return reply.body.counters?.ports ?? {};
}

/** Frames from `vm`'s port the switch has dropped so far, whatever the reason (rx-full at its destination, say). */
export async function framesDroppedFrom(url: string, vm: string): Promise<number> {
  return Object.values((await portCounters(url))[vm]?.drops ?? {}).reduce((sum, n) => sum + n, 0);
}

/** The switch's per-port frame counters and drops by reason, in a line, to say where a run's frames went. */
async function switchDrops(url: string): Promise<string> {
  try {
    const ports = Object.entries(await portCounters(url)).map(
      ([vm, c]) => `${vm}: ${c.rxFrames} frames in, ${c.txFrames} out, drops of its frames ${JSON.stringify(c.drops)}`,
    );
    return `the switch's ports: ${ports.join('; ')}`;
  } catch (error) {
    return `the switch's counters could not be read (${String(error)})`;
  }
}
