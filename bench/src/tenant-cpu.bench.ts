import { type ChildProcess, spawn } from 'node:child_process';
import { atVmPriority, inTenantCpuGroup, prepareTenantCpuGroups, VM_NICE } from '@tenantlab/lab';
import { alternatingRounds, median } from './bench-rounds';
import { publishReport } from './bench-report';
import { processCpuSeconds } from './process-cpu';

const CROWD_VMS = 8;
const WARMUP_MS = 1000;
const MEASURE_MS = 3000;
const ROUNDS = 4;
const MODES = ['perProcess', 'perTenant'] as const;
type Mode = (typeof MODES)[number];

/**
 * A VM that wants every cycle it can get: a busy loop that ends by itself after `ms`, so a run that fails leaves no
 * process behind.
 */
const BUSY_VM = (ms: number): string[] => ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`];

/**
 * Issue 10's CPU side: tenant "crowd" runs CROWD_VMS busy VM processes, tenant "single" one, all at the lab's VM
 * priority, as a local lab starts them: weighed one process each (nice only, as before tenant CPU groups) or in one
 * CPU group per tenant (tenant-cpu-groups.ts). The figure is the single VM's share of the CPU the two tenants got:
 * 1 / (CROWD_VMS + 1) when a tenant's weight is its VM count, 1/2 when each tenant weighs the same.
 */
export async function runTenantCpuBenchmark(): Promise<void> {
  const runs: Record<Mode, { crowd: number; single: number }[]> = { perProcess: [], perTenant: [] };
  console.log(`==> ${CROWD_VMS} busy VMs of one tenant against 1 of another, ${ROUNDS} alternating rounds`);
  const shares = await alternatingRounds(ROUNDS, MODES, async (mode, round) => {
    const cores = await contend(mode);
    runs[mode].push(cores);
    const share = cores.single / (cores.crowd + cores.single);
    console.log(
      `    round ${round + 1} ${mode.padEnd(10)} crowd ${cores.crowd.toFixed(2)} cores, single ` +
        `${cores.single.toFixed(2)} cores: single's share ${share.toFixed(3)}`,
    );
    return share;
  });
  const perTenant = median(shares.perTenant);
  const perProcess = median(shares.perProcess);
  const describeRuns = (mode: Mode): string =>
    runs[mode].map((r) => `crowd ${r.crowd.toFixed(2)} / single ${r.single.toFixed(2)}`).join('; ');
  await publishReport({
    name: 'tenant-cpu',
    setup: {
      workload:
        `tenant "crowd": ${CROWD_VMS} VM processes, tenant "single": 1, each a busy loop (node) at nice ${VM_NICE} ` +
        `as the local lab runs VMs; ${WARMUP_MS} ms warm-up, then the CPU each used over ${MEASURE_MS} ms ` +
        '(utime + stime from /proc/<pid>/stat); the machine shared with whatever else runs',
      modes:
        'perProcess: one weight per process (nice only, how VMs ran before tenant CPU groups); perTenant: the ' +
        "lab's CPU groups (cgroup v1 cpu controller: a group per tenant, equal cpu.shares, inside one group of the " +
        'lab), each process in its group before it starts',
      rounds:
        `${ROUNDS} rounds, order perProcess,perTenant then reversed; the figure is the median of single's share of ` +
        `the two tenants' CPU. Cores (crowd / single): perProcess ${describeRuns('perProcess')}; perTenant ` +
        `${describeRuns('perTenant')}`,
      ideal: `1/2 when a tenant weighs the same whatever its VMs; 1/${CROWD_VMS + 1} when it weighs its VM count`,
    },
    goals: { single_tenant_cpu_share_per_tenant: { atLeast: 0.4 } },
    metrics: { single_tenant_cpu_share_per_tenant: round3(perTenant) },
    baseline: { single_tenant_cpu_share_per_process: round3(perProcess) },
    ratios: { per_tenant_vs_per_process: round3(perTenant / perProcess) },
  });
}

/** Starts the two tenants' VMs weighed as `mode` says, and returns the cores each tenant used once warmed up. */
async function contend(mode: Mode): Promise<{ crowd: number; single: number }> {
  const tenants = new Map([
    ['crowd', CROWD_VMS],
    ['single', 1],
  ]);
  const groups = mode === 'perTenant' ? prepareTenantCpuGroups(`bench-tenant-cpu-${process.pid}`, tenants) : undefined;
  if (groups && 'unavailable' in groups) throw new Error(`tenant CPU groups are not available: ${groups.unavailable}`);
  const start = (tenant: string): ChildProcess => {
    let { command, args } = atVmPriority(process.execPath, BUSY_VM(WARMUP_MS + MEASURE_MS + 1000));
    const procs = groups?.procsFile(tenant);
    if (procs !== undefined) ({ command, args } = inTenantCpuGroup(procs, command, args));
    return spawn(command, args, { stdio: 'ignore' });
  };
  const vms = [...tenants].flatMap(([tenant, count]) =>
    Array.from({ length: count }, () => ({ tenant, vm: start(tenant) })),
  );
  try {
    await sleep(WARMUP_MS);
    const before = vms.map(({ vm }) => processCpuSeconds(vm.pid!));
    await sleep(MEASURE_MS);
    const used = vms.map(({ vm }, i) => processCpuSeconds(vm.pid!) - before[i]);
    const coresOf = (tenant: string): number =>
      used.filter((_, i) => vms[i].tenant === tenant).reduce((sum, seconds) => sum + seconds, 0) / (MEASURE_MS / 1000);
    return { crowd: coresOf('crowd'), single: coresOf('single') };
  } finally {
    for (const { vm } of vms) vm.kill('SIGKILL');
    await Promise.all(
      vms.map(({ vm }) =>
        vm.exitCode !== null || vm.signalCode !== null
          ? Promise.resolve()
          : new Promise<void>((resolve) => vm.once('exit', () => resolve())),
      ),
    );
    groups?.remove();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
