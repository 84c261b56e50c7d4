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

/** What a transfer moved: frames handed over per second, and frames the switch dropped on the way. */
export interface TransferRate {
  /** Frames handed over by the receiver, per second from the first send to the last handover. */
  rate: number;
  dropped: number;
}

/**
 * `total` frames from `from`'s vNIC to `to`'s; done when every frame was handed over by `to`'s receiver or counted as
 * dropped by the switch (`dropped`: frames from `from` it has dropped since the transfer began). The packet path has
 * no end-to-end flow control: a receiver that falls behind (here it shares the benchmark's process with the sender)
 * finds its rx full and the switch drops what does not fit, as a network would.
 */
export async function vnicTransferRate(
  admin: Redis,
  transfer: VnicTransfer,
  dropped: () => Promise<number>,
): Promise<TransferRate> {
  const { from, to, total } = transfer;
  let received = 0;
  let lastAt = 0;
  let arrived: (() => void) | undefined;
  const all = new Promise<void>((resolve) => (arrived = resolve));
  const marker = (await admin.xadd(PORT_KEYS.rx(to), '*', 'marker', '1')) ?? '0-0';
  const receiver = new PortReceiver(
    admin.duplicate(),
    to,
    (frames) => {
      received += frames.length;
      lastAt = performance.now();
      if (received >= total) arrived?.();
    },
    marker,
  );
  const sender = admin.duplicate();
  const running = receiver.run();
  try {
    const droppedBefore = await dropped();
    const started = performance.now();
    const frames = new Array<Buffer>(total).fill(transfer.frame);
    await new PortSender(sender, from).send(frames, {
      batch: transfer.batch,
      maxFramesPerEntry: transfer.maxFramesPerEntry,
    });
    const deadline = started + 60_000;
    let lost = 0;
    // The switch's counters are asked for only once frames are slow to come: a GET /dataplane costs the switch work.
    while (received < total) {
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 100))]);
      if (received >= total) break;
      lost = (await dropped()) - droppedBefore;
      if (received + lost >= total) break;
      if (performance.now() > deadline) {
        throw new Error(`${to} received ${received} of ${total} frames within 60 s (${lost} dropped)`);
      }
    }
    return { rate: received / ((lastAt - started) / 1000), dropped: lost };
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
