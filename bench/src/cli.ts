import { runAllocationBenchmark } from './allocation.bench';
import { runCircuitsBenchmark } from './circuits.bench';
import { runHeavyHitterLiveBenchmark } from './heavy-hitter-live.bench';
import { runIsolationBenchmark } from './isolation.bench';
import { runOperatorTurnsBenchmark } from './operator-turns.bench';
import { runProgramsBenchmark } from './programs.bench';
import { runSwitchBenchmark } from './switch.bench';
import { runTenantCpuBenchmark } from './tenant-cpu.bench';

/** Every benchmark, by the name `npm run bench -- <name>` takes. */
const BENCHMARKS: Record<string, { describe: string; run: () => Promise<void> }> = {
  circuits: {
    describe: 'circuit throughput (64 B, 1 KiB) and one-way latency vs pipelined XADD on the same Redis (seed 001)',
    run: runCircuitsBenchmark,
  },
  switch: {
    describe:
      'switch pipeline with flow cache on/off (plain, program routes hit and all-miss), VM-switch-VM batch 1 vs 32, ' +
      'and circuit vs packet path at equal batching (seeds 000, 003)',
    run: runSwitchBenchmark,
  },
  programs: {
    describe:
      'tenant programs: 10 tenants vs 1 (merging), in-switch firewall vs middlebox VM, CPU fairness (seeds 000, 002)',
    run: runProgramsBenchmark,
  },
  isolation: {
    describe:
      "a victim tenant's frames/s and p99 latency alone vs while another tenant's 16 VMs run a broadcast storm " +
      'straight to their tx streams (issue 10)',
    run: runIsolationBenchmark,
  },
  'operator-turns': {
    describe:
      "a victim tenant's circuit set-up and tear-down at the operator while another tenant's VM keeps 32 calls in " +
      'flight: tenants taking turns vs not (issue 10)',
    run: runOperatorTurnsBenchmark,
  },
  'tenant-cpu': {
    describe:
      "one tenant's single busy VM against another tenant's 8: its share of their CPU with the lab's CPU group per " +
      'tenant vs one weight per VM process (issue 10)',
    run: runTenantCpuBenchmark,
  },
  allocation: {
    describe:
      '64 tenants, flow-table hit ratio over 12 windows: static memory split vs utility-driven reallocation (seed 004)',
    run: runAllocationBenchmark,
  },
  'heavy-hitter-live': {
    describe:
      'seed 004 on the running switch and allocator: N tenants (HH_LIVE_TENANTS, 64), static split vs live ' +
      'utility-driven re-links over Kafka; satisfaction, decision-to-installed latency, frames lost',
    run: runHeavyHitterLiveBenchmark,
  },
};

function usage(): string {
  const lines = Object.entries(BENCHMARKS).map(([name, { describe }]) => `  ${name.padEnd(10)} ${describe}`);
  return `usage: npm run bench -- <name>\n\nbenchmarks:\n${lines.join('\n')}\n\nResults go to bench/results/<name>.json.`;
}

async function main(): Promise<number> {
  const name = process.argv[2];
  if (name === undefined || name === 'help' || name === '--help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const benchmark = BENCHMARKS[name];
  if (!benchmark) {
    console.error(`no benchmark named "${name}".\n\n${usage()}`);
    return 2;
  }
  await benchmark.run();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
