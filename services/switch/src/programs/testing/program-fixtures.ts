import { buildFrame, FrameView, parseFrame, validateProgram, ValidationError } from '@tenantlab/shared';
import { type CompiledProgram, compileProgram, ProgramCodeCache } from '../program-compiler';
import { PacketContext } from '../packet-context';
import { RegisterMemory } from '../register-memory';
import type { ProgramHooks, ReportValue } from '../packet-context';
import type { TenantProgram, ValidProgram } from '@tenantlab/shared';

/** Programs, frames and hooks for the program specs. */

/** A test program through the real validator (generous quota; forwarding to vm-1 .. vm-9 allowed). */
export function valid(parts: Partial<TenantProgram>, tenant = 'tenant-a'): ValidProgram {
  const big = 1_000_000_000;
  try {
    return validateProgram(
      { name: 'test_program', version: 1, actions: [], tables: [], control: [], ...parts },
      {
        tenant,
        vms: Array.from({ length: 9 }, (_, i) => `vm-${i + 1}`),
        quota: {
          tables: 32,
          tableEntries: big,
          registerBits: big,
          counters: big,
          actionOpsPerPacket: big,
          headerBytes: 64,
        },
      },
    );
  } catch (error) {
    // A test program the validator refuses is a broken test: say why in the failure.
    if (error instanceof ValidationError) throw new Error(`${error.message}\n${error.details.join('\n')}`);
    throw error;
  }
}

export interface FrameOptions {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  ttl?: number;
  tcp?: boolean;
  payload?: Buffer;
}

export function frame(options: FrameOptions = {}): Buffer {
  const ports = { srcPort: options.sport ?? 1000, dstPort: options.dport ?? 80 };
  return buildFrame({
    dstMac: '02:00:00:00:00:02',
    srcMac: '02:00:00:00:00:01',
    ipv4: { src: options.src ?? '10.0.0.1', dst: options.dst ?? '10.0.0.2', ttl: options.ttl ?? 64 },
    ...(options.tcp === true ? { tcp: ports } : { udp: ports }),
    payload: options.payload ?? Buffer.alloc(8),
  });
}

export function context(bytes: Buffer, inPort = 1): PacketContext {
  const view = new FrameView();
  const rejected = parseFrame(bytes, view);
  if (rejected !== undefined) throw new Error(`test frame rejected: ${rejected}`);
  return new PacketContext(view).load(bytes, inPort);
}

export interface RecordingHooks extends ProgramHooks {
  readonly mirrored: number[];
  readonly reports: { event: string; fields: Readonly<Record<string, ReportValue>> }[];
}

export function recordingHooks(): RecordingHooks {
  const mirrored: number[] = [];
  const reports: { event: string; fields: Readonly<Record<string, ReportValue>> }[] = [];
  return {
    mirrored,
    reports,
    mirror: (ctx) => void mirrored.push(ctx.view.length),
    report: (event, fields) => void reports.push({ event, fields }),
  };
}

/** Counts every frame its tenant sends, and drops them all: what ran is visible in the counter and the verdict. */
const COUNT_AND_DROP = {
  name: 'count_and_drop',
  version: 1,
  counters: [{ name: 'frames', size: 1, kind: 'packets' }],
  actions: [
    {
      name: 'count_drop',
      ops: [{ op: 'counter.count', counter: 'frames', index: { const: 0 } }, { op: 'drop' }],
    },
  ],
  tables: [{ name: 'all', key: [], actions: ['count_drop'], defaultAction: { action: 'count_drop' }, size: 0 }],
  control: [{ table: 'all' }],
};

/** COUNT_AND_DROP compiled for `tenant`, whose VMs are `vms` (its `frames` counter: what the program ran). */
export function countAndDrop(tenant: string, vms: string[], codes = new ProgramCodeCache()): CompiledProgram {
  const quota = { tables: 8, tableEntries: 64, registerBits: 1 << 16, counters: 64, actionOpsPerPacket: 16 };
  const program = validateProgram(COUNT_AND_DROP, { tenant, vms, quota: { ...quota, headerBytes: 0 } });
  const hooks = { mirror: () => undefined, report: () => undefined };
  return compileProgram(program, {}, new RegisterMemory(1, 1), hooks, codes);
}
