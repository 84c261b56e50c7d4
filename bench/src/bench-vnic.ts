import { performance } from 'node:perf_hooks';
import { testAdminHeaders } from '@tenantlab/lab';
import { PORT_KEYS, requestJson, type StageSnapshot } from '@tenantlab/shared';
import { newVnicStages, PortReceiver, PortSender } from '@tenantlab/tenant-vm';
import type { Redis } from 'ioredis';

/**
 * VM -> switch -> VM through the vNIC's own sender and receiver (issue 11), on the benchmark's Redis: one sender
 * writing to `from`'s tx, one receiver reading `to`'s rx from a marker on, both as the tenant VM runs them.
 */
export interface VnicTransfer {
  from: string;
  to: string;
  total: number;
  /** Frames per sender round trip. */
  batch: number;
  /** 1: one frame per tx entry (as before aggregation); up to MAX_FRAMES_PER_ENTRY: packed. */
  maxFramesPerEntry: number;
  frame: Buffer;
}

/** The stages whose means add up to a frame's end-to-end time (see vnic-stages.ts and the switch's switch-stages.ts). */
export const SUMMED_STAGES = ['vm.encode', 'tx.wait', 'switch.read', 'switch.process', 'rx.wait', 'vm.read'] as const;

/** Frames per second from `from`'s send until the last frame is handed over by `to`'s receiver. */
export async function vnicTransferRate(admin: Redis, transfer: VnicTransfer): Promise<number> {
  const { from, to, total } = transfer;
  let received = 0;
  let arrived: (() => void) | undefined;
  const all = new Promise<void>((resolve) => (arrived = resolve));
  const marker = (await admin.xadd(PORT_KEYS.rx(to), '*', 'marker', '1')) ?? '0-0';
  const receiver = new PortReceiver(
    admin.duplicate(),
    to,
    (frames) => {
      received += frames.length;
      if (received >= total) arrived?.();
    },
    marker,
  );
  const sender = admin.duplicate();
  const running = receiver.run();
  try {
    const started = performance.now();
    const frames = new Array<Buffer>(total).fill(transfer.frame);
    await new PortSender(sender, from).send(frames, {
      batch: transfer.batch,
      maxFramesPerEntry: transfer.maxFramesPerEntry,
    });
    await withDeadline(all, 60_000, () => `${to} received ${received} of ${total} frames within 60 s`);
    return total / ((performance.now() - started) / 1000);
  } finally {
    receiver.close();
    sender.disconnect();
    await running.catch(() => undefined);
  }
}

export interface StageLatency {
  e2eMeanUs: number;
  e2eP50Us: number;
  /** Mean µs per stage over the probes, the switch's from GET /dataplane before and after. */
  stageMeansUs: Record<string, number>;
  stageSumUs: number;
}

/**
 * One frame in flight at a time, `probes` times after `warmup`: µs from the vNIC's send to its receiver handing the
 * frame over, and the per-stage means over the same probes (the vNIC's stages from its own histograms, the switch's
 * from the difference of two GET /dataplane snapshots).
 */
export async function vnicStageLatency(
  admin: Redis,
  switchUrl: string,
  transfer: { from: string; to: string; frame: Buffer; warmup: number; probes: number },
): Promise<StageLatency> {
  let arrived: (() => void) | undefined;
  // When the receiver handed the probe over, read in its callback: later awaits in this process are not the path's.
  let handedOverAt = 0;
  const vmStages = newVnicStages();
  const marker = (await admin.xadd(PORT_KEYS.rx(transfer.to), '*', 'marker', '1')) ?? '0-0';
  const receiver = new PortReceiver(
    admin.duplicate(),
    transfer.to,
    () => {
      handedOverAt = performance.now();
      arrived?.();
    },
    marker,
    undefined,
    undefined,
    vmStages,
  );
  const senderConnection = admin.duplicate();
  const sender = new PortSender(senderConnection, transfer.from, undefined, vmStages);
  const running = receiver.run();
  const samples: number[] = [];
  try {
    // Each side's histograms over the probes: a snapshot after the warm-up, subtracted from one at the end.
    let before: Record<string, StageSnapshot> = {};
    for (let i = 0; i < transfer.warmup + transfer.probes; i++) {
      if (i === transfer.warmup) before = { ...(await switchStages(switchUrl)), ...vmStages.snapshot() };
      const landed = new Promise<void>((resolve) => (arrived = resolve));
      const started = performance.now();
      await sender.send([transfer.frame], { batch: 1 });
      await withDeadline(landed, 5000, () => 'a latency probe frame did not arrive within 5 s');
      if (i >= transfer.warmup) samples.push((handedOverAt - started) * 1000);
    }
    const after: Record<string, StageSnapshot> = { ...(await switchStages(switchUrl)), ...vmStages.snapshot() };
    const meanOf = (stage: string): number => {
      const [a, b] = [after[stage], before[stage] ?? { count: 0, sumUs: 0 }];
      if (!a || a.count === b.count) return 0;
      return (a.sumUs - b.sumUs) / (a.count - b.count);
    };
    const stageMeansUs = Object.fromEntries(
      [...SUMMED_STAGES, 'vm.write', 'switch.egress', 'switch.parse', 'switch.cache', 'switch.program'].map((stage) => [
        stage,
        Math.round(meanOf(stage) * 10) / 10,
      ]),
    );
    const stageSumUs = SUMMED_STAGES.reduce((sum, stage) => sum + meanOf(stage), 0);
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      e2eMeanUs: samples.reduce((sum, v) => sum + v, 0) / samples.length,
      e2eP50Us: sorted[Math.floor(sorted.length / 2)],
      stageMeansUs,
      stageSumUs,
    };
  } finally {
    receiver.close();
    senderConnection.disconnect();
    await running.catch(() => undefined);
  }
}

async function switchStages(url: string): Promise<Record<string, StageSnapshot>> {
  const reply = await requestJson<{ stages?: Record<string, StageSnapshot> }>(
    'GET',
    `${url}/dataplane`,
    undefined,
    5000,
    testAdminHeaders(),
  );
  return reply.body.stages ?? {};
}

async function withDeadline(promise: Promise<void>, ms: number, why: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why())), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
