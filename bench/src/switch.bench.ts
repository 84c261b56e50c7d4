import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seedVmRegistry, startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  buildFrame,
  DEFAULT_TENANT_QUOTA,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  validateProgram,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import {
  type CompiledProgram,
  compileProgram,
  type IngressFrame,
  RegisterMemory,
  SwitchPipeline,
} from '@tenantlab/switch';
import { Redis } from 'ioredis';
import { datagramThroughput, openBenchCircuit } from './bench-circuit';
import { portTransferRate, withSwitch } from './bench-switch';
import { publishReport, quantile } from './bench-report';

const PIPELINE_SECONDS = 2;
const PIPELINE_ROUNDS = 8;
const E2E_FRAMES = 40_000;
const LATENCY_SAMPLES = 2_000;
const FRAME_PAYLOAD = 64;

/**
 * The packet path (seeds 000, 003): (a) the switch's in-process pipeline, flow cache on and off; (b) VM to switch to
 * VM through Redis with batches of 1 and 32 frames; (c) the same VM pair over a circuit, for the circuit/packet-path
 * ratio (seed 001).
 */
export async function runSwitchBenchmark(): Promise<void> {
  console.log('==> (a) in-process pipeline, one core');
  const { cacheOn, cacheOff } = pipelineRates();
  console.log(
    '==> (a) the same, tenant-a running flow-counters.json with 32 LPM routes (Oko: lookups cached per flow)',
  );
  const withProgram = pipelineRates(true);

  console.log('==> starting a private Redis');
  const redis = await startTestRedis();
  const admin = new Redis(redis.url);
  try {
    await seedVmRegistry(admin, { 'bench-a1': 'bench', 'bench-a2': 'bench' });
    console.log('==> (b) VM -> switch -> VM over Redis, batch 1 and 32');
    const batch1 = await withSwitch(redis, { ports: 2, batch: 1 }, () => endToEnd(admin, 1, E2E_FRAMES / 8));
    const batch32 = await withSwitch(redis, { ports: 2, batch: 32 }, () => endToEnd(admin, 32, E2E_FRAMES));
    const latency = await withSwitch(redis, { ports: 2, batch: 32 }, () => latencyOf(admin));
    console.log('==> (c) the same VM pair over a circuit');
    const circuit = await circuitRate(redis, admin);

    await publishReport({
      name: 'switch',
      goals: {
        // Issue 4 (seeds 000, 003): 1 M pps per core, 2x with the flow cache, batching 3x, circuits 2x the packet path.
        pipeline_pps_per_core_cache_on: { atLeast: 1_000_000 },
        cache_on_vs_off: { atLeast: 2 },
        batch32_vs_batch1: { atLeast: 3 },
        circuit_vs_packet_path: { atLeast: 2 },
      },
      setup: {
        pipeline: `${PIPELINE_SECONDS} s per mode in ${PIPELINE_ROUNDS} alternating rounds (median), 1024 flows between 8 VMs of 2 tenants, 64-1400 byte UDP frames`,
        e2e: `${E2E_FRAMES} frames of ${FRAME_PAYLOAD + 42} bytes vm-a1 -> vm-a2, sender pipelines one batch at a time`,
        circuit: `${E2E_FRAMES} datagrams of ${FRAME_PAYLOAD + 42} bytes over one circuit between the same VMs`,
      },
      metrics: {
        pipeline_pps_per_core_cache_on: Math.round(cacheOn),
        pipeline_pps_per_core_cache_off: Math.round(cacheOff),
        pipeline_with_program_pps_cache_on: Math.round(withProgram.cacheOn),
        pipeline_with_program_pps_cache_off: Math.round(withProgram.cacheOff),
        e2e_pps_batch1: Math.round(batch1),
        e2e_pps_batch32: Math.round(batch32),
        e2e_latency_p50_us: Math.round(latency.p50),
        e2e_latency_p99_us: Math.round(latency.p99),
        circuit_pps: Math.round(circuit),
      },
      baseline: {
        pipeline_pps_per_core_cache_off: Math.round(cacheOff),
        e2e_pps_batch1: Math.round(batch1),
      },
      ratios: {
        cache_on_vs_off: round(cacheOn / cacheOff),
        program_cache_on_vs_off: round(withProgram.cacheOn / withProgram.cacheOff),
        batch32_vs_batch1: round(batch32 / batch1),
        circuit_vs_packet_path: round(circuit / batch32),
      },
    });
  } finally {
    admin.disconnect();
    await redis.stop();
  }
}

/** A pipeline with 8 ports in 2 tenants, every MAC learned, and 1024 flows of 64-1400 byte UDP frames for it. */
function pipelineWithTraffic(
  flowCacheSize: number,
  withProgram = false,
): { pipeline: SwitchPipeline; frames: IngressFrame[] } {
  const pipeline = new SwitchPipeline({ flowCacheSize });
  const ports = Array.from({ length: 8 }, (_, i) => ({
    no: i + 1,
    vm: `vm-${i}`,
    tenant: i < 4 ? 'tenant-a' : 'tenant-b',
    vlan: i < 4 ? 1 : 2,
  }));
  for (const port of ports) pipeline.attach(port);
  let seed = 42;
  const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const frames = Array.from({ length: 1024 }, (_, flow) => {
    const from = ports[flow % 8];
    const to = ports[(flow % 4) + (from.vlan === 1 ? 0 : 4)];
    const toOther = to.no === from.no ? ports[((flow + 1) % 4) + (from.vlan === 1 ? 0 : 4)] : to;
    return {
      port: from,
      frame: buildFrame({
        srcMac: vmMacAddress(from.vm),
        dstMac: vmMacAddress(toOther.vm),
        ipv4: { src: vmIpv4Address(from.vm), dst: vmIpv4Address(toOther.vm) },
        udp: { srcPort: 10_000 + flow, dstPort: 7 },
        payload: Buffer.alloc(22 + Math.floor(random() * 1336)),
      }),
    };
  });
  if (withProgram) pipeline.installPrograms(new Map([['tenant-a', flowCountersWithRoutes(ports.slice(0, 4))]]));
  for (const frame of frames) pipeline.process(frame); // learn every MAC
  return { pipeline, frames };
}

/**
 * Frames per second through `SwitchPipeline.process` on one core, flow cache on and off. The two modes alternate in
 * short rounds after a warm-up of each, and each reports its median round: measured one after the other, whichever
 * ran second profited (or suffered) from the JIT's state, and the ratio swung between 0.6 and 2.2.
 */
function pipelineRates(withProgram = false): { cacheOn: number; cacheOff: number } {
  const modes = { cacheOn: pipelineWithTraffic(65_536, withProgram), cacheOff: pipelineWithTraffic(0, withProgram) };
  const rates: Record<keyof typeof modes, number[]> = { cacheOn: [], cacheOff: [] };
  const round = ({ pipeline, frames }: (typeof modes)['cacheOn'], ms: number): number => {
    let processed = 0;
    const started = performance.now();
    while (performance.now() - started < ms) {
      for (const frame of frames) pipeline.process(frame);
      processed += frames.length;
    }
    return processed / ((performance.now() - started) / 1000);
  };
  for (const mode of Object.values(modes)) round(mode, 300);
  for (let i = 0; i < PIPELINE_ROUNDS; i++) {
    for (const name of ['cacheOn', 'cacheOff'] as const) {
      rates[name].push(round(modes[name], (PIPELINE_SECONDS * 1000) / PIPELINE_ROUNDS));
    }
  }
  return { cacheOn: quantile(rates.cacheOn, 0.5), cacheOff: quantile(rates.cacheOff, 0.5) };
}

/**
 * Tenant A's flow counters (programs/flow-counters.json) with 32 LPM routes to its VMs' /16s: each frame takes the
 * table lookup (a scan over the routes) and the counting actions. The lookup is what the flow cache remembers.
 */
function flowCountersWithRoutes(vms: readonly { vm: string }[]): CompiledProgram {
  const document = JSON.parse(
    readFileSync(join(__dirname, '..', '..', 'programs', 'flow-counters.json'), 'utf8'),
  ) as unknown;
  const valid = validateProgram(document, {
    tenant: 'tenant-a',
    vms: vms.map((v) => v.vm),
    quota: DEFAULT_TENANT_QUOTA,
  });
  const program = compileProgram(valid, {}, new RegisterMemory(1, 1), {
    mirror: () => undefined,
    report: () => undefined,
  });
  for (let route = 0; route < 32; route++) {
    const prefix = (10 * 2 ** 24 + route * 2 ** 16) >>> 0;
    program.addEntry('watch', {
      key: [
        { value: prefix, prefixLength: 16 },
        { value: 17, mask: 255 },
      ],
      action: 'count_flow',
      args: { class: route % 16 },
    });
  }
  return program;
}

function benchFrame(seq: number): Buffer {
  const payload = Buffer.alloc(FRAME_PAYLOAD);
  payload.writeUInt32BE(seq, 0);
  payload.writeDoubleBE(performance.timeOrigin + performance.now(), 4);
  return buildFrame({
    srcMac: vmMacAddress('bench-a1'),
    dstMac: vmMacAddress('bench-a2'),
    ipv4: { src: vmIpv4Address('bench-a1'), dst: vmIpv4Address('bench-a2') },
    udp: { srcPort: 4000, dstPort: 4001 },
    payload,
  });
}

/** Frames per second from bench-a1's tx to bench-a2's rx; the sender writes `batch` frames per round trip. */
async function endToEnd(admin: Redis, batch: number, total: number): Promise<number> {
  await admin.del(PORT_KEYS.rx('bench-a2'));
  // bench-a2 announces itself once so the switch learns its MAC and unicasts instead of flooding.
  await admin.xadd(PORT_KEYS.tx('bench-a2'), '*', PORT_ENTRY_FIELDS.frame, benchFrameFrom('bench-a2', 'bench-a1'));
  return portTransferRate(admin, { from: 'bench-a1', to: 'bench-a2', total, batch, frame: benchFrame });
}

function benchFrameFrom(from: string, to: string): Buffer {
  return buildFrame({
    srcMac: vmMacAddress(from),
    dstMac: vmMacAddress(to),
    ipv4: { src: vmIpv4Address(from), dst: vmIpv4Address(to) },
    udp: { srcPort: 4001, dstPort: 4000 },
    payload: Buffer.alloc(FRAME_PAYLOAD),
  });
}

/** One frame in flight at a time: µs from XADD to the frame's arrival in the destination's rx. */
async function latencyOf(admin: Redis): Promise<{ p50: number; p99: number }> {
  const reader = admin.duplicate();
  const samples: number[] = [];
  try {
    let lastId = (await reader.xadd(PORT_KEYS.rx('bench-a2'), '*', 'marker', '1')) ?? '$';
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const started = performance.now();
      await admin.xadd(PORT_KEYS.tx('bench-a1'), '*', PORT_ENTRY_FIELDS.frame, benchFrame(i));
      const reply = await reader.xread('COUNT', 1, 'BLOCK', 5000, 'STREAMS', PORT_KEYS.rx('bench-a2'), lastId);
      if (!reply) throw new Error('a latency probe frame did not arrive within 5 s');
      lastId = reply[0][1][0][0];
      samples.push((performance.now() - started) * 1000);
    }
  } finally {
    reader.disconnect();
  }
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

/** Datagrams per second over one circuit between the same two VMs, the same size as the packet path's frames. */
async function circuitRate(redis: TestRedis, admin: Redis): Promise<number> {
  const circuit = await openBenchCircuit(redis, admin, 'bench-a1', 'bench-a2');
  try {
    return await datagramThroughput(circuit, benchFrame(0), E2E_FRAMES);
  } finally {
    await circuit.close();
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
